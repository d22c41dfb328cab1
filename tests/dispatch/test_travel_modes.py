"""Each unit is ranked, routed and moved on its own travel mode's road graph (Chengdu demo city): a foot
patrol walks at 5 km/h on the foot network, a patrol car drives the car network, and the recommendation
ranks them by those ETAs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.demo.autopilot import Autopilot
from jingwu.dispatch.services import location
from jingwu.dispatch.wiring import dispatch_uow, geo
from jingwu.platform.container import Container
from jingwu.platform.domain import travel_mode_of
from jingwu.routing.domain import Metric
from jingwu.routing.graph import RoadGraph
from jingwu.routing.profiles import FOOT_KMH
from support import both_databases, login

CENTRE = (104.0657, 30.6598)
FOOT_MS = FOOT_KMH / 3.6


def test_travel_mode_of_defaults_by_kind() -> None:
    assert travel_mode_of("foot_patrol", None) == "foot"
    assert travel_mode_of("motorbike", None) == "motorbike"
    assert travel_mode_of("patrol_car", None) == "car"
    assert travel_mode_of("fire_engine", None) == "car"
    assert travel_mode_of("patrol_car", "bicycle") == "bicycle"


def _node_at_distance(g: RoadGraph, target_lonlat: tuple[float, float], metres: float) -> tuple[float, float]:
    """A graph node whose shortest distance *to* the target on ``g`` is closest to ``metres``."""
    target = g.snap(*target_lonlat)
    snaps = [g.snap(float(x), float(y), 1.0) for x, y in zip(g.node_lon, g.node_lat, strict=True)]
    d = g.many_to_one(snaps, target, Metric.DISTANCE)
    i = int(np.argmin(np.abs(np.where(np.isfinite(d), d, 1e12) - metres)))
    assert abs(float(d[i]) - metres) < 0.25 * metres
    return float(g.node_lon[i]), float(g.node_lat[i])


def _setup(api: TestClient, city: Any) -> tuple[Container, dict[str, str], str, tuple[float, float], str, str]:
    c: Container = city[0]
    h = login(api, "dispatcher", city[1]["dispatcher"])
    body = {"channel": "phone", "type_code": "021100", "lon": CENTRE[0], "lat": CENTRE[1], "accuracy_m": 20}
    r = api.post("/api/v1/calls", json=body, headers=h)
    assert r.status_code == 201, r.text
    inc_id = r.json()["incident_id"]
    with dispatch_uow(c) as uow:
        inc = uow.incidents.get(inc_id)
        units = uow.units.in_subtree("/")
    assert inc is not None and inc.snapped_lon is not None and inc.snapped_lat is not None
    foot_unit = next(u.id for u in units if u.kind == "foot_patrol" and u.status == "available")
    car_unit = next(u.id for u in units if u.kind == "patrol_car" and u.status == "available")
    return c, h, inc_id, (inc.snapped_lon, inc.snapped_lat), foot_unit, car_unit


def _ranked(api: TestClient, h: dict[str, str], inc_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/incidents/{inc_id}/recommendations?limit=100", headers=h)
    assert r.status_code == 200, r.text
    return r.json()["units"]  # type: ignore[no-any-return]


def _expected_eta(g: RoadGraph, at: tuple[float, float], target: tuple[float, float]) -> float:
    return float(g.many_to_one([g.snap(*at, 5000.0)], g.snap(*target), Metric.TIME)[0])


@both_databases
def test_foot_patrol_beats_a_far_car_only_when_its_walk_is_shorter(api: TestClient, city: Any) -> None:
    c, h, inc_id, target, foot_unit, car_unit = _setup(api, city)
    gs = geo(c)
    foot, car = gs.graph_for("foot"), gs.graph_for("car")
    assert foot is not car and foot.mode == "foot" and car.mode == "car"
    car_at = _node_at_distance(car, target, 5000.0)
    for walk_m in (300.0, 3000.0):
        foot_at = _node_at_distance(foot, target, walk_m)
        location.post_positions_bulk([(foot_unit, *foot_at, c.clock.now()), (car_unit, *car_at, c.clock.now())],
                                     uow=dispatch_uow(c))
        want_foot = _expected_eta(foot, foot_at, target)
        want_car = _expected_eta(car, car_at, target)
        # walking time is the walking distance at 5 km/h, whatever the roads' car speeds
        walk = float(foot.many_to_one([foot.snap(*foot_at, 5000.0)], foot.snap(*target), Metric.DISTANCE)[0])
        assert want_foot == pytest.approx(walk / FOOT_MS, rel=1e-9)
        units = _ranked(api, h, inc_id)
        ids = [u["unit_id"] for u in units]
        f, k = units[ids.index(foot_unit)], units[ids.index(car_unit)]
        assert f["travel_mode"] == "foot" and k["travel_mode"] == "car"
        assert f["eta_seconds"] == pytest.approx(want_foot, rel=1e-9)
        assert k["eta_seconds"] == pytest.approx(want_car, rel=1e-9)
        assert f["reasons"][0].startswith("foot ETA ") and k["reasons"][0].startswith("car ETA ")
        assert f["matches_run_card"] and k["matches_run_card"]  # 0211: a car and a foot patrol
        if walk_m == 300.0:
            assert want_foot < want_car and ids.index(foot_unit) < ids.index(car_unit)
        else:  # 3 km on foot (~36 min) is slower than 5 km by car
            assert want_car < want_foot and ids.index(car_unit) < ids.index(foot_unit)


@both_databases
def test_motorbike_eta_is_on_the_motorbike_graph(api: TestClient, city: Any) -> None:
    c, h, inc_id, target, _foot, _car = _setup(api, city)
    with dispatch_uow(c) as uow:
        moto = next(u for u in uow.units.in_subtree("/") if u.kind == "motorbike" and u.status == "available")
    units = _ranked(api, h, inc_id)
    m = next(u for u in units if u["unit_id"] == moto.id)
    assert m["travel_mode"] == "motorbike" and m["reasons"][0].startswith("motorbike ETA ")
    assert moto.lon is not None and moto.lat is not None
    want = _expected_eta(geo(c).graph_for("motorbike"), (moto.lon, moto.lat), target)
    assert m["eta_seconds"] == pytest.approx(want, rel=1e-9)


@both_databases
def test_unit_route_and_autopilot_walk_at_foot_speed(api: TestClient, city: Any) -> None:
    c, h, inc_id, target, foot_unit, _car = _setup(api, city)
    foot = geo(c).graph_for("foot")
    foot_at = _node_at_distance(foot, target, 800.0)
    location.post_positions_bulk([(foot_unit, *foot_at, c.clock.now())], uow=dispatch_uow(c))
    r = api.get(f"/api/v1/incidents/{inc_id}/route?unit_id={foot_unit}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["travel_mode"] == "foot"
    assert body["seconds"] == pytest.approx(body["meters"] / FOOT_MS, rel=1e-9)
    want = foot.route(foot.snap(*foot_at), foot.snap(*target))
    assert body["meters"] == pytest.approx(want.meters, rel=1e-9)
    # dispatched, the demo autopilot walks it there: its trip lasts the walking time
    ok = api.post(f"/api/v1/incidents/{inc_id}/dispatch", json={"unit_id": foot_unit}, headers=h)
    assert ok.status_code in (200, 201), ok.text
    with c.engine.begin() as conn:  # as for a generated call: the autopilot leaves calls a person touched (ADR 0018)
        conn.execute(text("UPDATE incidents SET human_touched_at = NULL WHERE id = :i"), {"i": inc_id})
    ap = Autopilot(c, seed=3)  # only its unit simulation runs here: no generated calls
    for _ in range(60):
        c.clock.advance(seconds=2)
        ap._units(c.clock.now())
        sim = ap.sims.get(foot_unit)
        if sim is not None and sim.trip is not None:
            break
    sim = ap.sims[foot_unit]
    assert sim.trip is not None
    walk = foot.route(foot.snap(*foot_at, 5000.0), foot.snap(*target, 5000.0))
    assert sim.trip.times[-1] == pytest.approx(walk.seconds, rel=1e-9)
    assert walk.seconds == pytest.approx(walk.meters / FOOT_MS, rel=1e-9)
