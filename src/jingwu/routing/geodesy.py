"""Geodesy of the routing package: the Earth radius and the scalar great-circle distance.

Standard library only (no numpy, no numba), so any package can import it
cheaply. The element-wise (numba) form for whole arrays of points is
:func:`jingwu.routing.kernels.haversine_m`; both use :data:`EARTH_RADIUS_M`.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius in metres (IUGG), used by every distance in routing."""


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points given in degrees."""
    f = math.pi / 180.0
    p1, p2 = lat1 * f, lat2 * f
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * f / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
