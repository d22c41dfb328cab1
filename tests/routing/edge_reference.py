"""Independent edge-based reference for turn restrictions on real OSM data.

Search states are directed OSM segments (two consecutive nodes of one way, in
one allowed direction), so a turn restriction is simply a set of forbidden
moves from one segment to the next at the via node — no node splitting. Built
from :func:`routing.routing_reference.parse` (its own pyosmium pass) with its
own strongly connected component and a plain ``heapq`` Dijkstra over segments.

Rules, as docs/methods/routing.md §1 and §3 state them:

- ``no_X`` (from F, via node v, to T): every move from a segment of F that
  ends at v onto a segment of T that starts at v is forbidden;
- ``only_X``: from a segment of F that ends at v, every move onto a segment
  that starts at v and does not belong to T is forbidden — so if T is not in
  the network (not drivable, not in the extract, dropped with a small
  component) nothing is allowed after F at v; only a drivable T that cannot
  be driven away from v at all (a mapping error) makes it void;
- a U-turn (going back along the segment just driven) is possible at a graph
  node (used twice or more by drivable ways, a way end, or a via node) and
  never at a shape point;
- a vehicle that starts at a node has made no turn: every segment leaving it.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict

import networkx as nx

from routing.routing_reference import BWD, FWD, RefNet, hav


def directed_segments(net: RefNet) -> dict[tuple[int, int, int], tuple[float, float]]:
    """Every drivable directed segment (tail, head, way id) -> (length m, time s); parallel copies
    of one way keep the cheaper."""
    segs: dict[tuple[int, int, int], tuple[float, float]] = {}
    for w in net.ways:
        for a, b in zip(w.refs[:-1], w.refs[1:], strict=True):
            length = hav(*net.coords[a], *net.coords[b])
            time = length / (w.speed_kmh / 3.6)
            for d, (u, v) in ((FWD, (a, b)), (BWD, (b, a))):
                if w.direction & d:
                    old = segs.get((u, v, w.osm_id))
                    if old is None or length < old[0]:
                        segs[(u, v, w.osm_id)] = (length, time)
    return segs


class EdgeReference:
    def __init__(self, net: RefNet) -> None:
        self.coords = net.coords
        uses = Counter(r for w in net.ways for r in w.refs)
        self.graph_nodes = {r for r, c in uses.items() if c >= 2}
        for w in net.ways:
            self.graph_nodes.update((w.refs[0], w.refs[-1]))
        self.graph_nodes.update(v for _, _, v, _ in net.restrictions)
        segs = directed_segments(net)
        # before the strongly connected component: which ways are drivable, which leave which node
        self.drivable_ways = {w for _, _, w in segs}
        self.leaving = {(u, w) for u, _, w in segs}
        g = nx.DiGraph()
        g.add_edges_from((u, v) for u, v, _ in segs)
        biggest = max(nx.strongly_connected_components(g), key=len)
        self.nodes = biggest
        self.seg = [k for k in segs if k[0] in biggest and k[1] in biggest]
        self.length = [segs[k][0] for k in self.seg]
        self.time = [segs[k][1] for k in self.seg]
        self.out: dict[int, list[int]] = defaultdict(list)
        self.into: dict[int, list[int]] = defaultdict(list)
        for i, (u, v, _) in enumerate(self.seg):
            self.out[u].append(i)
            self.into[v].append(i)
        self.banned: set[tuple[int, int]] = set()
        for tag, f, via, t in net.restrictions:
            ins = [i for i in self.into.get(via, []) if self.seg[i][2] == f]
            outs = [o for o in self.out.get(via, []) if self.seg[o][2] == t]
            if tag.startswith("no_"):
                self.banned.update((i, o) for i in ins for o in outs)
            elif outs or (t not in self.drivable_ways or (via, t) in self.leaving):
                allowed = set(outs)
                self.banned.update((i, o) for i in ins for o in self.out.get(via, []) if o not in allowed)

    def _moves(self, i: int) -> list[int]:
        u, v, _ = self.seg[i]
        return [
            o
            for o in self.out.get(v, [])
            if (i, o) not in self.banned and (v in self.graph_nodes or self.seg[o][1] != u)
        ]

    def from_node(self, s: int, time: bool) -> dict[int, float]:
        """Least cost from node ``s`` to every node (Dijkstra over segments)."""
        w = self.time if time else self.length
        dist: dict[int, float] = {}
        best: dict[int, float] = {s: 0.0}
        heap = [(w[o], o) for o in self.out.get(s, [])]
        heapq.heapify(heap)
        while heap:
            d, i = heapq.heappop(heap)
            if i in dist:
                continue
            dist[i] = d
            head = self.seg[i][1]
            if d < best.get(head, math.inf):
                best[head] = d
            for o in self._moves(i):
                if o not in dist:
                    heapq.heappush(heap, (d + w[o], o))
        return best


__all__ = ["EdgeReference", "directed_segments"]
