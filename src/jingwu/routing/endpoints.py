"""Snapped points as search endpoints: the weighted seeds and goals of every query.

A snapped point lies part-way along a road piece. A search leaves it at the
head of each allowed direction with the partial cost of the rest of the piece
(seeds) and reaches it from the tail(s) plus the part up to the point
(goals); two points on one piece may also be joined without leaving it
(:func:`direct`). :class:`SnapBatch` holds snaps prepared once, with their
arrays and per-graph seeds and goals cached for repeated queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from jingwu.routing.domain import Metric, Snap
from jingwu.routing.kernels import F64, I32, I64, INF

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

_get_edge = attrgetter("edge")
_get_offset = attrgetter("offset_m")


class SnapBatch(Sequence[Snap]):
    """An immutable sequence of snaps with their arrays (and per-graph seeds) computed once.

    Dispatch keeps its units as a batch and asks many ``k_fastest`` questions
    against it; each query then costs only the search itself.
    """

    def __init__(self, snaps: Sequence[Snap]) -> None:
        self._snaps: tuple[Snap, ...] = tuple(snaps)
        self.pieces, self.offsets = snap_arrays(self._snaps)
        self._cache: dict[tuple[int, Metric, bool], tuple[I32, F64, I32, I32]] = {}

    def __len__(self) -> int:
        return len(self._snaps)

    @overload
    def __getitem__(self, i: int) -> Snap: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Snap]: ...
    def __getitem__(self, i: int | slice) -> Snap | Sequence[Snap]:
        return self._snaps[i]


def snap_arrays(snaps: Sequence[Snap]) -> tuple[I64, F64]:
    """The snaps' pieces and offsets along them as arrays (kept ready in a :class:`SnapBatch`)."""
    if isinstance(snaps, SnapBatch):
        return snaps.pieces, snaps.offsets
    n = len(snaps)
    p = np.fromiter(map(_get_edge, snaps), dtype=np.int64, count=n)
    o = np.fromiter(map(_get_offset, snaps), dtype=np.float64, count=n)
    return p, o


def weights(g: RoadGraph, metric: Metric) -> F64:
    """Cost of each directed edge in ``metric``: seconds or metres."""
    return g.edge_time if Metric(metric) == Metric.TIME else g.edge_len


def ends_of(
    g: RoadGraph, snaps: Sequence[Snap], metric: Metric, leaving: bool, arrays: tuple[I64, F64] | None = None
) -> tuple[I32, F64, I32, I32]:
    """:func:`ends` of a sequence of snaps, cached in a :class:`SnapBatch` per graph, metric and side."""
    if isinstance(snaps, SnapBatch):
        key = (g._token, metric, leaving)
        hit = snaps._cache.get(key)
        if hit is None:
            hit = ends(g, snaps.pieces, snaps.offsets, weights(g, metric), leaving)
            snaps._cache[key] = hit
        return hit
    p, o = arrays if arrays is not None else snap_arrays(snaps)
    return ends(g, p, o, weights(g, metric), leaving)


def expand(
    ptr: npt.NDArray[np.int64], keys: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Flat CSR positions of all entries of ``keys`` and, for each, which key it came from."""
    cnt = ptr[keys + 1] - ptr[keys]
    owner = np.repeat(np.arange(keys.size), cnt)
    if owner.size == 0:
        return owner, owner
    first = np.cumsum(cnt) - cnt
    pos = np.repeat(ptr[keys], cnt) + (np.arange(owner.size) - np.repeat(first, cnt))
    return pos, owner


def ends(g: RoadGraph, p: npt.NDArray[np.int64], o: F64, w: F64, leaving: bool) -> tuple[I32, F64, I32, I32]:
    """Seeds where snapped points leave (``leaving``) or goals where they are reached.

    Returns (search nodes, added cost, owner = index of the snap, edge used or -1).
    Leaving: the vehicle drives the rest of its piece to the head of each
    allowed direction. Reached: from the tail(s) of each allowed direction
    plus the part of the piece up to the point. A point exactly at a graph
    node also connects to that node directly (all its copies) at cost 0.
    """
    if p.size == 1:
        return _ends_one(g, int(p[0]), float(o[0]), w, leaving)
    length = g.piece_len[p]
    idx = np.arange(p.size)
    nodes: list[npt.NDArray[np.int64]] = []
    costs: list[F64] = []
    owners: list[npt.NDArray[np.int64]] = []
    via: list[npt.NDArray[np.int64]] = []
    for d in (0, 1):
        e = g.piece_edge[p, d].astype(np.int64)
        m = e >= 0
        em, lm, om = e[m], length[m], o[m]
        part = (lm - om) if (d == 0) == leaving else om
        frac = np.divide(part, lm, out=np.zeros_like(part), where=lm > 0)
        c = w[em] * frac
        if leaving:
            nodes.append(g.edge_hs[em].astype(np.int64))
            costs.append(c)
            owners.append(idx[m])
            via.append(em)
        else:
            pos, k = expand(g.et_ptr, em)
            nodes.append(g.et_node[pos].astype(np.int64))
            costs.append(c[k])
            owners.append(idx[m][k])
            via.append(em[k])
    for at_end in (False, True):
        m = (o == length) if at_end else (o == 0.0)
        if m.any():
            node = (g.piece_v if at_end else g.piece_u)[p[m]].astype(np.int64)
            pos, k = expand(g.copy_ptr, node)
            nodes.append(g.copy_node[pos].astype(np.int64))
            costs.append(np.zeros(pos.size))
            owners.append(idx[m][k])
            via.append(np.full(pos.size, -1, dtype=np.int64))
    return (
        np.concatenate(nodes).astype(np.int32),
        np.concatenate(costs).astype(np.float64),
        np.concatenate(owners).astype(np.int32),
        np.concatenate(via).astype(np.int32),
    )


def _ends_one(g: RoadGraph, p: int, o: float, w: F64, leaving: bool) -> tuple[I32, F64, I32, I32]:
    """:func:`ends` for a single snap in plain Python (numpy call overhead dominates otherwise)."""
    length = float(g.piece_len[p])
    nodes: list[int] = []
    costs: list[float] = []
    via: list[int] = []
    for d in (0, 1):
        e = int(g.piece_edge[p, d])
        if e < 0:
            continue
        part = (length - o) if (d == 0) == leaving else o
        c = float(w[e]) * part / length if length > 0 else 0.0
        if leaving:
            nodes.append(int(g.edge_hs[e]))
            costs.append(c)
            via.append(e)
        else:
            for j in range(int(g.et_ptr[e]), int(g.et_ptr[e + 1])):
                nodes.append(int(g.et_node[j]))
                costs.append(c)
                via.append(e)
    for at, node in ((0.0, int(g.piece_u[p])), (length, int(g.piece_v[p]))):
        if o == at:
            for j in range(int(g.copy_ptr[node]), int(g.copy_ptr[node + 1])):
                nodes.append(int(g.copy_node[j]))
                costs.append(0.0)
                via.append(-1)
    return (
        np.array(nodes, dtype=np.int32),
        np.array(costs, dtype=np.float64),
        np.zeros(len(nodes), dtype=np.int32),
        np.array(via, dtype=np.int32),
    )


def direct(
    g: RoadGraph, ap: npt.NDArray[np.int64], ao: F64, bp: npt.NDArray[np.int64], bo: F64, w: F64
) -> tuple[F64, I32]:
    """Cost of driving from a to b along their common piece without leaving it (inf if not possible).

    Element-wise over 1-D arrays where one side may have length 1 (broadcast); also returns the
    directed edge used (-1 if none).
    """
    n = max(ap.size, bp.size)
    cost = np.full(n, INF)
    edge = np.full(n, -1, dtype=np.int32)
    same = np.flatnonzero(ap == bp)
    if same.size == 0:
        return cost, edge

    def pick(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return x[same] if x.size == n else np.full(same.size, x[0])

    p = pick(ap)
    a_off, b_off = pick(ao), pick(bo)
    length = g.piece_len[p]
    for d in (0, 1):
        e = g.piece_edge[p, d]
        delta = (b_off - a_off) if d == 0 else (a_off - b_off)
        ok = (e >= 0) & (delta >= 0)
        frac = np.divide(delta, length, out=np.zeros_like(delta), where=length > 0)
        c = np.where(ok, w[np.maximum(e, 0)] * frac, INF)
        better = c < cost[same]
        cost[same[better]] = c[better]
        edge[same[better]] = e[better]
    return cost, edge
