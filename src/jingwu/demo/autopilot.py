"""Demo autopilot: keeps the board alive from the first minute.

It feeds the generated call stream into intake, stands in for a dispatcher
when a call has waited too long (a human click always wins: it only dispatches
calls still open after ``auto_dispatch_after``), and drives simulated units (never a
unit with a human crew, nor a unit on an incident a person has touched, ADR 0018)
along the real roads through the status chain (签收, 出警, 到场, 处置完毕, 反馈),
sending positions as an AVL device would. Each unit moves on the road graph of its
own travel mode at that mode's speeds (a foot patrol walks along footways at 5 km/h). Everything goes through the same
services as real users, with the actor ``demo-autopilot`` in the audit log.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from jingwu.demo.generator import CallGenerator
from jingwu.dispatch.domain import UnitStatus
from jingwu.dispatch.services import assignments, intake, location, recommend
from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo
from jingwu.platform.container import Container
from jingwu.platform.domain import Principal, Role
from jingwu.platform.errors import AppError
from jingwu.platform.jobs import PeriodicJob

log = logging.getLogger("jingwu.demo")


@dataclass
class Trip:
    """A unit moving along a road route: coordinates with the time (s) at which each is reached."""

    coords: list[tuple[float, float]]
    times: list[float]
    start: datetime
    purpose: str  # "incident" or "patrol"

    def position(self, now: datetime) -> tuple[tuple[float, float], bool]:
        t = (now - self.start).total_seconds()
        if t >= self.times[-1]:
            return self.coords[-1], True
        i = max(bisect.bisect_right(self.times, t) - 1, 0)
        t0, t1 = self.times[i], self.times[i + 1]
        f = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
        (x0, y0), (x1, y1) = self.coords[i], self.coords[i + 1]
        return (x0 + f * (x1 - x0), y0 + f * (y1 - y0)), False


@dataclass
class UnitSim:
    trip: Trip | None = None
    next_action: datetime | None = None
    scene_until: datetime | None = None


@dataclass
class Autopilot:
    c: Container
    calls_per_hour: float = 60.0
    auto_dispatch_after: timedelta = timedelta(seconds=45)
    tick: float = 2.0
    seed: int = 110
    # the stream opens with a few calls in its first minute, so a fresh demo board is never empty;
    # after them the gaps follow the generator's hourly profile
    opening_calls: int = 6
    opening_gap: timedelta = timedelta(seconds=10)
    sims: dict[str, UnitSim] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._principal: Principal | None = None
        self._gen: CallGenerator | None = None
        self._next_call: datetime | None = None
        self._opened = 0

    # ------------------------------------------------------------- setup
    def principal(self) -> Principal:
        if self._principal is None:
            with self.c.uow() as uow:
                roots = [a for a in uow.agencies.in_subtree("/") if a.parent_id is None]
            root = roots[0]
            self._principal = Principal("demo-autopilot", "demo-autopilot", root.id, root.path,
                                        frozenset({Role.DISPATCHER, Role.CALL_TAKER, Role.PATROL_OFFICER}))
        return self._principal

    def generator(self) -> CallGenerator:
        if self._gen is None:
            g = geo(self.c).graph
            nodes = np.asarray(g.node_coords())
            pick = nodes[np.random.default_rng(self.seed).choice(len(nodes), size=min(3000, len(nodes)),
                                                                  replace=False)]
            self._gen = CallGenerator(catalogue(self.c).types, [(float(p[0]), float(p[1])) for p in pick],
                                      calls_per_hour=self.calls_per_hour, tz=catalogue(self.c).timezone,
                                      seed=self.seed)
        return self._gen

    # ------------------------------------------------------------- one step
    def step(self) -> None:
        now = self.c.clock.now()
        self._calls(now)
        self._auto_dispatch(now)
        self._units(now)

    def _calls(self, now: datetime) -> None:
        gen = self.generator()
        if self._next_call is None:
            self._next_call = now
        while self._next_call <= now:
            call = gen.call(self._next_call)
            try:
                intake.receive_call(intake.ReceiveCall(
                    channel="phone", type_code=call.type_code, lon=call.lon, lat=call.lat,
                    accuracy_m=float(self.rng.choice([10, 25, 50, 150])), summary=call.summary,
                    caller_name=call.caller_name, caller_phone=call.caller_phone, flags=call.flags,
                    address=call.hot_spot), uow=dispatch_uow(self.c), geo=geo(self.c), cat=catalogue(self.c),
                    actor="demo-autopilot", actor_agency_id=None)
            except AppError as exc:  # e.g. a hot-spot point off the network: skip it
                log.debug("generated call refused: %s", exc.message)
            self._opened += 1
            gap = self.opening_gap if self._opened < self.opening_calls else gen.next_gap(self._next_call)
            self._next_call = self._next_call + gap

    def _auto_dispatch(self, now: datetime) -> None:
        p = self.principal()
        with dispatch_uow(self.c) as uow:
            waiting = [i for i in uow.incidents.search(path="/", statuses=("open",), limit=50)
                       if now - i.received_at > self.auto_dispatch_after and i.snapped_lon is not None
                       and i.human_touched_at is None]  # a call a person has touched is theirs (ADR 0018)
            crewed = uow.crews.all_crewed(now)
        for inc in waiting:
            try:
                _i, need, _r, recs = recommend.recommend(p, inc.id, uow=dispatch_uow(self.c), geo=geo(self.c),
                                                        cat=catalogue(self.c), limit=10)
                wanted = max(1, min(2, sum(need.values())))
                free = [r for r in recs if r.unit.status == "available" and r.unit.id not in crewed]
                chosen = [r for r in free if r.matches_run_card][:wanted] or free[:1]
                for r in chosen:
                    assignments.dispatch_unit(p, inc.id, r.unit.id, uow=dispatch_uow(self.c),
                                           eta_seconds=r.eta_seconds)
            except AppError as exc:
                log.debug("autopilot dispatch skipped: %s", exc.message)

    def _route(self, lon: float, lat: float, tlon: float, tlat: float, mode: str = "car") -> Trip | None:
        g = geo(self.c)
        a, b = g.snap_cached(lon, lat, mode), g.snap_cached(tlon, tlat, mode)
        if a is None or b is None:
            return None
        try:
            r = g.graph_for(mode).route(a, b)
        except Exception:
            return None
        coords = [(float(xy[0]), float(xy[1])) for xy in r.geometry["coordinates"]]
        if len(coords) < 2 or r.seconds <= 0:
            return None
        # spread the route time along the geometry in proportion to distance
        d = [0.0]
        for (x0, y0), (x1, y1) in itertools.pairwise(coords):
            d.append(d[-1] + ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
        total = d[-1] or 1.0
        return Trip(coords, [r.seconds * x / total for x in d], self.c.clock.now(), "incident")

    def _units(self, now: datetime) -> None:
        p = self.principal()
        with dispatch_uow(self.c) as uow:
            units = uow.units.in_subtree("/")
            incs = {i.id: i for i in uow.incidents.search(path="/", statuses=("dispatched", "on_scene"), limit=500)}
            crewed = uow.crews.all_crewed(now)
        touched = {i.id for i in incs.values() if i.human_touched_at is not None}
        positions: list[tuple[str, float, float, datetime]] = []
        for u in units:
            if u.id in crewed or (u.incident_id is not None and u.incident_id in touched):
                self.sims.pop(u.id, None)  # a person drives this unit or works its incident (ADR 0018)
                continue
            sim = self.sims.setdefault(u.id, UnitSim())
            st = UnitStatus(u.status)
            try:
                if st == UnitStatus.DISPATCHED:
                    if sim.next_action is None:
                        sim.next_action = now + timedelta(seconds=self.rng.uniform(5, 20))
                    elif now >= sim.next_action:
                        assignments.report_status(p, u.id, "acknowledged", uow=dispatch_uow(self.c))
                        sim.next_action = now + timedelta(seconds=self.rng.uniform(3, 10))
                elif st == UnitStatus.ACKNOWLEDGED and sim.next_action and now >= sim.next_action:
                    inc = incs.get(u.incident_id or "")
                    if inc is not None and u.lon is not None and u.lat is not None and inc.snapped_lon is not None:
                        sim.trip = self._route(u.lon, u.lat, inc.snapped_lon, inc.snapped_lat or 0.0,
                                               recommend.unit_travel_mode(u))
                    assignments.report_status(p, u.id, "en_route", uow=dispatch_uow(self.c))
                    sim.next_action = None
                elif st == UnitStatus.EN_ROUTE:
                    done = True
                    if sim.trip is not None:
                        (x, y), done = sim.trip.position(now)
                        positions.append((u.id, x, y, now))
                    if done:
                        assignments.report_status(p, u.id, "on_scene", uow=dispatch_uow(self.c))
                        sim.trip = None
                        sim.scene_until = now + timedelta(minutes=self.rng.uniform(2, 6))
                elif st == UnitStatus.ON_SCENE:
                    if u.lon is not None and u.lat is not None:
                        positions.append((u.id, u.lon, u.lat, now))  # keeps in contact
                    if sim.scene_until is None:
                        sim.scene_until = now + timedelta(minutes=self.rng.uniform(2, 6))
                    if now >= sim.scene_until:
                        assignments.report_status(p, u.id, "cleared", uow=dispatch_uow(self.c))
                        sim.scene_until = None
                        sim.next_action = now + timedelta(seconds=self.rng.uniform(10, 30))
                elif st == UnitStatus.CLEARED and sim.next_action and now >= sim.next_action:
                    assignments.give_feedback(p, u.id, "[演示] 已处置完毕", uow=dispatch_uow(self.c),
                                           cat=catalogue(self.c))
                    sim.next_action = None
                elif st == UnitStatus.AVAILABLE:
                    sim.next_action = None
                    if sim.trip is None and self.rng.random() < 0.02 and u.kind != "fire_engine":
                        lon = u.home_lon + self.rng.gauss(0, 0.006)
                        lat = u.home_lat + self.rng.gauss(0, 0.005)
                        if u.lon is not None and u.lat is not None:
                            trip = self._route(u.lon, u.lat, lon, lat, recommend.unit_travel_mode(u))
                            if trip is not None:
                                trip.times = [t * 1.6 for t in trip.times]  # patrol pace
                                trip.purpose = "patrol"
                                sim.trip = trip
                    if sim.trip is not None:
                        (x, y), done = sim.trip.position(now)
                        positions.append((u.id, x, y, now))
                        if done:
                            sim.trip = None
            except AppError as exc:
                log.debug("autopilot unit step skipped: %s", exc.message)
                sim.next_action = None
        if positions:
            location.post_positions_bulk(positions, uow=dispatch_uow(self.c), announce=True)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._job = PeriodicJob("demo.autopilot", self.step, self.tick)
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()

