"""Independent reference for routing tests: an every-OSM-node networkx graph and brute-force snapping.

Built straight from the OSM file with its own pyosmium pass (sharing only the
tag rules — drivable classes, one-way semantics, speed table — with the
engine), its own haversine, its own strongly connected component, its own
nearest-segment search and networkx's Dijkstra. Snapped points become
virtual nodes that split their segment, so partial-edge costs are explicit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import osmium

from jingwu.routing.osm_import import (
    BOTH,
    BWD,
    FWD,
    SPEED_KMH,
    motor_access,
    parse_maxspeed,
    way_direction,
)

R = 6371008.8


def hav(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class RefWay:
    refs: list[int]
    direction: int  # FWD / BWD / BOTH in node order
    speed_kmh: float
    osm_id: int = 0


@dataclass
class RefNet:
    coords: dict[int, tuple[float, float]]
    ways: list[RefWay]
    restrictions: list[tuple[str, int, int, int]] = field(default_factory=list)
    # every restriction relation read, as (relation id, tag value, [(member type, ref, role)]), for skip checks
    restriction_relations: list[tuple[int, str, list[tuple[str, int, str]]]] = field(default_factory=list)


def parse(path: Path, rule: Callable[[dict[str, str]], object] | None = None) -> RefNet:
    """The reference network of the car rules, or of a travel profile's tag ``rule`` (``Profile.classify``:
    (direction, speed) for a usable way)."""
    coords: dict[int, tuple[float, float]] = {}
    ways: list[RefWay] = []
    relations: list[tuple[int, str, list[tuple[str, int, str]]]] = []
    restrictions: list[tuple[str, int, int, int]] = []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if isinstance(obj, osmium.osm.Relation):
            rel = _restriction(obj)
            if rel is not None:
                relations.append(rel)
                members = rel[2]
                frm = [r for t, r, role in members if role == "from" and t == "w"]
                via = [r for t, r, role in members if role == "via"]
                vian = [r for t, r, role in members if role == "via" and t == "n"]
                to = [r for t, r, role in members if role == "to" and t == "w"]
                if rel[1].startswith(("no_", "only_")) and len(frm) == len(vian) == len(via) == len(to) == 1:
                    restrictions.append((rel[1], frm[0], vian[0], to[0]))
            continue
        if not isinstance(obj, osmium.osm.Way):
            continue
        tags = {t.k: t.v for t in obj.tags}
        hw = tags.get("highway")
        if rule is not None:
            verdict = rule(tags)
            if not isinstance(verdict, tuple):
                continue
            d, speed = verdict
        else:
            if hw not in SPEED_KMH or tags.get("area") == "yes" or not motor_access(tags):
                continue
            d = way_direction(tags)
            if d == 0:
                continue
            speed = parse_maxspeed(tags.get("maxspeed")) or SPEED_KMH[hw]
        run: list[int] = []
        for nd in obj.nodes:
            if not nd.location.valid():
                if len(run) >= 2:
                    ways.append(RefWay(run, d, speed, obj.id))
                run = []
                continue
            coords[nd.ref] = (nd.location.lon, nd.location.lat)
            if run and run[-1] == nd.ref:
                continue
            run.append(nd.ref)
        if len(run) >= 2:
            ways.append(RefWay(run, d, speed, obj.id))
    return RefNet(coords, ways, restrictions, relations)


def _restriction(obj: osmium.osm.Relation) -> tuple[int, str, list[tuple[str, int, str]]] | None:
    """(id, value, members) of a turn restriction that applies to a police car, else None."""
    tags = {t.k: t.v for t in obj.tags}
    if tags.get("type") not in ("restriction", "restriction:motorcar"):
        return None
    value = tags.get("restriction") or tags.get("restriction:motorcar")
    if not value:
        return None
    if {v.strip() for v in tags.get("except", "").split(";")} & {"motorcar", "motor_vehicle", "emergency"}:
        return None
    return obj.id, value, [(m.type, m.ref, m.role) for m in obj.members]


class Reference:
    """networkx graph with attributes ``time`` and ``length`` on every OSM segment."""

    def __init__(self, net: RefNet) -> None:
        self.coords = dict(net.coords)
        g = nx.DiGraph()
        for w in net.ways:
            for a, b in zip(w.refs[:-1], w.refs[1:], strict=True):
                length = hav(*net.coords[a], *net.coords[b])
                time = length / (w.speed_kmh / 3.6)
                pairs = []
                if w.direction & FWD:
                    pairs.append((a, b))
                if w.direction & BWD:
                    pairs.append((b, a))
                for u, v in pairs:
                    if g.has_edge(u, v):
                        e = g[u][v]
                        e["time"] = min(e["time"], time)
                        e["length"] = min(e["length"], length)
                    else:
                        g.add_edge(u, v, time=time, length=length)
        biggest = max(nx.strongly_connected_components(g), key=len)
        self.g = g.subgraph(biggest).copy()
        # undirected segment list for brute-force snapping
        segs = {(min(u, v), max(u, v)) for u, v in self.g.edges}
        self.seg_keys = sorted(segs)
        a = np.array([self.coords[u] for u, _ in self.seg_keys])
        b = np.array([self.coords[v] for _, v in self.seg_keys])
        self.ax, self.ay, self.bx, self.by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
        self._virtual = 0

    def nearest(self, lon: float, lat: float) -> tuple[tuple[int, int], float, float]:
        """(segment key (u<v), t along u→v, planar distance m) with the engine's projection formula."""
        ky = R * math.pi / 180.0
        kx = ky * math.cos(lat * math.pi / 180.0)
        ax, ay = (self.ax - lon) * kx, (self.ay - lat) * ky
        bx, by = (self.bx - lon) * kx, (self.by - lat) * ky
        ex, ey = bx - ax, by - ay
        ll = ex * ex + ey * ey
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(ll > 0, -(ax * ex + ay * ey) / ll, 0.0)
        t = np.clip(t, 0.0, 1.0)
        d = np.hypot(ax + t * ex, ay + t * ey)
        i = int(np.argmin(d))
        return self.seg_keys[i], float(t[i]), float(d[i])

    def insert_points(self, points: list[tuple[float, float]]) -> tuple[nx.DiGraph, list[object]]:
        """Copy of the graph with every point snapped and inserted; returns (graph, node per point)."""
        g = self.g.copy()
        by_seg: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
        node_of: list[object] = [None] * len(points)
        for i, (lon, lat) in enumerate(points):
            key, t, _ = self.nearest(lon, lat)
            if t == 0.0:
                node_of[i] = key[0]
            elif t == 1.0:
                node_of[i] = key[1]
            else:
                by_seg[key].append((t, i))
        for (u, v), lst in by_seg.items():
            ts = sorted({t for t, _ in lst})
            names = {t: ("virtual", u, v, t) for t in ts}
            for t, i in lst:
                node_of[i] = names[t]
            chain = [u, *[names[t] for t in ts], v]
            fracs = [0.0, *ts, 1.0]
            for a, b in ((u, v), (v, u)):
                if not g.has_edge(a, b):
                    continue
                data = g[a][b]
                g.remove_edge(a, b)
                nodes = chain if a == u else chain[::-1]
                fr = fracs if a == u else [1.0 - f for f in fracs[::-1]]
                for k in range(len(nodes) - 1):
                    part = fr[k + 1] - fr[k]
                    g.add_edge(nodes[k], nodes[k + 1], time=data["time"] * part, length=data["length"] * part)
        return g, node_of


__all__ = ["BOTH", "RefNet", "RefWay", "Reference", "hav", "parse"]
