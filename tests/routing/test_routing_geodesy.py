"""The routing package's one great-circle distance: scalar form, array kernel, import cost."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from jingwu.routing import kernels
from jingwu.routing.geodesy import EARTH_RADIUS_M, haversine_m


def test_known_distances() -> None:
    assert haversine_m(104.0, 30.0, 104.0, 30.0) == 0.0
    assert haversine_m(104.0, 30.0, 104.0, 31.0) == pytest.approx(EARTH_RADIUS_M * math.pi / 180.0, rel=1e-12)
    assert haversine_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(EARTH_RADIUS_M * math.pi, rel=1e-12)
    assert haversine_m(103.9, 30.6, 104.1, 30.7) == pytest.approx(haversine_m(104.1, 30.7, 103.9, 30.6), rel=1e-15)


def test_scalar_matches_the_array_kernel() -> None:
    rng = np.random.default_rng(3)
    lon1, lon2 = rng.uniform(-180, 180, (2, 500))
    lat1, lat2 = rng.uniform(-90, 90, (2, 500))
    # short hops too, where the kernel is used (road segment lengths)
    lon2[:250] = lon1[:250] + rng.uniform(-1e-3, 1e-3, 250)
    lat2[:250] = np.clip(lat1[:250] + rng.uniform(-1e-3, 1e-3, 250), -90, 90)
    got = kernels.haversine_m(lon1, lat1, lon2, lat2)
    want = [haversine_m(*map(float, v)) for v in zip(lon1, lat1, lon2, lat2, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_importable_without_numpy_or_numba() -> None:
    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['numba'] = None;"
        "from jingwu.routing.geodesy import haversine_m; print(round(haversine_m(0, 0, 0, 1)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "111195"
