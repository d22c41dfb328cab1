"""Write small OSM XML files for tests (hand-made networks, random networks for hypothesis)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float]],
    ways: list[tuple[int, list[int], dict[str, str]]],
    relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]] | None = None,
) -> Path:
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="jingwu-tests">']
    for nid, (lon, lat) in sorted(nodes.items()):
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </way>")
    for rid, members, tags in relations or []:
        lines.append(f'  <relation id="{rid}" version="1">')
        lines.extend(f'    <member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </relation>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def grid_nodes(
    n: int, spacing_deg: float = 0.001, lon0: float = 104.0, lat0: float = 30.6
) -> dict[int, tuple[float, float]]:
    """Node id r*100+c+1 at row r, column c."""
    return {r * 100 + c + 1: (lon0 + c * spacing_deg, lat0 + r * spacing_deg) for r in range(n) for c in range(n)}
