"""GCJ-02 ("Mars coordinates"), the obfuscated datum of Chinese web maps, and its inverse.

Coordinates copied from Chinese web maps (Amap/Gaode, Tencent, the Google map of
China) are GCJ-02: WGS84 shifted by a published, smooth, position-dependent
offset of a few hundred metres. OpenStreetMap and the road graph are WGS84, so
a station list in GCJ-02 sits beside its roads. ``jingwu setup`` uses these
functions to detect such a point set (docs/methods/coordinates.md gives the
formulas and the detection rule). Vectorised with numpy; points outside China's
bounding box are returned unchanged, as every public implementation does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

A = 6378245.0  # semi-major axis of Krasovsky 1940, as used by the published formula
EE = 0.00669342162296594323  # first eccentricity squared of that ellipsoid

Arr = np.ndarray[Any, np.dtype[np.float64]]


def out_of_china(lon: Arr | float, lat: Arr | float) -> Arr:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return np.asarray(~((lon_a >= 72.004) & (lon_a <= 137.8347) & (lat_a >= 0.8293) & (lat_a <= 55.8271)))


def _dlat(x: Arr, y: Arr) -> Arr:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlon(x: Arr, y: Arr) -> Arr:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def _offset(lon: Arr, lat: Arr) -> tuple[Arr, Arr]:
    """The GCJ-02 offset (degrees of longitude, latitude) at a WGS84 point."""
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (A / sq * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: Arr | float, lat: Arr | float) -> tuple[Arr, Arr]:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: Arr | float, lat: Arr | float, tol_deg: float = 1e-9) -> tuple[Arr, Arr]:
    """The WGS84 point whose GCJ-02 image is the given point, by fixed-point iteration (the offset
    changes slowly, so each step gains several digits; 1e-9° ≈ 0.1 mm)."""
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(30):
        c_lon, c_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = c_lon - g_lon, c_lat - g_lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if float(np.max(np.abs(e_lon), initial=0.0)) < tol_deg and float(np.max(np.abs(e_lat), initial=0.0)) < tol_deg:
            break
    return w_lon, w_lat
