"""WGS84 ↔ GCJ-02 ↔ BD-09 against published reference points (eviltransform test vectors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jingwu.routing.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs lon, wgs lat) -> (gcj lon, gcj lat): googollee/eviltransform test vectors (Shanghai, Shenzhen, Beijing)
GCJ_VECTORS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]
# wandergis/coordtransform README and test/app.js fixture, input (116.404, 39.915)
FIXTURE = (116.404, 39.915)
CT_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
CT_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
CT_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)  # one-step approximate inverse
CT_GCJ_TO_WGS = (116.39775550083061, 39.91359571849836)  # one-step approximate inverse


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_VECTORS)
def test_wgs_to_gcj_published(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-8)


def test_coordtransform_fixture() -> None:
    assert wgs84_to_gcj02(*FIXTURE) == pytest.approx(CT_WGS_TO_GCJ, abs=1e-12)
    assert gcj02_to_bd09(*FIXTURE) == pytest.approx(CT_GCJ_TO_BD, abs=1e-12)
    # our inverses iterate to the exact inverse; the published one-step inverses agree to ~1e-5°
    assert bd09_to_gcj02(*FIXTURE) == pytest.approx(CT_BD_TO_GCJ, abs=2e-5)
    assert gcj02_to_wgs84(*FIXTURE) == pytest.approx(CT_GCJ_TO_WGS, abs=2e-5)
    assert gcj02_to_bd09(*bd09_to_gcj02(*FIXTURE)) == pytest.approx(FIXTURE, abs=1e-9)
    assert wgs84_to_gcj02(*gcj02_to_wgs84(*FIXTURE)) == pytest.approx(FIXTURE, abs=1e-9)


def test_outside_china_is_identity() -> None:
    assert out_of_china(-122.3, 47.6)
    assert wgs84_to_gcj02(-122.3, 47.6) == (-122.3, 47.6)
    assert gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)


def test_offset_magnitude_in_chengdu() -> None:
    lon, lat = 104.0657, 30.6595  # Tianfu Square
    glon, glat = wgs84_to_gcj02(lon, lat)
    # GCJ-02 shifts Chengdu by a few hundred metres (≈ -0.0025° lat, +0.0025° lon)
    assert 0.001 < abs(glon - lon) < 0.006
    assert 0.001 < abs(glat - lat) < 0.006


@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trips(lon: float, lat: float) -> None:
    assert gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)
    assert bd09_to_gcj02(*gcj02_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)
    assert bd09_to_wgs84(*wgs84_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)
