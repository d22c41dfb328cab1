"""Graph assembly: :class:`PieceTable` → the compact array form of a :class:`RoadGraph`.

Steps (docs/methods/routing.md explains each): piece lengths from the
haversine geometry; directed edges per allowed direction; the largest
strongly connected component (everything else is dropped and counted);
via-node turn restrictions by *node splitting* (a restricted via node gets one
copy per incoming edge, and each copy only has the turns allowed from that
edge — exact, and free for the ~all nodes without restrictions); forward and
reverse CSR of the search graph; a uniform grid over geometry segments for snapping.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from jingwu.routing.domain import ImportReport, NoDrivableRoads
from jingwu.routing.geodesy import EARTH_RADIUS_M
from jingwu.routing.kernels import grid_fill, haversine_m
from jingwu.routing.osm_import import BWD, FWD, PieceTable
from jingwu.routing.restrictions import resolve_restrictions

Arrays = dict[str, npt.NDArray[Any]]
GRID_CELL_M = 150.0
MAX_GRID_CELLS = 4_000_000


def build_arrays(t: PieceTable, progress: bool = False) -> tuple[Arrays, ImportReport]:
    """Assemble every array of the graph; raise NoDrivableRoads if nothing routable is left."""
    steps = tqdm(total=5, desc="building graph", disable=not progress, leave=False)
    # 1. lengths along the geometry
    n_shape = t.shape_lon.shape[0]
    seg_len = np.zeros(n_shape, dtype=np.float64)
    if n_shape > 1:
        seg_len[1:] = haversine_m(t.shape_lon[:-1], t.shape_lat[:-1], t.shape_lon[1:], t.shape_lat[1:])
    starts = t.shape_ptr[:-1]
    seg_len[starts] = 0.0  # first point of every piece starts at 0
    cum = np.cumsum(seg_len)
    piece_len = cum[t.shape_ptr[1:] - 1] - cum[starts]
    shape_cum = cum - np.repeat(cum[starts], np.diff(t.shape_ptr))
    steps.update()

    # 2. directed edges and the largest strongly connected component
    n = t.node_lon.shape[0]
    fwd = (t.piece_dir & FWD) != 0
    bwd = (t.piece_dir & BWD) != 0
    tails = np.concatenate([t.piece_u[fwd], t.piece_v[bwd]])
    heads = np.concatenate([t.piece_v[fwd], t.piece_u[bwd]])
    if tails.size == 0:
        raise NoDrivableRoads("no drivable road edges")
    mat = coo_matrix((np.ones(tails.size, dtype=np.int8), (tails, heads)), shape=(n, n)).tocsr()
    n_comp, comp = connected_components(mat, directed=True, connection="strong")
    # components are counted over nodes that touch an edge
    touched = np.zeros(n, dtype=bool)
    touched[tails] = True
    touched[heads] = True
    sizes = np.bincount(comp[touched], minlength=n_comp)
    big = int(np.argmax(sizes))
    keep_node = (comp == big) & touched
    if int(keep_node.sum()) < 2:
        raise NoDrivableRoads("the road network has no strongly connected part with two or more nodes")
    keep_piece = keep_node[t.piece_u] & keep_node[t.piece_v]
    steps.update()

    # 3. compact nodes, pieces, shapes
    # number kept nodes along a Hilbert curve: neighbours in space get nearby ids, so the
    # searches touch memory in order (OSM ids are arbitrary; see docs/methods/routing.md §7)
    kept = np.flatnonzero(keep_node)
    node_order = kept[np.argsort(hilbert_index(t.node_lon[kept], t.node_lat[kept]), kind="stable")]
    new_id = np.full(n, -1, dtype=np.int64)
    new_id[node_order] = np.arange(node_order.size)
    pieces = np.flatnonzero(keep_piece)
    counts = np.diff(t.shape_ptr)[pieces]
    shape_ptr = np.zeros(pieces.size + 1, dtype=np.int64)
    shape_ptr[1:] = np.cumsum(counts)
    gather = np.repeat(t.shape_ptr[pieces] - shape_ptr[:-1], counts) + np.arange(int(shape_ptr[-1]))
    piece_u = new_id[t.piece_u[pieces]].astype(np.int32)
    piece_v = new_id[t.piece_v[pieces]].astype(np.int32)
    pdir = t.piece_dir[pieces]
    plen = piece_len[pieces]
    pspeed = t.piece_speed[pieces]
    n_kept = int(keep_node.sum())
    dropped_pieces = ~keep_piece
    dropped_edges = int((fwd & dropped_pieces).sum() + (bwd & dropped_pieces).sum())
    sizes_other = sizes.copy()
    sizes_other[big] = 0
    report = ImportReport(
        source=t.source,
        ways_read=t.ways_read,
        drivable_ways=t.drivable_ways,
        nodes=n_kept,
        pieces=int(pieces.size),
        dropped_components=int((sizes_other > 0).sum()),
        dropped_nodes=int(touched.sum()) - n_kept,
        dropped_edges=dropped_edges,
        dropped_km=float(piece_len[dropped_pieces].sum() / 1000.0),
        reversible_ways_dropped=t.reversible_ways_dropped,
        access_denied_ways=t.access_denied_ways,
        restrictions_skipped=dict(t.restrictions_skipped),
        kept_km=float(plen.sum() / 1000.0),
    )
    steps.update()

    # 4. directed edges of kept pieces: edge id order = fwd edges then bwd edges
    p_idx = np.arange(pieces.size, dtype=np.int32)
    f = (pdir & FWD) != 0
    b = (pdir & BWD) != 0
    edge_piece = np.concatenate([p_idx[f], p_idx[b]]).astype(np.int32)
    edge_dir = np.concatenate([np.zeros(int(f.sum()), np.int8), np.ones(int(b.sum()), np.int8)])
    edge_tail = np.concatenate([piece_u[f], piece_v[b]]).astype(np.int32)
    edge_head = np.concatenate([piece_v[f], piece_u[b]]).astype(np.int32)
    edge_len = plen[edge_piece]
    edge_time = edge_len / (pspeed[edge_piece] / 3.6)
    piece_edge = np.full((pieces.size, 2), -1, dtype=np.int32)
    piece_edge[edge_piece, edge_dir] = np.arange(edge_piece.size, dtype=np.int32)
    n_edges = edge_piece.size

    banned, applied, skipped = resolve_restrictions(t, pieces, piece_u, piece_v, piece_edge, new_id)
    all_skipped = dict(report.restrictions_skipped)
    for key, val in skipped.items():
        all_skipped[key] = all_skipped.get(key, 0) + val
    report = replace(report, restrictions_applied=applied, restrictions_skipped=all_skipped, edges=int(n_edges))
    search = _search_graph(n_kept, edge_tail, edge_head, edge_len, edge_time, banned)
    steps.update()

    # 5. snapping grid
    shape_lon = t.shape_lon[gather]
    shape_lat = t.shape_lat[gather]
    seg_piece = np.repeat(np.arange(pieces.size, dtype=np.int32), counts)
    grid = _grid(shape_lon, shape_lat, shape_ptr)
    steps.update()
    steps.close()

    names = np.asarray(t.names, dtype=np.str_)
    arrays: Arrays = {
        "node_lon": t.node_lon[node_order],
        "node_lat": t.node_lat[node_order],
        "node_osm": t.node_osm[node_order],
        "piece_u": piece_u,
        "piece_v": piece_v,
        "piece_dir": pdir,
        "piece_len": plen,
        "piece_speed": pspeed,
        "piece_highway": t.piece_highway[pieces],
        "piece_name": t.piece_name[pieces],
        "piece_way": t.piece_way[pieces],
        "piece_edge": piece_edge,
        "shape_ptr": shape_ptr,
        "shape_lon": shape_lon,
        "shape_lat": shape_lat,
        "shape_cum": shape_cum[gather],
        "seg_piece": seg_piece,
        "edge_piece": edge_piece,
        "edge_dir": edge_dir,
        "edge_len": edge_len,
        "edge_time": edge_time,
        "names": names,
        **search,
        **grid,
    }
    return arrays, report


def hilbert_index(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], order: int = 16) -> npt.NDArray[np.int64]:
    """Position of each point along a Hilbert curve over the points' bounding box (2^order cells a side)."""
    side = (1 << order) - 1
    span_x = max(float(lon.max() - lon.min()), 1e-12) if lon.size else 1.0
    span_y = max(float(lat.max() - lat.min()), 1e-12) if lat.size else 1.0
    x = ((lon - (lon.min() if lon.size else 0.0)) / span_x * side).astype(np.int64)
    y = ((lat - (lat.min() if lat.size else 0.0)) / span_y * side).astype(np.int64)
    d = np.zeros(x.size, dtype=np.int64)
    s = 1 << (order - 1)
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ry == 0
        swap_x = np.where(flip & (rx == 1), side - x, x)
        swap_y = np.where(flip & (rx == 1), side - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


def _search_graph(
    n: int,
    edge_tail: npt.NDArray[np.int32],
    edge_head: npt.NDArray[np.int32],
    edge_len: npt.NDArray[np.float64],
    edge_time: npt.NDArray[np.float64],
    banned: set[tuple[int, int]],
) -> Arrays:
    """Search graph CSR (forward and reverse) with node splitting at restricted via nodes.

    A restricted via node v gets one copy per incoming edge (holding the turns allowed after that
    edge) plus one start copy (all outgoing edges, no incoming): points exactly at v leave from all
    copies and are reached at any copy.
    """
    n_edges = edge_tail.size
    split_nodes = sorted({int(edge_head[i]) for i, _ in banned})
    edge_hs = edge_head.astype(np.int32).copy()
    s_orig = list(range(n))
    copies: dict[int, list[tuple[int, int]]] = {}  # node -> [(incoming edge, search node)]
    if split_nodes:
        in_edges: dict[int, list[int]] = defaultdict(list)
        split_set = set(split_nodes)
        for e in np.flatnonzero(np.isin(edge_head, np.asarray(split_nodes, dtype=np.int32))):
            in_edges[int(edge_head[e])].append(int(e))
        for v in split_nodes:
            lst: list[tuple[int, int]] = []
            for j, e_in in enumerate(in_edges[v]):
                sid: int = v if j == 0 else len(s_orig)
                if j > 0:
                    s_orig.append(v)
                lst.append((e_in, sid))
                edge_hs[e_in] = sid
            # a "standing start" copy with every outgoing edge and no incoming one: a vehicle that
            # starts at the via node has made no turn yet
            lst.append((-1, len(s_orig)))
            s_orig.append(v)
            copies[v] = lst
        plain = ~np.isin(edge_tail, np.asarray(split_nodes, dtype=np.int32))
        a_tail = [edge_tail[plain].astype(np.int64)]
        a_edge = [np.flatnonzero(plain)]
        xt: list[int] = []
        xe: list[int] = []
        for d in np.flatnonzero(~plain):
            u = int(edge_tail[d])
            for e_in, sid in copies[u]:
                if (e_in, int(d)) not in banned:
                    xt.append(sid)
                    xe.append(int(d))
        a_tail.append(np.asarray(xt, dtype=np.int64))
        a_edge.append(np.asarray(xe, dtype=np.int64))
        arc_tail = np.concatenate(a_tail)
        arc_edge = np.concatenate(a_edge)
        del split_set
    else:
        arc_tail = edge_tail.astype(np.int64)
        arc_edge = np.arange(n_edges, dtype=np.int64)
    s_n = len(s_orig)
    arc_head = edge_hs[arc_edge].astype(np.int64)
    # forward CSR
    o = np.lexsort((arc_head, arc_tail))
    f_tail = arc_tail[o]
    f_edge = arc_edge[o]
    fptr = np.zeros(s_n + 1, dtype=np.int64)
    fptr[1:] = np.cumsum(np.bincount(f_tail, minlength=s_n))
    # reverse CSR
    r = np.lexsort((arc_tail, arc_head))
    r_head = arc_head[r]
    r_edge = arc_edge[r]
    rptr = np.zeros(s_n + 1, dtype=np.int64)
    rptr[1:] = np.cumsum(np.bincount(r_head, minlength=s_n))
    # edge -> tails of its arcs (search nodes)
    e_order = np.argsort(f_edge, kind="stable")
    etptr = np.zeros(n_edges + 1, dtype=np.int64)
    etptr[1:] = np.cumsum(np.bincount(f_edge, minlength=n_edges))
    # original node -> its search nodes (copies)
    s_orig_arr = np.asarray(s_orig, dtype=np.int32)
    c_order = np.argsort(s_orig_arr, kind="stable")
    cptr = np.zeros(n + 1, dtype=np.int64)
    cptr[1:] = np.cumsum(np.bincount(s_orig_arr, minlength=n))
    return {
        "s_orig": s_orig_arr,
        "fptr": fptr,
        "fadj": edge_hs[f_edge].astype(np.int32),
        "ftail": f_tail.astype(np.int32),
        "fedge": f_edge.astype(np.int32),
        "ftime": edge_time[f_edge],
        "flen": edge_len[f_edge],
        "rptr": rptr,
        "radj": arc_tail[r].astype(np.int32),
        "redge": r_edge.astype(np.int32),
        "rtime": edge_time[r_edge],
        "rlen": edge_len[r_edge],
        "edge_hs": edge_hs,
        "et_ptr": etptr,
        "et_node": f_tail[e_order].astype(np.int32),
        "copy_ptr": cptr,
        "copy_node": c_order.astype(np.int32),
    }


def _grid(
    shape_lon: npt.NDArray[np.float64], shape_lat: npt.NDArray[np.float64], shape_ptr: npt.NDArray[np.int64]
) -> Arrays:
    """Uniform lon/lat grid: cell → segments whose bounding box touches it."""
    lon0 = float(shape_lon.min())
    lat0 = float(shape_lat.min())
    lon1 = float(shape_lon.max())
    lat1 = float(shape_lat.max())
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians((lat0 + lat1) / 2))
    cell = GRID_CELL_M
    width_m = max((lon1 - lon0) * kx, 1.0)
    height_m = max((lat1 - lat0) * ky, 1.0)
    while (width_m / cell + 1) * (height_m / cell + 1) > MAX_GRID_CELLS:
        cell *= 1.5
    dlon = cell / kx
    dlat = cell / ky
    nx = int(width_m / cell) + 1
    ny = int(height_m / cell) + 1
    valid = np.ones(shape_lon.size, dtype=bool)
    valid[shape_ptr[1:] - 1] = False  # last point of a piece starts no segment
    s = np.arange(shape_lon.size - 1)
    a_lon, b_lon = shape_lon[:-1], shape_lon[1:]
    a_lat, b_lat = shape_lat[:-1], shape_lat[1:]
    ix0 = np.floor((np.minimum(a_lon, b_lon) - lon0) / dlon).astype(np.int64).clip(0, nx - 1)
    ix1 = np.floor((np.maximum(a_lon, b_lon) - lon0) / dlon).astype(np.int64).clip(0, nx - 1)
    iy0 = np.floor((np.minimum(a_lat, b_lat) - lat0) / dlat).astype(np.int64).clip(0, ny - 1)
    iy1 = np.floor((np.maximum(a_lat, b_lat) - lat0) / dlat).astype(np.int64).clip(0, ny - 1)
    ix0[~valid[s]] = -1
    total = int((((ix1 - ix0 + 1) * (iy1 - iy0 + 1))[valid[s]]).sum())
    cells, segs = grid_fill(ix0, ix1, iy0, iy1, nx, total)
    o = np.argsort(cells, kind="stable")
    cell_ptr = np.zeros(nx * ny + 1, dtype=np.int64)
    cell_ptr[1:] = np.cumsum(np.bincount(cells, minlength=nx * ny))
    return {
        "cell_ptr": cell_ptr,
        "cell_seg": segs[o],
        "grid": np.asarray([lon0, lat0, dlon, dlat, nx, ny], dtype=np.float64),
    }
