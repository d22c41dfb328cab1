"""The event simulation on a synthetic city: deterministic for a seed, the policies differ in the expected
direction, utilisation in [0, 1], shifts honoured, bad input refused before any work."""

from __future__ import annotations

import numpy as np
import pytest

from jingwu.platform.errors import InvalidInput
from jingwu.routing.graph import RoadGraph
from jingwu.simulation import engine, generator
from jingwu.simulation.domain import SimParams, parse_mix, parse_policies, parse_shares
from jingwu.simulation.services import spread_posts


def _run(city: dict[str, RoadGraph], **kw: object) -> dict:
    base: dict[str, object] = {"days": 4, "calls_per_day": 80, "units": 12, "seed": 1, "target_s": 240,
                               "policies": ("nearest", "fastest", "coverage"), "mix": {"car": 2, "foot": 1}}
    base.update(kw)
    p = SimParams(**base).check()  # type: ignore[arg-type]
    calls = generator.generate(p, city["car"].node_lon, city["car"].node_lat)
    return engine.run(city, spread_posts(city["car"], p.units), p, calls)


def _strip(res: dict) -> dict:
    return {**res, "prepare_seconds": 0, "results": [{**r, "seconds": 0} for r in res["results"]]}


def test_same_seed_same_result_other_seed_other(city):
    a, b, c = _run(city), _run(city), _run(city, seed=2)
    assert _strip(a) == _strip(b)
    assert a["calls"] != c["calls"] or a["results"][0]["response_mean_s"] != c["results"][0]["response_mean_s"]


def test_policies_differ_in_the_expected_direction(city):
    by = {r["policy"]: r for r in _run(city)["results"]}
    nearest, fastest, coverage = by["nearest"], by["fastest"], by["coverage"]
    # straight-line nearest sends a foot patrol that is close as the crow flies but slow on the roads
    assert fastest["response_mean_s"] < nearest["response_mean_s"]
    assert fastest["response_p90_s"] < nearest["response_p90_s"]
    assert fastest["travel_mean_s"] < nearest["travel_mean_s"]
    # the coverage-aware rule keeps more demand covered than fastest-only, at a travel cost below the tolerance
    assert coverage["uncovered_mean_share"] < fastest["uncovered_mean_share"]
    assert coverage["travel_mean_s"] <= fastest["travel_mean_s"] + 60
    for r in by.values():
        assert r["served"] + r["unreachable"] == r["calls"]


@pytest.mark.parametrize("load", [20, 80, 600])
def test_utilisation_within_unit_interval_even_overloaded(city, load):
    res = _run(city, calls_per_day=load, shifts=parse_shares("0-6:0.5,20-24:0.75"))
    for r in res["results"]:
        u = np.asarray(r["utilisation"])
        assert u.shape == (12,)
        assert (u >= 0).all() and (u <= 1).all()
        assert 0 <= r["uncovered_mean_share"] <= 1
        assert sum(r["jobs"]) == r["served"]
    if load == 600:  # more work than units: queues form and units are nearly always busy
        assert res["results"][1]["queued_share"] > 0.3
        assert res["results"][1]["utilisation_mean"] > 0.8


def test_shifts_take_units_off_duty(city):
    res = _run(city, calls_per_day=60, shifts=parse_shares("0-6:0.25"), policies=("fastest",))
    r = res["results"][0]
    assert r["on_duty_by_hour_of_day"][:6] == [3] * 6  # round(0.25 × 12)
    assert r["on_duty_by_hour_of_day"][6:] == [12] * 18
    # fewer units at night leave more demand uncovered then
    hod = r["uncovered_by_hour_of_day"]
    assert np.mean(hod[:6]) > np.mean(hod[8:20])


def test_units_off_duty_all_day_are_never_sent(city):
    # 12 units, half on duty all the time: units 6..11 never work
    res = _run(city, calls_per_day=60, shifts=parse_shares("0-24:0.5"), policies=("fastest",))
    r = res["results"][0]
    assert r["jobs"][6:] == [0] * 6 and sum(r["jobs"][:6]) == r["served"] > 0
    assert r["utilisation"][6:] == [0.0] * 6


def test_mode_mix_apportioned():
    p = SimParams(units=7, mix={"car": 3, "foot": 1})
    assert p.unit_modes() == ["car"] * 5 + ["foot"] * 2


@pytest.mark.parametrize(("kw", "code"), [
    ({"units": 0}, "no_units"),
    ({"target_s": 0}, "invalid_target"),
    ({"target_s": float("nan")}, "invalid_target"),
    ({"policies": ("best",)}, "unknown_policy"),
    ({"policies": ()}, "unknown_policy"),
    ({"days": 0}, "invalid_days"),
    ({"calls_per_day": 0}, "invalid_calls"),
    ({"shifts": (0.0,) * 24}, "no_units"),
    ({"mix": {"boat": 1.0}}, "invalid_mix"),
    ({"mix": {"car": 0.0}}, "invalid_mix"),
])
def test_bad_input_refused(kw, code):
    with pytest.raises(InvalidInput) as e:
        SimParams(**kw).check()  # type: ignore[arg-type]
    assert e.value.code == code


def test_parsers():
    assert parse_policies("all") == ("nearest", "fastest", "coverage")
    assert parse_policies("fastest, coverage") == ("fastest", "coverage")
    s = parse_shares("0-7:0.6,22-24:0.8")
    assert s[0] == s[6] == 0.6 and s[7] == 1.0 and s[23] == 0.8
    assert parse_mix("car=3,foot=1") == {"car": 3.0, "foot": 1.0}
    for bad in ("0-25:1", "7:1", "3-2:0.5", "0-3:1.5"):
        with pytest.raises(InvalidInput) as e:
            parse_shares(bad)
        assert e.value.code == "invalid_shifts"
    with pytest.raises(InvalidInput):
        parse_mix("car")


def test_post_off_network_refused(city):
    p = SimParams(days=1, calls_per_day=20, units=2, policies=("fastest",)).check()
    calls = generator.generate(p, city["car"].node_lon, city["car"].node_lat)
    with pytest.raises(InvalidInput) as e:
        engine.run(city, [(0.0, 0.0), (0.0, 0.0)], p, calls)
    assert e.value.code == "post_off_network"


def test_generator_follows_the_hourly_profile(city):
    from jingwu.contracts.call_model import HOURLY_PROFILE

    p = SimParams(days=60, calls_per_day=500)
    calls = generator.generate(p, city["car"].node_lon, city["car"].node_lat)
    assert np.all(np.diff(calls.t) >= 0) and calls.t[-1] < 60 * 86400
    by_hour = np.bincount((calls.t // 3600 % 24).astype(int), minlength=24) / 60
    expected = 500 / 24 * np.asarray(HOURLY_PROFILE)
    assert np.all(np.abs(by_hour - expected) < 5 * np.sqrt(expected / 60) + 1)
    assert (calls.service_s > 0).all()


def test_report_is_one_safe_html_file(city):
    from jingwu.simulation import report

    res = _run(city, days=1, policies=("fastest",))
    res["calls_source"] = "</script><script>alert(1)</script>.csv"
    html = report.render(res, lang="en")
    assert html.count("</script>") == html.count("<script")  # the name cannot close a block early
    assert "alert(1)</script>" not in html
    assert '<html lang="en">' in html and "Dispatch simulation report" in html
