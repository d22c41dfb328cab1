"""The printable event security plan: one self-contained HTML page (no script, no external file) with
an SVG map of the rings, their posts and the roads of the served network around them, and the table of
rings, posts, officers and units. Chinese by default, English with ``lang="en"``."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

LABELS = {
    "zh-CN": {"title": "大型活动安保圈层方案", "venue": "活动场所", "crowd": "预计人数", "ring": "圈层",
              "core": "核心区", "control": "控制区", "diversion": "分流区", "minutes": "等时线（分钟）",
              "mode": "出行方式", "foot": "步行", "car": "驾车", "area": "面积（km²）", "posts": "岗位数",
              "officers": "警力（人）", "units": "巡组", "total": "合计", "motorbike": "摩巡", "video": "视频巡",
              "unit_foot": "步巡", "unit_car": "车巡", "note": "圈层由路网等时线生成；岗位位于道路穿越圈层外界处；"
              "警力比例为可调参数（见方法说明），不是法定标准。", "legend_post": "岗位",
              "holding": "容纳半径（米）"},
    "en": {"title": "Event security rings", "venue": "Venue", "crowd": "Expected crowd", "ring": "Ring",
           "core": "Core", "control": "Control", "diversion": "Diversion", "minutes": "Isochrone (min)",
           "mode": "Travel mode", "foot": "foot", "car": "car", "area": "Area (km²)", "posts": "Posts",
           "officers": "Officers", "units": "Units", "total": "Total", "motorbike": "motorbike", "video": "video",
           "unit_foot": "foot", "unit_car": "car", "note": "Rings are isochrones on the road network; posts sit "
           "where roads cross a ring's outer edge; staffing ratios are adjustable parameters (see the method "
           "page), not a legal norm.", "legend_post": "post", "holding": "Holding radius (m)"},
}
COLORS = {"core": "#c53030", "control": "#dd8a1e", "diversion": "#2b6cb0"}
W, H = 900, 700


def _rings_paths(geom: dict[str, Any], proj: Any) -> str:
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"] \
        if geom["type"] == "MultiPolygon" else []
    parts = []
    for poly in polys:
        for ring in poly:
            pts = [proj(x, y) for x, y in ring]
            parts.append("M" + "L".join(f"{px:.1f},{py:.1f}" for px, py in pts) + "Z")
    return " ".join(parts)


def render(plan: dict[str, Any], roads: RoadGraph | None = None, lang: str = "zh-CN") -> str:
    t = LABELS.get(lang, LABELS["zh-CN"])
    div = plan["rings"][-1]["outer"]
    coords = [c for poly in ([div["coordinates"]] if div["type"] == "Polygon" else div["coordinates"])
              for ring in poly for c in ring]
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    lat0 = (y0 + y1) / 2
    kx = math.cos(math.radians(lat0))
    span = max((x1 - x0) * kx / W, (y1 - y0) / H) * 1.06 or 1e-6
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def proj(x: float, y: float) -> tuple[float, float]:
        return W / 2 + (x - cx) * kx / span, H / 2 - (y - cy) / span

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
           f'role="img" aria-label="{escape(t["title"])}"><rect width="{W}" height="{H}" fill="#f4f1ea"/>']
    if roads is not None:
        svg.append(_roads_svg(roads, (x0, y0, x1, y1), proj))
    for r in reversed(plan["rings"]):
        svg.append(f'<path d="{_rings_paths(r["geometry"], proj)}" fill="{COLORS[r["ring"]]}" fill-opacity="0.18" '
                   f'stroke="{COLORS[r["ring"]]}" stroke-width="2" fill-rule="evenodd"/>')
    for r in plan["rings"]:
        for p in r["posts"]:
            px, py = proj(p["lon"], p["lat"])
            svg.append(f'<rect x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" fill="{COLORS[r["ring"]]}" '
                       f'stroke="#fff" stroke-width="1"/>')
    vx, vy = proj(plan["venue"]["lon"], plan["venue"]["lat"])
    svg.append(f'<circle cx="{vx:.1f}" cy="{vy:.1f}" r="7" fill="#111" stroke="#fff" stroke-width="2"/>')
    svg.append("</svg>")
    rows = []
    for r in plan["rings"]:
        units = "、".join(f"{t.get('unit_' + k, t.get(k, k))} {n}" for k, n in r["units"].items())
        rows.append(f'<tr><td><span class="sw" style="background:{COLORS[r["ring"]]}"></span> {escape(t[r["ring"]])}'
                    f'</td><td>{r["minutes"]:g}</td><td>{escape(t[r["travel_mode"]])}</td><td>{r["area_km2"]:g}</td>'
                    f'<td>{len(r["posts"])}</td><td>{r["officers"]}</td><td>{escape(units)}</td></tr>')
    total_units = "、".join(f"{t.get('unit_' + k, t.get(k, k))} {n}" for k, n in plan["units"].items())
    rows.append(f'<tr class="tot"><td>{t["total"]}</td><td></td><td></td><td></td>'
                f'<td>{sum(len(r["posts"]) for r in plan["rings"])}</td><td>{plan["officers"]}</td>'
                f'<td>{escape(total_units)}</td></tr>')
    venue = plan["venue"]
    name = escape(venue.get("name") or f'{venue["lon"]:.5f}, {venue["lat"]:.5f}')
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8"><title>{escape(t["title"])} · {name}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:18px;color:#222}}
h1{{font-size:1.4rem;margin:0 0 .4rem}} .meta{{margin:.2rem 0 .8rem;color:#444}}
table{{border-collapse:collapse;width:100%;margin-top:.8rem;font-size:.9rem}}
th,td{{border:1px solid #bbb;padding:4px 6px;text-align:left}} tr.tot td{{font-weight:bold}}
.sw{{display:inline-block;width:.9em;height:.9em;vertical-align:middle}}
.note{{font-size:.8rem;color:#555;margin-top:.6rem}} svg{{border:1px solid #999;max-height:70vh}}
@media print{{body{{margin:8mm}} svg{{max-height:none}} @page{{size:A4;margin:8mm}}}}
</style></head><body>
<h1>{escape(t["title"])}</h1>
<p class="meta">{escape(t["venue"])}: {name} · {escape(t["crowd"])}: {plan["crowd"]:,} ·
{escape(t["holding"])}: {plan["holding_radius_m"]:g}</p>
{"".join(svg)}
<table><thead><tr><th>{t["ring"]}</th><th>{t["minutes"]}</th><th>{t["mode"]}</th><th>{t["area"]}</th>
<th>{t["posts"]}</th><th>{t["officers"]}</th><th>{t["units"]}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<p class="note">{escape(t["note"])} ■ = {escape(t["legend_post"])}</p>
</body></html>
"""


def _roads_svg(g: RoadGraph, bbox: tuple[float, float, float, float], proj: Any) -> str:
    x0, y0, x1, y1 = bbox
    dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
    lon, lat = g.node_lon, g.node_lat
    inside = (lon >= x0 - dx) & (lon <= x1 + dx) & (lat >= y0 - dy) & (lat <= y1 + dy)
    pieces = np.flatnonzero(inside[g.piece_u] | inside[g.piece_v])
    parts = []
    for p in pieces[:60_000].tolist():
        s0, s1 = int(g.shape_ptr[p]), int(g.shape_ptr[p + 1])
        pts = [proj(float(x), float(y)) for x, y in zip(g.shape_lon[s0:s1], g.shape_lat[s0:s1], strict=True)]
        parts.append("M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in pts))
    return f'<path d="{" ".join(parts)}" fill="none" stroke="#9a9a9a" stroke-width="0.8"/>'
