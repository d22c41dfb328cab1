"""Public renderings of the published index: CSV, GeoJSON and CAP 1.2 XML for
warnings. Aggregates only, from ``PublicTownScore``/``PublicWarning`` (which
already withhold counts below 3). Standard library only.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, time
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from jingwu.safety_index.domain import SUB_INDICES
from jingwu.safety_index.views import PublicTownScore, PublicWarning

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CSV_COLUMNS = ["date", "town_code", "name", "name_en", "state", "score", "band", "rank",
               *[f"sub_{s.value}" for s in SUB_INDICES], "incidents_7d", "rate_per_10k", "warnings", "note"]


def _csv_cell(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def to_csv(rows: list[PublicTownScore]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        if r.score is None or r.sub_indices is None:  # no data: state says so, every value cell empty
            w.writerow([r.day.isoformat(), _csv_cell(r.town_code), _csv_cell(r.name), _csv_cell(r.name_en or ""),
                        r.state, "", "", "", *["" for _ in SUB_INDICES], "", "", ""])
            continue
        w.writerow([r.day.isoformat(), _csv_cell(r.town_code), _csv_cell(r.name), _csv_cell(r.name_en or ""),
                    r.state, f"{r.score:.2f}", r.band, r.rank,
                    *[f"{r.sub_indices[s.value]:.2f}" for s in SUB_INDICES],
                    "<3" if r.incidents_7d is None else r.incidents_7d,
                    "" if r.rate_per_10k is None else r.rate_per_10k, ";".join(r.warnings), r.note or ""])
    return buf.getvalue()


def public_properties(r: PublicTownScore) -> dict[str, Any]:
    return {"date": r.day.isoformat(), "town_code": r.town_code, "name": r.name, "name_en": r.name_en,
            "state": r.state, "score": r.score, "band": r.band, "rank": r.rank, "sub_indices": r.sub_indices,
            "incidents_7d": r.incidents_7d,
            "incidents_7d_suppressed": r.incidents_7d is None and r.score is not None,
            "rate_per_10k": r.rate_per_10k, "warnings": r.warnings, "note": r.note}


def to_geojson(day: date, rows: list[PublicTownScore]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "date": day.isoformat(),
            "ranked_towns": sum(1 for r in rows if r.score is not None), "towns": len(rows),
            "features": [{"type": "Feature", "id": r.town_code, "geometry": r.geometry,
                          "properties": public_properties(r)} for r in rows]}


_EVENT = {
    "red": ("平安指数红色预警", "Safety Index red warning", "Moderate", "Observed"),
    "surge_7d": ("平安指数趋势预警（7日激增）", "Safety Index trend warning (7-day surge)", "Minor", "Likely"),
    "mom_28d": ("平安指数趋势预警（环比上升）", "Safety Index trend warning (month-on-month rise)", "Minor", "Likely"),
}
_DESC = {
    "red": ("该镇街当日平安指数低于60分（红色）。", "The town's Safety Index is below 60 (red band) on this day."),
    "surge_7d": ("近7日警情数显著高于前84日基线（精确条件检验，p<0.001）。",
                 "Incidents in the last 7 days are significantly above the 84-day baseline "
                 "(exact conditional test, p<0.001)."),
    "mom_28d": ("近28日警情数显著高于前28日（精确条件检验，p<0.001）。",
                "Incidents in the last 28 days are significantly above the 28 days before "
                "(exact conditional test, p<0.001)."),
}


def _cap_time(dt: datetime, tz: ZoneInfo) -> str:
    """CAP 1.2 dateTime: local time of the deployment's zone with its offset, no fraction, e.g.
    2026-04-30T00:00:00+08:00 (the schema's pattern also forbids "Z")."""
    if dt.tzinfo is None:
        raise ValueError("CAP times must be timezone-aware")
    return dt.astimezone(tz).replace(microsecond=0).isoformat()


def _polygons(geom: dict[str, Any] | None) -> list[str]:
    if not geom:
        return []
    polys = [geom["coordinates"]] if geom.get("type") == "Polygon" else (
        geom["coordinates"] if geom.get("type") == "MultiPolygon" else [])
    out = []
    for poly in polys:
        ring = poly[0]
        out.append(" ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in ring))
    return out


def cap_note(day: date, n_warnings: int, scored: int, towns: int) -> str | None:
    """The alert's <note>: why there is no warning, and how many towns have no data (they raise none)."""
    d = day.isoformat()
    if towns and not scored:
        return (f"No Safety Index data for {d}: no town is scored, so no warning can be issued "
                f"(无数据：{d} 没有镇街有评分，不发布预警).")
    parts = [] if n_warnings else [f"No Safety Index warnings for {d}."]
    if scored < towns:
        parts.append(f"{towns - scored} of {towns} towns have no data on {d} and raise no warning "
                     f"({towns - scored}/{towns} 个镇街无数据，不发布预警).")
    return " ".join(parts) or None


def to_cap(day: date, warnings: list[PublicWarning], *, sender: str, sent: datetime, base_url: str,
           tz: ZoneInfo, scored: int | None = None, towns: int | None = None) -> str:
    """One CAP 1.2 alert for the day with an <info> per warning and language (zh-CN, en). ``sent`` and each
    ``effective`` (the start of the scored day, local midnight) are in the deployment's zone ``tz``.
    ``scored``/``towns``: towns with data of all towns (a town without data raises no alert; the note
    says how many)."""
    ET.register_namespace("", CAP_NS)
    q = f"{{{CAP_NS}}}"
    digest = hashlib.sha256("|".join(f"{w.town_code}:{w.kind}" for w in warnings).encode()).hexdigest()[:12]
    alert = ET.Element(q + "alert")

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        e = ET.SubElement(parent, q + tag)
        e.text = text
        return e

    sub(alert, "identifier", f"jingwu-safety-index-{day.isoformat()}-{digest}")
    sub(alert, "sender", sender)
    sub(alert, "sent", _cap_time(sent, tz))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", "Alert")
    sub(alert, "scope", "Public")
    effective = _cap_time(datetime.combine(day, time(0), tzinfo=tz), tz)
    n_towns = towns if towns is not None else 0
    note = cap_note(day, len(warnings), scored if scored is not None else n_towns, n_towns)
    if note:
        sub(alert, "note", note)
    for w in warnings:
        for lang, idx in (("zh-CN", 0), ("en-US", 1)):
            info = ET.SubElement(alert, q + "info")
            sub(info, "language", lang)
            sub(info, "category", "Safety")
            sub(info, "event", _EVENT[w.kind][idx])
            sub(info, "responseType", "Monitor")
            sub(info, "urgency", "Expected")
            sub(info, "severity", _EVENT[w.kind][2])
            sub(info, "certainty", _EVENT[w.kind][3])
            sub(info, "effective", effective)
            sub(info, "senderName", "平安指数 Safety Index")
            name = w.name if idx == 0 else (w.name_en or w.name)
            sub(info, "headline", f"{name}: {_EVENT[w.kind][idx]}")
            sub(info, "description", _DESC[w.kind][idx])
            sub(info, "web", f"{base_url}safety-index?date={day.isoformat()}")
            area = ET.SubElement(info, q + "area")
            sub(area, "areaDesc", name)
            for poly in _polygons(w.geometry):
                sub(area, "polygon", poly)
            gc = ET.SubElement(area, q + "geocode")
            sub(gc, "valueName", "town_code")
            sub(gc, "value", w.town_code)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode")
