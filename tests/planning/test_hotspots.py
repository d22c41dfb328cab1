"""Hot spots: Gi* z-values against PySAL esda on the same weights, the BH correction against SciPy, the
kernel density's mass, the hour-of-week window and the refusals."""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from jingwu.planning.hotspots import (
    Incident,
    band_weights,
    benjamini_hochberg,
    gi_star,
    hotspots,
    parse_window,
    quartic_kde,
)
from jingwu.platform.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")


def _incidents(seed: int = 1) -> list[Incident]:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 2, tzinfo=TZ)  # a Monday
    out = []
    for _ in range(600):  # background over ~4 × 4 km
        out.append(Incident(113.90 + rng.uniform(0, 0.04), 22.50 + rng.uniform(0, 0.036),
                            start + timedelta(hours=float(rng.uniform(0, 24 * 28)))))
    for _ in range(150):  # a Friday-night cluster around one corner
        day = int(rng.integers(0, 4)) * 7 + 4
        out.append(Incident(113.93 + rng.normal(0, 0.001), 22.52 + rng.normal(0, 0.001),
                            start + timedelta(days=day, hours=20 + float(rng.uniform(0, 3)))))
    return out


def test_gi_star_agrees_with_esda_on_the_same_weights() -> None:
    libpysal = pytest.importorskip("libpysal")
    esda = pytest.importorskip("esda")
    res = hotspots(_incidents(), TZ, cell_m=300)
    counts = np.array([c["count"] for c in res.cells], dtype=float)
    gx = np.array([c["col"] for c in res.cells], dtype=float) * 300
    gy = np.array([c["row"] for c in res.cells], dtype=float) * 300
    w = band_weights(gx, gy, res.band_m)
    ours = gi_star(counts, w)
    assert np.allclose(ours, [c["gi_z"] for c in res.cells], atol=1e-6)
    pw = libpysal.weights.WSP(w).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(counts, pw, transform="B", star=True, permutations=0)
    assert np.allclose(ours, g.Zs, rtol=1e-9, atol=1e-9)
    # and on a second, wider band (the 24 nearest cells)
    w2 = band_weights(gx, gy, 2.9 * 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g2 = esda.G_Local(counts, libpysal.weights.WSP(w2).to_W(silence_warnings=True), transform="B", star=True,
                          permutations=0)
    assert np.allclose(gi_star(counts, w2), g2.Zs, rtol=1e-9, atol=1e-9)


def test_bh_matches_scipy() -> None:
    p = np.random.default_rng(3).uniform(0, 0.2, 500) ** 2
    assert np.allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))


def test_the_cluster_is_hot_only_in_its_hours() -> None:
    incidents = _incidents()
    fri_night = hotspots(incidents, TZ, window=parse_window("fri", "20-22"), cell_m=250)
    hot = [c for c in fri_night.cells if c["class"] == "hot"]
    assert hot and all(abs(c["lon"] - 113.93) < 0.006 and abs(c["lat"] - 22.52) < 0.006 for c in hot)
    assert max(hot, key=lambda c: c["gi_z"])["confidence"] == 99
    assert sum(fri_night.hour_counts) == len(incidents)
    assert fri_night.window == [4 * 24 + 20, 4 * 24 + 21, 4 * 24 + 22]
    mornings = hotspots(incidents, TZ, window=parse_window("mon-thu", "6-10"), cell_m=250)
    assert not any(c["class"] == "hot" and abs(c["lon"] - 113.93) < 0.002 and abs(c["lat"] - 22.52) < 0.002
                   for c in mornings.cells)
    gj = fri_night.geojson(only_significant=True)
    assert gj["features"] and all(f["properties"]["class"] != "none" for f in gj["features"])
    assert gj["features"][0]["geometry"]["type"] == "Polygon"


def test_kde_integrates_to_the_number_of_points() -> None:
    rng = np.random.default_rng(5)
    px, py = rng.normal(0, 300, 200), rng.normal(0, 300, 200)
    xs = np.arange(-3000, 3000, 20.0)
    gx, gy = np.meshgrid(xs, xs)
    dens = quartic_kde(px, py, gx.ravel() + 10, gy.ravel() + 10, 400.0)
    assert dens.sum() * 20 * 20 == pytest.approx(200, rel=0.01)


def test_windows_and_refusals() -> None:
    assert parse_window("sat-mon", "22-1").sum() == 3 * 4
    assert parse_window(None, None).all()
    with pytest.raises(InvalidInput) as exc:
        parse_window("fri", "25")
    assert exc.value.code == "invalid_window"
    with pytest.raises(InvalidInput) as exc:
        hotspots(_incidents()[:2], TZ)
    assert exc.value.code == "too_few"
    with pytest.raises(InvalidInput) as exc:
        hotspots(_incidents(), TZ, cell_m=0)
    assert exc.value.code == "invalid_cell"
    with pytest.raises(InvalidInput) as exc:
        hotspots(_incidents(), TZ, cell_m=100, bandwidth_m=-1)
    assert exc.value.code == "invalid_bandwidth"


def test_z_is_zero_where_there_is_no_variance() -> None:
    w = band_weights(np.arange(4.0), np.zeros(4), 1.5)
    assert (gi_star(np.ones(4), w) == 0).all()
    z = gi_star(np.array([0, 0, 0, 9.0]), w)
    assert z[3] > 0 > z[0] and math.isfinite(float(z[1]))


def test_odd_input_is_refused_not_crashed() -> None:
    from jingwu.planning.inputs import read_incidents

    with pytest.raises(InvalidInput) as exc:
        parse_window("all", "²")
    assert exc.value.code == "invalid_window"
    with pytest.raises(InvalidInput) as exc:
        read_incidents("time,lon,lat\n0001-01-01T00:00:00+05:00,113.9,22.5\n", "Asia/Shanghai")
    assert exc.value.code == "invalid_time"
    with pytest.raises(InvalidInput) as exc:
        hotspots(_incidents(), TZ, cell_m=100, band_m=1e9)
    assert exc.value.code == "invalid_band"
