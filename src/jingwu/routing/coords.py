"""Coordinate conversion between WGS84 (OSM, GPS), GCJ-02 (Amap, Tencent) and BD-09 (Baidu).

Jingwu stores and computes in WGS84; Chinese map sources publish GCJ-02 or
BD-09, so conversion happens at the edges. The forward transforms are the
published public algorithms (same constants as the widely used
``eviltransform`` library); the inverses are computed by fixed-point
iteration until the forward transform reproduces the input to ~1e-10°, so a
round trip is exact to well under a millimetre. Outside mainland China (the
customary rough rectangle) GCJ-02 equals WGS84.

All functions take and return ``(lon, lat)`` in degrees.
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lon: float, lat: float) -> bool:
    """The customary rough rectangle outside which GCJ-02 applies no offset."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: float, lat: float) -> tuple[float, float]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 (identity outside China)."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, tol: float = 1e-10, max_iter: int = 30) -> tuple[float, float]:
    """GCJ-02 → WGS84 by fixed-point iteration of the forward transform (exact to ``tol`` degrees)."""
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(max_iter):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < tol and abs(elat) < tol:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 (Baidu's published transform)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float, tol: float = 1e-10, max_iter: int = 30) -> tuple[float, float]:
    """BD-09 → GCJ-02 by fixed-point iteration of :func:`gcj02_to_bd09`."""
    glon, glat = lon - 0.0065, lat - 0.006
    for _ in range(max_iter):
        blon, blat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - lon, blat - lat
        glon, glat = glon - elon, glat - elat
        if abs(elon) < tol and abs(elat) < tol:
            break
    return glon, glat


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 → WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
