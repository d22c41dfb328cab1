"""Turn restrictions: OSM restriction relations (via a node) resolved to banned (incoming edge, outgoing
edge) pairs of the directed road graph, which build.py turns into node splitting. docs/methods/routing.md
section 3 tabulates what happens to each kind and each reason a restriction is skipped.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import numpy.typing as npt

from jingwu.routing.osm_import import BWD, FWD, PieceTable


def resolve_restrictions(
    t: PieceTable,
    pieces: npt.NDArray[np.int64],
    piece_u: npt.NDArray[np.int32],
    piece_v: npt.NDArray[np.int32],
    piece_edge: npt.NDArray[np.int32],
    new_id: npt.NDArray[np.int64],
) -> tuple[set[tuple[int, int]], int, dict[str, int]]:
    """Turn OSM restrictions into banned (incoming edge, outgoing edge) pairs."""
    skipped: dict[str, int] = defaultdict(int)
    if not t.restrictions:
        return set(), 0, {}
    osm_to_node = {int(o): i for i, o in enumerate(t.node_osm)}
    way_pieces: dict[int, list[int]] = defaultdict(list)
    wanted = {r.from_way for r in t.restrictions} | {r.to_way for r in t.restrictions}
    piece_way = t.piece_way[pieces]
    for i in np.flatnonzero(np.isin(piece_way, np.fromiter(wanted, dtype=np.int64))):
        way_pieces[int(piece_way[i])].append(int(i))
    # outgoing edges per node (for only_* restrictions)
    out_edges: dict[int, list[int]] = defaultdict(list)
    banned: set[tuple[int, int]] = set()
    applied = 0
    for r in t.restrictions:
        via_old = osm_to_node.get(r.via_node)
        via = int(new_id[via_old]) if via_old is not None else -1
        if via_old is None or via < 0:
            skipped["via node not in the kept network"] += 1
            continue
        ins = _edges_at(way_pieces.get(r.from_way, []), via, piece_u, piece_v, piece_edge, incoming=True)
        if not ins:
            # nothing arrives at the via node along the from way: the restriction cannot bite
            if r.from_way in way_pieces:
                skipped["from way does not arrive at the via node"] += 1
            else:
                skipped["from way not in the kept network"] += 1
            continue
        outs = _edges_at(way_pieces.get(r.to_way, []), via, piece_u, piece_v, piece_edge, incoming=False)
        if r.kind == "no":
            if not outs:
                # the banned turn does not exist in the network: nothing to ban
                if r.to_way in way_pieces:
                    skipped["no_*: to way does not leave the via node"] += 1
                else:
                    skipped["no_*: to way not in the kept network"] += 1
                continue
            banned.update((i, o) for i in ins for o in outs)
        else:
            # only_*: every other departure is banned after the from way, also when the to way is
            # not in the kept network (not drivable, missing from the extract, or dropped with a
            # small component): then no turn at all is allowed after the from way at this node.
            # Only a drivable to way that does not leave the via node at all is a mapping error.
            if not outs and not _may_leave(t, r.to_way, via_old):
                skipped["only_*: to way does not leave the via node"] += 1
                continue
            if via not in out_edges:
                for p in np.flatnonzero((piece_u == via) | (piece_v == via)):
                    out_edges[via].extend(_edges_at([int(p)], via, piece_u, piece_v, piece_edge, incoming=False))
            allowed = set(outs)
            banned.update((i, o) for i in ins for o in out_edges[via] if o not in allowed)
        applied += 1
    return banned, applied, dict(skipped)


def _may_leave(t: PieceTable, way: int, via: int) -> bool:
    """False only if ``way`` is drivable and no piece of it can be driven away from node ``via``
    (before the strongly connected component: a piece dropped with a small component still counts)."""
    ps = np.flatnonzero(t.piece_way == way)
    if ps.size == 0:
        return True  # not drivable or not in the extract: it leaves the network, wherever it goes
    d = t.piece_dir[ps]
    return bool(np.any(((t.piece_u[ps] == via) & ((d & FWD) != 0)) | ((t.piece_v[ps] == via) & ((d & BWD) != 0))))


def _edges_at(
    plist: list[int],
    via: int,
    piece_u: npt.NDArray[np.int32],
    piece_v: npt.NDArray[np.int32],
    piece_edge: npt.NDArray[np.int32],
    incoming: bool,
) -> list[int]:
    out: list[int] = []
    for p in plist:
        fe, be = int(piece_edge[p, 0]), int(piece_edge[p, 1])
        if incoming:
            if piece_v[p] == via and fe >= 0:
                out.append(fe)
            if piece_u[p] == via and be >= 0:
                out.append(be)
        else:
            if piece_u[p] == via and fe >= 0:
                out.append(fe)
            if piece_v[p] == via and be >= 0:
                out.append(be)
    return out
