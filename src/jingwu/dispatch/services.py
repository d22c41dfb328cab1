"""Dispatch use cases: receive a call (any channel), propose duplicates, merge
or split, recommend units by road ETA, dispatch race-safely, move a unit along
its status chain, take positions, share a location through a one-time link,
alarm devices, escalation, timers, the board snapshot and KPIs.

Each use case owns its transaction through the dispatch unit of work.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.dispatch.domain import (
    ACK_TIMEOUT,
    CONTACT_TIMEOUT,
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    LEVEL_ORDER,
    OPEN_STATUSES,
    STALE_POSITION,
    STATUS_TIMESTAMP,
    Channel,
    IncidentStatus,
    IntakeFlags,
    Level,
    RunCards,
    TypeTable,
    UnitStatus,
    UnitUnavailable,
    check_transition,
    compatible_categories,
    escalation_level,
    grade_priority,
    incident_number,
)
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.store import (
    AssignmentRow,
    DispatchUnitOfWork,
    IncidentRow,
    NearProbe,
)
from jingwu.platform.audit_store import AuditDraft
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError, Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from jingwu.platform.org_store import UnitRow
from jingwu.platform.tables import new_id

MAX_DUPLICATE_PROPOSALS = 3


@dataclass(frozen=True)
class Catalogue:
    """Configurable data the use cases interpret."""

    types: TypeTable
    run_cards: RunCards
    timezone: ZoneInfo


# ------------------------------------------------------------------ intake

@dataclass(frozen=True)
class ReceiveCall:
    channel: str
    type_code: str
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    address: str | None = None
    summary: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    flags: IntakeFlags = field(default_factory=IntakeFlags)
    idempotency_key: str | None = None
    device_id: str | None = None
    received_at: datetime | None = None

    def fingerprint(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k not in ("idempotency_key", "received_at")}
        body["flags"] = self.flags.__dict__
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class IntakeResult:
    incident_id: str
    number: str
    created: bool
    priority: int
    level: str
    agency_id: str
    town_id: str | None
    duplicates: list[dict[str, Any]]


def _meters(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class _Prepared:
    """A validated call, placed and graded, ready to store."""

    cmd: ReceiveCall
    fp: str | None  # request fingerprint, for calls with an idempotency key
    actor: str
    channel: str
    itype_code: str
    category: str
    priority: int
    level: str
    why: list[str]
    agency_id: str
    town_id: str | None
    snapped: tuple[float, float] | None


def _prepare(cmd: ReceiveCall, *, geo: Geo, cat: Catalogue, actor: str, actor_agency_id: str | None) -> _Prepared:
    """Validation, placement and grading: pure computation, before any transaction."""
    try:
        channel = Channel(cmd.channel)
    except ValueError:
        raise InvalidInput(f"Unknown channel '{cmd.channel}'; known: {[c.value for c in Channel]}.",
                           code="unknown_channel")
    itype = cat.types.get(cmd.type_code)
    if (cmd.lon is None) != (cmd.lat is None):
        raise InvalidInput("Give both lon and lat, or neither.", code="invalid_coordinate")
    if cmd.lon is None and not (cmd.address and cmd.address.strip()):
        raise InvalidInput("A call needs a location (lon, lat) or an address.", code="missing_location")
    snap = town = station = None
    if cmd.lon is not None and cmd.lat is not None:
        snap = geo.snap(cmd.lon, cmd.lat)
        town = geo.town_at(cmd.lon, cmd.lat)
        station = geo.station_at(cmd.lon, cmd.lat)
    priority, why = grade_priority(itype, cmd.flags)
    agency_id = station or actor_agency_id
    if agency_id is None:
        raise InvalidInput("No station serves this location.", code="outside_area")
    level, lwhy = escalation_level(priority=priority, category=itype.category, deaths=cmd.flags.deaths,
                                   injuries=cmd.flags.injuries, units_assigned=0, type_code=itype.code)
    fp = cmd.fingerprint() if cmd.idempotency_key else None
    return _Prepared(cmd, fp, actor, channel.value, itype.code, itype.category, priority,
                     level.value, why + lwhy, agency_id, town.id if town else None,
                     (snap.snapped_lon, snap.snapped_lat) if snap else None)


def receive_call(cmd: ReceiveCall, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue, actor: str,
                 actor_agency_id: str | None) -> IntakeResult:
    """Store a call as an incident. A returned result means it is committed (durable)."""
    r = receive_calls([(cmd, actor, actor_agency_id)], uow=uow, geo=geo, cat=cat)[0]
    if isinstance(r, Exception):
        raise r
    return r


def receive_calls(calls: list[tuple[ReceiveCall, str, str | None]], *, uow: DispatchUnitOfWork, geo: Geo,
                  cat: Catalogue) -> list[IntakeResult | AppError]:
    """Store several calls (call, actor, actor's agency) in ONE transaction: group commit.

    Each call gets its own answer in the same order: a result (committed when this returns) or the error
    that refused it; one refused call does not hold back the others. Idempotency keys are claimed in the
    same transaction; a key stored before (or by a concurrent writer) answers with the stored incident.
    """
    refused: dict[int, IntakeResult | AppError] = {}
    ready: list[tuple[int, _Prepared]] = []
    for i, (cmd, actor, agency) in enumerate(calls):
        try:
            ready.append((i, _prepare(cmd, geo=geo, cat=cat, actor=actor, actor_agency_id=agency)))
        except AppError as exc:
            refused[i] = exc
    answers = refused | _store_calls(ready, uow=uow)
    return [answers[i] for i in range(len(calls))]


def _store_calls(ready: list[tuple[int, _Prepared]], *, uow: DispatchUnitOfWork
                 ) -> dict[int, IntakeResult | AppError]:
    res: dict[int, IntakeResult | AppError] = {}
    if not ready:
        return res
    now = uow.clock.now()
    with uow:
        first: dict[str, tuple[str, str]] = {}  # key -> (fingerprint, new incident id), first use in the batch
        for _, p in ready:
            key = p.cmd.idempotency_key
            if key and p.fp and key not in first:
                first[key] = (p.fp, new_id())
        # first statement: claim the keys; one already taken (now or concurrently) is answered by replay
        claimed = uow.incidents.claim_keys([(k, fp, iid, now) for k, (fp, iid) in first.items()])
        seen = uow.incidents.idempotent_many(sorted(set(first) - claimed))
        fresh: list[tuple[int, _Prepared, str]] = []
        replays: list[tuple[int, _Prepared, tuple[str, str]]] = []
        for i, p in ready:
            key = p.cmd.idempotency_key
            if key is None:
                fresh.append((i, p, new_id()))
            elif key in claimed:
                claimed.discard(key)  # the key's first call in this batch; any later one replays it
                fresh.append((i, p, first[key][1]))
            else:
                replays.append((i, p, seen.get(key) or first[key]))
        rows: list[dict[str, Any]] = [{
            "id": iid, "status": IncidentStatus.OPEN.value, "channel": p.channel, "type_code": p.itype_code,
            "category": p.category, "priority": p.priority, "level": p.level, "lon": p.cmd.lon, "lat": p.cmd.lat,
            "accuracy_m": p.cmd.accuracy_m, "snapped_lon": p.snapped[0] if p.snapped else None,
            "snapped_lat": p.snapped[1] if p.snapped else None, "address": p.cmd.address, "summary": p.cmd.summary,
            "town_id": p.town_id, "agency_id": p.agency_id, "caller_name": p.cmd.caller_name,
            "caller_phone": p.cmd.caller_phone, "deaths": p.cmd.flags.deaths, "injuries": p.cmd.flags.injuries,
            "flags": {k: v for k, v in p.cmd.flags.__dict__.items() if v}, "device_id": p.cmd.device_id,
            "received_at": p.cmd.received_at or now, "created_by": p.actor} for _, p, iid in fresh]
        fresh_ids = {iid for _, _, iid in fresh}
        seqs = uow.incidents.add_many(rows)
        uow.incidents.add_events([{"incident_id": iid, "at": now, "kind": "received", "actor": p.actor,
                                   "detail": {"channel": p.channel, "priority": p.priority, "why": p.why}}
                                  for _, p, iid in fresh])
        dups = _propose_duplicates_many(uow, rows, seqs)
        uow.audit.write_many([AuditDraft(p.actor, "call_received", "incident", iid, p.agency_id,
                                         detail={"channel": p.channel, "type": p.itype_code})
                              for _, p, iid in fresh])
        for row in rows:
            uow.emit("jingwu.dispatch.incident_created", {"incident_id": row["id"], "agency_id": row["agency_id"]})
            uow.emit("jingwu.incidents.recorded", _recorded_payload_of(row))
        stored = uow.incidents.get_many(sorted({v[1] for _, _, v in replays if v[1] not in fresh_ids}))
        uow.commit()
    for (i, p, iid), row, seq, d in zip(fresh, rows, seqs, dups, strict=True):
        res[i] = IntakeResult(iid, incident_number(row["received_at"], seq), True, p.priority, p.level,
                              p.agency_id, p.town_id, d)
    by_id = {iid: res[i] for i, _, iid in fresh}
    for i, p, (fp, iid) in replays:
        key = p.cmd.idempotency_key
        if fp != p.fp:
            res[i] = InvalidInput(f"Idempotency-Key '{key}' was already used with a different request.",
                                  code="idempotency_key_reused")
        elif iid in by_id:
            done = by_id[iid]
            assert isinstance(done, IntakeResult)
            res[i] = IntakeResult(done.incident_id, done.number, False, done.priority, done.level,
                                  done.agency_id, done.town_id, [])
        else:
            inc = stored[iid]
            res[i] = IntakeResult(inc.id, incident_number(inc.received_at, inc.seq), False, inc.priority,
                                  inc.level, inc.agency_id, inc.town_id, [])
    return res


# The event contract `jingwu.incidents.recorded` carries one of these categories.
RECORDED_CATEGORIES = {"crime", "public_order", "traffic", "fire", "drugs", "fraud", "help", "dispute", "other"}
CATEGORY_FOR_EVENT = {"group": "public_order"}  # everything else outside the set -> "other"


def _recorded_payload(inc: IncidentRow) -> dict[str, Any]:
    """The fact other modules (Safety Index) count: no personal data."""
    return _recorded_payload_of(inc.__dict__)


def _recorded_payload_of(row: dict[str, Any]) -> dict[str, Any]:
    cat = CATEGORY_FOR_EVENT.get(row["category"], row["category"])
    return {"incident_id": row["id"], "occurred_at": row["received_at"].isoformat(), "lon": row["lon"],
            "lat": row["lat"], "town_id": row["town_id"], "type_code": row["type_code"],
            "category": cat if cat in RECORDED_CATEGORIES else "other", "deaths": row["deaths"],
            "injuries": row["injuries"]}


def _propose_duplicates_many(uow: DispatchUnitOfWork, rows: list[dict[str, Any]], seqs: list[int]
                             ) -> list[list[dict[str, Any]]]:
    """For each new incident: the nearest few open, compatible, earlier incidents within the radius and
    window (the batch's own earlier calls included), stored as proposals."""
    located = [j for j, r in enumerate(rows) if r["lon"] is not None and r["lat"] is not None]
    probes = []
    for j in located:
        r = rows[j]
        probes.append(NearProbe(r["lon"], r["lat"], r["received_at"], seqs[j], r["received_at"] - DUPLICATE_WINDOW,
                                DUPLICATE_RADIUS_M, compatible_categories(r["category"])))
    nearby = uow.incidents.open_near_many(probes, limit=MAX_DUPLICATE_PROPOSALS)
    out: list[list[dict[str, Any]]] = [[] for _ in rows]
    proposals = []
    for j, others in zip(located, nearby, strict=True):
        r = rows[j]
        # the database filtered by a flat-earth distance; the rule and the reported figure are haversine
        found = [(d, o) for d, o in ((_meters(r["lon"], r["lat"], o.lon, o.lat), o) for o in others)
                 if d <= DUPLICATE_RADIUS_M]
        found.sort(key=lambda x: x[0])
        for d, other in found:  # the nearest few: a call-taker reads them all
            secs = (r["received_at"] - other.received_at).total_seconds()
            proposals.append((r["id"], other.id, d, secs))
            out[j].append({"candidate_id": other.id, "number": incident_number(other.received_at, other.seq),
                           "distance_m": round(d, 1), "seconds_apart": round(secs, 1),
                           "type_code": other.type_code})
    uow.incidents.propose_merges(proposals)
    return out


# ------------------------------------------------------------------ reads

def _load_incident(uow: DispatchUnitOfWork, p: Principal, incident_id: str, perm: Permission) -> IncidentRow:
    inc = uow.incidents.get(incident_id)
    if inc is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    p.require(perm, inc.agency_path)
    return inc


PERSONAL_ROLES_PERMS = (Permission.TAKE_CALLS, Permission.DISPATCH, Permission.COMMAND)


def get_incident(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, with_personal: bool = False,
                 reason: str | None = None) -> tuple[IncidentRow, list[AssignmentRow], list[dict[str, Any]],
                                                     list[dict[str, Any]], bool]:
    """(incident, assignments, timeline, duplicate proposals, personal data shown).

    Caller name and phone are shown only to intake/dispatch/command roles, only
    when asked for, and every such read is audited.
    """
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.READ_ORG)
        shown = with_personal and any(p.can(x) for x in PERSONAL_ROLES_PERMS)
        if with_personal and not shown:
            raise Forbidden("Your roles may not read the caller's personal data.", code="missing_role")
        if shown:
            uow.audit.write(actor=p.username, action="personal_data_read", object_type="incident",
                            object_id=inc.id, agency_id=inc.agency_id, reason=reason,
                            detail={"fields": ["caller_name", "caller_phone"]})
            uow.commit()
        return (inc, uow.assignments.for_incident(inc.id), uow.incidents.timeline(inc.id),
                uow.incidents.proposals(inc.id), shown)


# ------------------------------------------------------------------ recommendation

@dataclass(frozen=True)
class Recommendation:
    unit: UnitRow
    eta_seconds: float | None
    position_source: str  # live / stale / station
    matches_run_card: bool
    reasons: list[str]


def recommend(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue,
              limit: int = 10, include_busy: bool = False) -> tuple[IncidentRow, dict[str, int], str,
                                                                    list[Recommendation]]:
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.DISPATCH)
        units = uow.units.in_subtree("/" + inc.agency_path.strip("/").split("/")[0] + "/")
    town_code = geo.town_code(inc.town_id) if inc.town_id else None
    if inc.snapped_lon is None or inc.snapped_lat is None:
        raise InvalidInput("The incident has no location yet: send an SMS location link or enter coordinates.",
                           code="missing_location")
    local = inc.received_at.astimezone(cat.timezone).time()
    need, rule = cat.run_cards.requirement(inc.type_code, town_code, local)
    target = geo.snap(inc.snapped_lon, inc.snapped_lat)
    now = uow.clock.now()
    available = UnitStatus.AVAILABLE.value
    cands: list[tuple[UnitRow, str, Any]] = []
    for u in units:
        if u.status != available and not include_busy:
            continue
        if u.lon is not None and u.lat is not None and u.position_at is not None:
            src = "live" if now - u.position_at <= STALE_POSITION else "stale"
            s = geo.snap_cached(u.lon, u.lat)
        else:
            src, s = "station", None
        if s is None:
            home = geo.station_points.get(u.agency_id, (u.home_lon, u.home_lat))
            s = geo.snap_cached(home[0], home[1])
            src = "station"
        if s is not None:
            cands.append((u, src, s))
    secs = geo.etas([c[2] for c in cands], target)
    # rank all candidates, then explain only the ones returned
    ranked = sorted(((u, src, float(eta), need.get(u.kind, 0) > 0)
                     for (u, src, _s), eta in zip(cands, secs, strict=True)),
                    key=lambda x: (x[0].status != available, not x[3], x[2]))
    recs: list[Recommendation] = []
    for u, src, eta, matches in ranked[:limit]:
        eta_v = eta if math.isfinite(eta) else None
        reasons = [f"road ETA {int(eta // 60)} min {int(eta % 60)} s" if eta_v is not None else "no road route"]
        if src == "stale":
            age = int((now - u.position_at).total_seconds() // 60) if u.position_at else 0
            reasons.append(f"stale position ({age} min old): ETA from last known position")
        elif src == "station":
            reasons.append("no usable position: ETA from its station")
        reasons.append(f"{u.kind} required by run card ({rule})" if matches else f"{u.kind} not on the run card")
        if u.agency_id == inc.agency_id:
            reasons.append("own jurisdiction")
        if u.status != available:
            reasons.append(f"busy: {u.status}")
        recs.append(Recommendation(u, eta_v, src, matches, reasons))
    return inc, need, rule, recs


# ------------------------------------------------------------------ dispatch and status

def dispatch_unit(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork,
                  eta_seconds: float | None = None) -> AssignmentRow:
    """One click: claim the unit (race-safe conditional UPDATE), record the assignment."""
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.DISPATCH)
        if inc.status not in {s.value for s in OPEN_STATUSES}:
            raise Conflict(f"Incident is {inc.status}; it cannot take units.", code="incident_closed")
        unit = uow.units.get(unit_id)
        p.require(Permission.DISPATCH, unit.agency_path)
        now = uow.clock.now()
        if not uow.units.claim(unit_id, inc.id, at=now):
            raise UnitUnavailable(f"Unit {unit.call_sign} is no longer available ({unit.status}).")
        aid = uow.assignments.add(incident_id=inc.id, unit_id=unit_id, eta_seconds=eta_seconds, at=now,
                                  by=p.username)
        values: dict[str, Any] = {}
        if inc.status == IncidentStatus.OPEN.value:
            values.update(status=IncidentStatus.DISPATCHED.value, dispatched_at=now)
        n_units = len([a for a in uow.assignments.for_incident(inc.id) if a.active])
        level, why = escalation_level(priority=inc.priority, category=inc.category, deaths=inc.deaths,
                                      injuries=inc.injuries, units_assigned=n_units, type_code=inc.type_code)
        if LEVEL_ORDER[level] > LEVEL_ORDER[Level(inc.level)]:
            values["level"] = level.value
            uow.incidents.add_event(inc.id, at=now, kind="escalated", actor="rule",
                                    detail={"level": level.value, "why": why})
        if values:
            uow.incidents.update(inc.id, **values)
        uow.incidents.add_event(inc.id, at=now, kind="dispatched", actor=p.username,
                                detail={"unit_id": unit_id, "call_sign": unit.call_sign, "eta_seconds": eta_seconds})
        uow.alerts.resolve(kind="ack_timeout", at=now, by=p.username, incident_id=inc.id)
        uow.audit.write(actor=p.username, action="unit_dispatched", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"unit_id": unit_id})
        uow.emit("jingwu.dispatch.unit_dispatched", {"incident_id": inc.id, "unit_id": unit_id,
                                                     "agency_id": inc.agency_id})
        uow.commit()
        asg = uow.assignments.active_for_unit(unit_id)
    assert asg is not None and asg.id == aid
    return asg


def _may_report(p: Principal, unit: UnitRow) -> None:
    if p.can(Permission.REPORT_STATUS):
        p.require(Permission.REPORT_STATUS, unit.agency_path)
    else:
        p.require(Permission.DISPATCH, unit.agency_path)


def report_status(p: Principal, unit_id: str, status: str, *, uow: DispatchUnitOfWork,
                  note: str | None = None) -> UnitRow:
    """Move a unit along 签收 → 出警 → 到场 → 处置完毕 (or back to available), each step timed."""
    with uow:
        unit = uow.units.get(unit_id)
        _may_report(p, unit)
        nxt = check_transition(unit.status, status)
        now = uow.clock.now()
        asg = uow.assignments.active_for_unit(unit_id)
        release = nxt == UnitStatus.AVAILABLE
        if not uow.units.set_status(unit_id, expect=unit.status, status=nxt.value, at=now,
                                    incident_id=None if release else False):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        if asg is not None:
            inc = uow.incidents.get(asg.incident_id)
            assert inc is not None
            col = STATUS_TIMESTAMP.get(nxt)
            if col:
                uow.assignments.stamp(asg.id, **{col: now})
            if release:
                if unit.status in (UnitStatus.DISPATCHED.value, UnitStatus.ACKNOWLEDGED.value,
                                   UnitStatus.EN_ROUTE.value):
                    uow.assignments.stamp(asg.id, active=0, cancelled_at=now)  # stood down before arrival
                else:
                    uow.assignments.stamp(asg.id, active=0)
            if nxt == UnitStatus.ACKNOWLEDGED:
                uow.alerts.resolve(kind="ack_timeout", at=now, by=p.username, unit_id=unit_id)
            if nxt == UnitStatus.ON_SCENE and inc.arrived_at is None:
                uow.incidents.update(inc.id, arrived_at=now, status=IncidentStatus.ON_SCENE.value)
            if nxt == UnitStatus.CLEARED:
                uow.alerts.resolve(kind="officer_safety", at=now, by=p.username, unit_id=unit_id)
            uow.incidents.add_event(inc.id, at=now, kind=f"unit_{nxt.value}", actor=p.username,
                                    detail={"unit_id": unit_id, "call_sign": unit.call_sign, "note": note})
            if release:
                _maybe_close(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_status", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"from": unit.status, "to": nxt.value})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": nxt.value,
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()
        return uow.units.get(unit_id)


def give_feedback(p: Principal, unit_id: str, text: str, *, uow: DispatchUnitOfWork, cat: Catalogue,
                  final_type: str | None = None) -> None:
    """反馈: the cleared unit reports the outcome (optionally the final nature) and becomes available."""
    if not text.strip():
        raise InvalidInput("Feedback text is required.", code="missing_feedback")
    ftype = cat.types.get(final_type) if final_type else None
    with uow:
        unit = uow.units.get(unit_id)
        _may_report(p, unit)
        if unit.status != UnitStatus.CLEARED.value:
            raise Conflict("Feedback comes after the unit has cleared the scene.", code="illegal_transition")
        asg = uow.assignments.active_for_unit(unit_id)
        now = uow.clock.now()
        if not uow.units.set_status(unit_id, expect=UnitStatus.CLEARED.value, status=UnitStatus.AVAILABLE.value,
                                    at=now, incident_id=None):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        if asg is not None:
            uow.assignments.stamp(asg.id, feedback_at=now, feedback=text, active=0)
            inc = uow.incidents.get(asg.incident_id)
            assert inc is not None
            if ftype is not None and ftype.code != inc.type_code:
                uow.incidents.update(inc.id, type_code=ftype.code, category=ftype.category)
                inc = uow.incidents.get(inc.id)
                assert inc is not None
                uow.emit("jingwu.incidents.recorded", _recorded_payload(inc))
            uow.incidents.add_event(inc.id, at=now, kind="feedback", actor=p.username,
                                    detail={"unit_id": unit_id, "text": text, "final_type": final_type})
            _maybe_close(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_feedback", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"final_type": final_type})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": "available",
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()


def _maybe_close(uow: DispatchUnitOfWork, inc: IncidentRow, now: datetime, actor: str) -> None:
    """Close the incident once no unit is active on it and at least one gave feedback."""
    asgs = uow.assignments.for_incident(inc.id)
    if any(a.active for a in asgs):
        return
    if any(a.feedback_at for a in asgs):
        uow.incidents.update(inc.id, status=IncidentStatus.CLOSED.value, closed_at=now)
        uow.incidents.add_event(inc.id, at=now, kind="closed", actor=actor)
        uow.emit("jingwu.dispatch.incident_closed", {"incident_id": inc.id, "agency_id": inc.agency_id})
    elif all(a.cancelled_at for a in asgs):
        uow.incidents.update(inc.id, status=IncidentStatus.OPEN.value)  # every unit stood down: back in queue


# ------------------------------------------------------------------ positions

@dataclass(frozen=True)
class Position:
    lon: float
    lat: float
    at: datetime


def post_positions(p: Principal | None, unit_id: str, positions: list[Position], *,
                   uow: DispatchUnitOfWork) -> int:
    """Latest position of a unit from a batch (AVL). ``p`` None = trusted internal source (MQTT bridge)."""
    for q in positions:
        if not (math.isfinite(q.lon) and math.isfinite(q.lat) and -180 <= q.lon <= 180 and -90 <= q.lat <= 90):
            raise InvalidInput(f"Bad coordinate lon={q.lon}, lat={q.lat}.", code="invalid_coordinate")
        if q.at.tzinfo is None:
            raise InvalidInput("Position times need a time zone.", code="invalid_time")
    if not positions:
        return 0
    latest = max(positions, key=lambda q: q.at)
    with uow:
        unit = uow.units.get(unit_id)  # 404 when the unit does not exist
        if p is not None:
            _may_report(p, unit)
        uow.units.set_positions([(unit_id, latest.lon, latest.lat, latest.at)])
        uow.commit()
    return len(positions)


def post_positions_bulk(rows: list[tuple[str, float, float, datetime]], *, uow: DispatchUnitOfWork,
                        announce: bool = False) -> int:
    """Many units' latest positions in one transaction; ``announce`` tells live boards to redraw."""
    with uow:
        n = uow.units.set_positions(rows)
        if announce and rows:
            uow.emit("jingwu.dispatch.units_moved", {"count": len(rows)})
        uow.commit()
    return n


# ------------------------------------------------------------------ SMS location link

LINK_TTL = timedelta(minutes=30)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_location_link(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork) -> tuple[str, datetime]:
    """A one-time token for the caller's browser to send its position (sent by SMS)."""
    token = secrets.token_urlsafe(16)
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        now = uow.clock.now()
        uow.links.add(_token_hash(token), inc.id, now, now + LINK_TTL)
        uow.incidents.add_event(inc.id, at=now, kind="location_link_sent", actor=p.username)
        uow.audit.write(actor=p.username, action="location_link_created", object_type="incident",
                        object_id=inc.id, agency_id=inc.agency_id)
        uow.commit()
    return token, now + LINK_TTL


def share_location(token: str, lon: float, lat: float, accuracy_m: float | None, *, uow: DispatchUnitOfWork,
                   geo: Geo) -> str:
    """The caller's browser posts its position: the incident moves there (public, token-authorised)."""
    snap = geo.snap(lon, lat)
    with uow:
        now = uow.clock.now()
        incident_id = uow.links.use(_token_hash(token), now)
        if incident_id is None:
            raise NotAuthenticated("This location link is unknown, used or expired.", code="invalid_link")
        inc = uow.incidents.get(incident_id)
        assert inc is not None
        town = geo.town_at(lon, lat)
        station = geo.station_at(lon, lat) or inc.agency_id
        uow.incidents.update(inc.id, lon=lon, lat=lat, accuracy_m=accuracy_m, snapped_lon=snap.snapped_lon,
                             snapped_lat=snap.snapped_lat, town_id=town.id if town else None, agency_id=station,
                             channel=Channel.SMS_LINK.value if inc.lon is None else inc.channel)
        uow.incidents.add_event(inc.id, at=now, kind="location_shared", actor="caller",
                                detail={"accuracy_m": accuracy_m})
        uow.audit.write(actor="caller", action="location_shared", object_type="incident", object_id=inc.id,
                        agency_id=station)
        uow.emit("jingwu.dispatch.incident_updated", {"incident_id": inc.id, "agency_id": station})
        uow.commit()
    return incident_id


# ------------------------------------------------------------------ alarm devices

def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def register_device(p: Principal | None, *, code: str, name: str, lon: float, lat: float, agency_id: str,
                    uow: DispatchUnitOfWork, geo: Geo, heartbeat_seconds: int = 60) -> tuple[str, str]:
    """Register an alarm button at a fixed position; returns (device id, device key shown once)."""
    geo.snap(lon, lat)
    key = secrets.token_urlsafe(18)
    with uow:
        agency = uow.agencies.get(agency_id)
        if p is not None:
            p.require(Permission.MANAGE_ORG, agency.path)
        if uow.devices.by_code(code) is not None:
            raise Conflict(f"Device code '{code}' exists.", code="device_code_taken")
        did = uow.devices.add(code=code, name=name, lon=lon, lat=lat, agency_id=agency_id, key_hash=_key_hash(key),
                              heartbeat_seconds=heartbeat_seconds, at=uow.clock.now())
        uow.audit.write(actor=p.username if p else "cli", action="device_registered", object_type="alarm_device",
                        object_id=did, agency_id=agency_id, detail={"code": code})
        uow.commit()
    return did, key


def _device(uow: DispatchUnitOfWork, code: str, key: str | None) -> Any:
    dev = uow.devices.by_code(code)
    if dev is None:
        raise NotFound(f"Alarm device '{code}' is not registered.", code="unknown_device")
    if key is not None and not hmac.compare_digest(dev.key_hash, _key_hash(key)):
        raise NotAuthenticated("Wrong device key.", code="invalid_device_key")
    return dev


def device_alarm(code: str, key: str | None, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue,
                 event_id: str | None = None) -> IntakeResult:
    """A pressed alarm button becomes a P1 incident at the device's fixed position.

    ``key`` None means the message came over MQTT (the broker authenticates devices).
    ``event_id`` (device message id) makes retries idempotent.
    """
    with uow:
        dev = _device(uow, code, key)
        uow.devices.heartbeat(dev.id, uow.clock.now())
        uow.commit()
    return receive_call(ReceiveCall(channel=Channel.ALARM.value, type_code="130100", lon=dev.lon, lat=dev.lat,
                                    accuracy_m=0.0, address=dev.name, summary=f"一键报警 {dev.code}",
                                    device_id=dev.id,
                                    idempotency_key=f"alarm:{dev.code}:{event_id}" if event_id else None),
                        uow=uow, geo=geo, cat=cat, actor=f"device:{dev.code}", actor_agency_id=dev.agency_id)


def device_heartbeat(code: str, key: str | None, *, uow: DispatchUnitOfWork) -> None:
    with uow:
        dev = _device(uow, code, key)
        now = uow.clock.now()
        uow.devices.heartbeat(dev.id, now)
        uow.alerts.resolve(kind="device_offline", at=now, by=f"device:{code}", device_id=dev.id)
        uow.commit()


# ------------------------------------------------------------------ merge / split / escalate

def merge(p: Principal, incident_id: str, into_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Confirm a duplicate: the newer call joins the earlier incident."""
    if incident_id == into_id:
        raise InvalidInput("An incident cannot merge into itself.", code="invalid_merge")
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        target = _load_incident(uow, p, into_id, Permission.TAKE_CALLS)
        if inc.status != IncidentStatus.OPEN.value or target.status not in {s.value for s in OPEN_STATUSES}:
            raise Conflict("Only an undispatched call can merge into an open incident.", code="invalid_merge")
        now = uow.clock.now()
        uow.incidents.update(inc.id, status=IncidentStatus.MERGED.value, merged_into=target.id, closed_at=now)
        uow.incidents.decide_proposal(inc.id, target.id, "merged", p.username, now)
        uow.incidents.add_event(inc.id, at=now, kind="merged", actor=p.username, detail={"into": target.id})
        uow.incidents.add_event(target.id, at=now, kind="duplicate_call_merged", actor=p.username,
                                detail={"from": inc.id})
        uow.audit.write(actor=p.username, action="incident_merged", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"into": target.id})
        uow.emit("jingwu.incidents.merged", {"incident_id": inc.id, "into": target.id})
        uow.commit()


def split(p: Principal, incident_id: str, candidate_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Reject a duplicate proposal: the calls stay separate incidents."""
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        now = uow.clock.now()
        if uow.incidents.decide_proposal(inc.id, candidate_id, "split", p.username, now) == 0:
            raise NotFound("No open duplicate proposal for these two incidents.", code="no_proposal")
        uow.incidents.add_event(inc.id, at=now, kind="kept_separate", actor=p.username,
                                detail={"candidate": candidate_id})
        uow.audit.write(actor=p.username, action="duplicate_split", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"candidate": candidate_id})
        uow.commit()


def escalate(p: Principal, incident_id: str, level: str, reason: str, *, uow: DispatchUnitOfWork) -> None:
    try:
        lv = Level(level)
    except ValueError:
        raise InvalidInput(f"Unknown level '{level}'.", code="unknown_level")
    if not reason.strip():
        raise InvalidInput("Say why.", code="missing_reason")
    with uow:
        inc = _load_incident(uow, p, incident_id, Permission.DISPATCH)
        if LEVEL_ORDER[lv] <= LEVEL_ORDER[Level(inc.level)]:
            raise Conflict(f"The incident is already at {inc.level}.", code="not_higher")
        now = uow.clock.now()
        uow.incidents.update(inc.id, level=lv.value)
        uow.incidents.add_event(inc.id, at=now, kind="escalated", actor=p.username,
                                detail={"level": lv.value, "reason": reason})
        uow.audit.write(actor=p.username, action="incident_escalated", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, reason=reason, detail={"level": lv.value})
        uow.emit("jingwu.dispatch.incident_escalated", {"incident_id": inc.id, "level": lv.value})
        uow.commit()


# ------------------------------------------------------------------ timers

def check_timers(*, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue) -> list[int]:
    """Raise alerts: unacknowledged dispatches (with the next unit suggested), silent units on scene,
    alarm devices without heartbeat. Idempotent: an open alert is not raised twice."""
    raised: list[int] = []
    with uow:
        now = uow.clock.now()
        for a in uow.assignments.overdue_ack(now - ACK_TIMEOUT):
            unit = uow.units.get(a.unit_id)
            inc = uow.incidents.get(a.incident_id)
            if inc is None:
                continue
            aid = uow.alerts.raise_once(
                kind="ack_timeout", agency_id=inc.agency_id, incident_id=inc.id, unit_id=unit.id, at=now,
                message=f"{unit.call_sign} 未在 {int(ACK_TIMEOUT.total_seconds())} 秒内签收",
                detail={"call_sign": unit.call_sign})
            if aid:
                raised.append(aid)
        for a in uow.assignments.on_scene():
            unit = uow.units.get(a.unit_id)
            last = unit.last_contact_at or a.on_scene_at
            if last is not None and now - last > CONTACT_TIMEOUT:
                aid = uow.alerts.raise_once(
                    kind="officer_safety", agency_id=unit.agency_id, incident_id=a.incident_id, unit_id=unit.id,
                    at=now, message=f"{unit.call_sign} 到场后 {int(CONTACT_TIMEOUT.total_seconds() // 60)} 分钟无联系",
                    detail={"call_sign": unit.call_sign, "last_contact": last.isoformat()})
                if aid:
                    raised.append(aid)
        for d in uow.devices.all():
            last = d.last_heartbeat_at
            if last is None or now - last > timedelta(seconds=3 * d.heartbeat_seconds):
                aid = uow.alerts.raise_once(kind="device_offline", agency_id=d.agency_id, device_id=d.id, at=now,
                                            message=f"一键报警装置 {d.code} 离线", detail={"code": d.code})
                if aid:
                    raised.append(aid)
        if raised:
            uow.emit("jingwu.dispatch.alerts", {"count": len(raised)})
        uow.commit()
    return raised


def resolve_alert(p: Principal, alert_id: int, *, uow: DispatchUnitOfWork) -> None:
    """A dispatcher closes an alert in their scope; unknown or already resolved -> 404, nothing written."""
    with uow:
        found = uow.alerts.open_one(alert_id)
        if found is None:
            raise NotFound("No open alert with this id.")
        alert, path = found
        p.require(Permission.DISPATCH, path)
        now = uow.clock.now()
        uow.alerts.resolve(kind=alert.kind, alert_id=alert_id, at=now, by=p.username)
        uow.audit.write(actor=p.username, action="alert_resolved", object_type="alert", object_id=str(alert_id),
                        agency_id=alert.agency_id, detail={"kind": alert.kind})
        uow.emit("jingwu.dispatch.alerts", {"resolved": alert_id})
        uow.commit()


# ------------------------------------------------------------------ KPIs

def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    return {"n": len(values), "mean": round(statistics.fmean(values), 1),
            "median": round(statistics.median(values), 1), "p90": round(_pct(values, 0.9), 1)}


def kpis(p: Principal, *, uow: DispatchUnitOfWork, since: datetime, until: datetime, tz: ZoneInfo
         ) -> dict[str, Any]:
    """Response times in seconds (mean, median, p90) by type, priority, station and hour, and unit rankings.

    intake→dispatch = first dispatch − received; dispatch→arrival = first arrival − first dispatch;
    total = first arrival − received.
    """
    if not p.can(Permission.DISPATCH):
        p.require(Permission.ANALYSE)
    with uow:
        incs = uow.incidents.search(path=p.agency_path, since=since, until=until, limit=1_000_000)
        incs = [i for i in incs if i.status != IncidentStatus.MERGED.value]
        asgs = uow.assignments.for_incidents([i.id for i in incs])
        agencies = {a.id: a for a in uow.agencies.in_subtree(p.agency_path)}
        units = {u.id: u for u in uow.units.in_subtree(p.agency_path)}
    groups: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in ("type", "priority", "station", "hour")}
    overall: dict[str, list[float]] = {"intake_to_dispatch": [], "dispatch_to_arrival": [], "total": []}

    def add(dim: str, key: str, metric: str, v: float) -> None:
        groups[dim].setdefault(key, {m: [] for m in overall})[metric].append(v)

    for i in incs:
        keys = {"type": i.type_code, "priority": f"P{i.priority}",
                "station": agencies[i.agency_id].name if i.agency_id in agencies else i.agency_id,
                "hour": f"{i.received_at.astimezone(tz).hour:02d}"}
        vals: dict[str, float] = {}
        if i.dispatched_at:
            vals["intake_to_dispatch"] = (i.dispatched_at - i.received_at).total_seconds()
        if i.dispatched_at and i.arrived_at:
            vals["dispatch_to_arrival"] = (i.arrived_at - i.dispatched_at).total_seconds()
        if i.arrived_at:
            vals["total"] = (i.arrived_at - i.received_at).total_seconds()
        for m, v in vals.items():
            overall[m].append(v)
            for dim, key in keys.items():
                add(dim, key, m, v)
    per_unit: dict[str, list[float]] = {}
    for a in asgs:
        if a.on_scene_at:
            per_unit.setdefault(a.unit_id, []).append((a.on_scene_at - a.dispatched_at).total_seconds())
    ranking: list[dict[str, Any]] = [
        {"unit_id": uid, "call_sign": units[uid].call_sign if uid in units else uid, "arrivals": len(v),
         "median_dispatch_to_arrival": round(statistics.median(v), 1)} for uid, v in per_unit.items()]
    ranking.sort(key=lambda r: (float(r["median_dispatch_to_arrival"]), -int(r["arrivals"])))
    return {
        "since": since.isoformat(), "until": until.isoformat(), "incidents": len(incs),
        "overall": {m: _summary(v) for m, v in overall.items()},
        "by": {dim: {k: {m: _summary(v) for m, v in d.items()} for k, d in sorted(g.items())}
               for dim, g in groups.items()},
        "units": ranking,
    }
