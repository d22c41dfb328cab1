"""Synthetic road-like networks for benchmarks and tests (no OSM needed).

``grid_city(side)`` makes a ``side × side`` jittered grid (≈100 m blocks)
shaped like a Chinese city: every 5th street a tertiary road (30 km/h), every
10th a primary arterial (45 km/h), every 50th an urban expressway (trunk,
60 km/h), residential streets (20 km/h) elsewhere; 8 % of residential
segments removed and 10 % made one-way in a random direction. The result is a
:class:`PieceTable`, so it goes through exactly the same assembly as OSM data.
"""

from __future__ import annotations

import math

import numpy as np

from jingwu.routing.geodesy import EARTH_RADIUS_M
from jingwu.routing.osm_import import BOTH, FWD, HIGHWAY_CODE, SPEED_KMH, PieceTable


def grid_city(
    side: int = 1000,
    spacing_m: float = 100.0,
    origin: tuple[float, float] = (103.6, 30.3),
    seed: int = 7,
) -> PieceTable:
    rng = np.random.default_rng(seed)
    lon0, lat0 = origin
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    jitter = rng.uniform(-0.15, 0.15, size=(2, side, side)) * spacing_m
    x = jj * spacing_m + jitter[0]
    y = ii * spacing_m + jitter[1]
    node_lon = (lon0 + x / kx).ravel()
    node_lat = (lat0 + y / ky).ravel()
    nid = (ii * side + jj).ravel()

    def line_class(k: np.ndarray) -> np.ndarray:
        cls = np.full(k.shape, HIGHWAY_CODE["residential"], dtype=np.int8)
        cls[k % 5 == 0] = HIGHWAY_CODE["tertiary"]
        cls[k % 10 == 0] = HIGHWAY_CODE["primary"]
        cls[k % 50 == 0] = HIGHWAY_CODE["trunk"]
        return cls

    # horizontal segments along row i: (i, j) -> (i, j+1); vertical along column j
    hu = (ii[:, :-1] * side + jj[:, :-1]).ravel()
    hv = hu + 1
    hcls = line_class(ii[:, :-1].ravel())
    hway = ii[:, :-1].ravel().astype(np.int64)
    vu = (ii[:-1, :] * side + jj[:-1, :]).ravel()
    vv = vu + side
    vcls = line_class(jj[:-1, :].ravel())
    vway = side + jj[:-1, :].ravel().astype(np.int64)
    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    cls = np.concatenate([hcls, vcls])
    way = np.concatenate([hway, vway])
    residential = cls == HIGHWAY_CODE["residential"]
    keep = ~(residential & (rng.random(u.size) < 0.08))
    u, v, cls, way = u[keep], v[keep], cls[keep], way[keep]
    residential = cls == HIGHWAY_CODE["residential"]
    direction = np.full(u.size, BOTH, dtype=np.int8)
    oneway = residential & (rng.random(u.size) < 0.10)
    flip = oneway & (rng.random(u.size) < 0.5)
    u2 = np.where(flip, v, u)
    v2 = np.where(flip, u, v)
    direction[oneway] = FWD
    speed_by_code = np.array([SPEED_KMH[h] for h in SPEED_KMH], dtype=np.float64)
    n_p = u2.size
    shape_ptr = np.arange(0, 2 * n_p + 1, 2, dtype=np.int64)
    shape_lon = np.empty(2 * n_p)
    shape_lat = np.empty(2 * n_p)
    shape_lon[0::2], shape_lon[1::2] = node_lon[u2], node_lon[v2]
    shape_lat[0::2], shape_lat[1::2] = node_lat[u2], node_lat[v2]
    # pieces sorted by way then position so that the map layer can merge them
    order = np.lexsort((np.minimum(u2, v2), way))
    shape_idx = np.column_stack([2 * order, 2 * order + 1]).ravel()
    return PieceTable(
        node_lon=node_lon.astype(np.float64),
        node_lat=node_lat.astype(np.float64),
        node_osm=nid.astype(np.int64),
        piece_u=u2[order].astype(np.int32),
        piece_v=v2[order].astype(np.int32),
        piece_dir=direction[order],
        piece_speed=speed_by_code[cls[order]],
        piece_highway=cls[order],
        piece_name=np.zeros(n_p, dtype=np.int32),
        piece_way=way[order],
        shape_ptr=shape_ptr,
        shape_lon=shape_lon[shape_idx],
        shape_lat=shape_lat[shape_idx],
        names=[""],
        ways_read=int(2 * side),
        drivable_ways=int(2 * side),
        source=f"synthetic grid {side}x{side}",
    )
