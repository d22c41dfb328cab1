"""Call intake: the ReceiveCall command from any channel, validation, placement and grading,
group-committed storage with idempotency keys, duplicate-call proposals, and the
``jingwu.incidents.recorded`` payload (IncidentRecorded) published for each recorded incident."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from jingwu.contracts.events import RECORDED_CATEGORIES, IncidentRecorded
from jingwu.dispatch.domain import (
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    Channel,
    IncidentStatus,
    IntakeFlags,
    LocationStatus,
    compatible_categories,
    escalation_level,
    grade_priority,
    incident_number,
)
from jingwu.dispatch.geo import AddressFix, Geo
from jingwu.dispatch.handling import HOTLINE_12345, Handling, parse_handling
from jingwu.dispatch.incident_store import NearProbe
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import AgencyHome, Catalogue
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.audit_store import AuditDraft
from jingwu.platform.errors import AppError, InvalidInput
from jingwu.platform.tables import new_id
from jingwu.routing.geodesy import haversine_m

MAX_DUPLICATE_PROPOSALS = 3


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
    handling: str | None = None  # None: units are sent; consultation / transfer_12345 / ... (ADR 0019)

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
    location_status: str = LocationStatus.LOCATED.value


@dataclass(frozen=True)
class IntakeItem:
    """One call queued for the intake writer: the command and who took it."""

    call: ReceiveCall
    actor: str
    actor_agency_id: str | None


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
    agency_id: str | None  # None until the receiving agency is found (outside_area, or no station)
    town_id: str | None
    snapped: tuple[float, float] | None
    address_fix: AddressFix | None  # the geocoder's reading of an address-only call
    location_status: str
    location_reason: str | None
    actor_agency_id: str | None

    def incident_row(self, iid: str, now: datetime) -> dict[str, Any]:
        """The new incident's columns: the one place a call becomes an incident row."""
        cmd, snapped = self.cmd, self.snapped
        return {"id": iid, "status": IncidentStatus.OPEN.value, "channel": self.channel, "type_code": self.itype_code,
                "category": self.category, "priority": self.priority, "level": self.level, "lon": cmd.lon,
                "lat": cmd.lat, "accuracy_m": cmd.accuracy_m, "snapped_lon": snapped[0] if snapped else None,
                "snapped_lat": snapped[1] if snapped else None, "address": cmd.address, "summary": cmd.summary,
                "town_id": self.town_id, "agency_id": self.agency_id, "caller_name": cmd.caller_name,
                "caller_phone": cmd.caller_phone, "deaths": cmd.flags.deaths, "injuries": cmd.flags.injuries,
                "flags": {k: v for k, v in cmd.flags.__dict__.items() if v}, "device_id": cmd.device_id,
                "received_at": cmd.received_at or now, "created_by": self.actor,
                "location_status": self.location_status, "handling": cmd.handling}


def _prepare(cmd: ReceiveCall, *, geo: Geo, cat: Catalogue, actor: str, actor_agency_id: str | None) -> _Prepared:
    """Validation, placement and grading: pure computation, before any transaction."""
    try:
        channel = Channel(cmd.channel)
    except ValueError:
        raise InvalidInput(f"Unknown channel '{cmd.channel}'; known: {[c.value for c in Channel]}.",
                           code="unknown_channel")
    itype = cat.types.get(cmd.type_code)
    handling = parse_handling(cmd.handling)  # 422 unknown_handling
    if handling is None and cmd.handling is not None:
        cmd = replace(cmd, handling=None)
    if (cmd.lon is None) != (cmd.lat is None):
        raise InvalidInput("Give both lon and lat, or neither.", code="invalid_coordinate")
    fp = cmd.fingerprint() if cmd.idempotency_key else None  # of the call as received
    fix = None
    if cmd.lon is None and cmd.address:
        cmd, fix = _locate_by_address(cmd, geo)
    snap = town = station = None
    status: str = LocationStatus.UNLOCATED.value
    reason: str | None = "address_only" if cmd.address else "no_position"
    if cmd.lon is not None and cmd.lat is not None:
        placed = geo.place(cmd.lon, cmd.lat)  # never refuses a well-formed position
        snap, town, station, status, reason = placed.snap, placed.town, placed.station, placed.status, placed.reason
    priority, why = grade_priority(itype, cmd.flags)
    # located (or in a station's jurisdiction): that station; otherwise the agency that received the call
    agency_id = station if status != LocationStatus.OUTSIDE_AREA else None
    if agency_id is None and status == LocationStatus.UNLOCATED:
        agency_id = actor_agency_id
    level, lwhy = escalation_level(priority=priority, category=itype.category, deaths=cmd.flags.deaths,
                                   injuries=cmd.flags.injuries, units_assigned=0, type_code=itype.code)
    return _Prepared(cmd, fp, actor, channel.value, itype.code, itype.category, priority,
                     level.value, why + lwhy, agency_id, town.id if town else None,
                     (snap.snapped_lon, snap.snapped_lat) if snap else None, fix, status, reason, actor_agency_id)


def _locate_by_address(cmd: ReceiveCall, geo: Geo) -> tuple[ReceiveCall, AddressFix | None]:
    """An address-only call placed on the geocoder's best result when its confidence reaches the
    threshold and it lies on the served road network; otherwise it stays unlocated."""
    fix = geo.geocode_address(cmd.address or "")
    if fix is None or not fix.used:
        return cmd, fix
    try:
        geo.snap(fix.lon, fix.lat)
    except InvalidInput:
        return cmd, replace(fix, used=False)
    return replace(cmd, lon=fix.lon, lat=fix.lat), fix


def receive_call(cmd: ReceiveCall, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue, actor: str,
                 actor_agency_id: str | None) -> IntakeResult:
    """Store a call as an incident. A returned result means it is committed (durable)."""
    r = receive_calls([IntakeItem(cmd, actor, actor_agency_id)], uow=uow, geo=geo, cat=cat)[0]
    if isinstance(r, Exception):
        raise r
    return r


def receive_calls(calls: list[IntakeItem], *, uow: DispatchUnitOfWork, geo: Geo,
                  cat: Catalogue) -> list[IntakeResult | AppError]:
    """Store several calls in ONE transaction: group commit.

    Each call gets its own answer in the same order: a result (committed when this returns) or the error
    that refused it; one refused call does not hold back the others. Idempotency keys are claimed in the
    same transaction; a key stored before (or by a concurrent writer) answers with the stored incident.
    """
    refused: dict[int, IntakeResult | AppError] = {}
    ready: list[tuple[int, _Prepared]] = []
    for i, item in enumerate(calls):
        try:
            ready.append((i, _prepare(item.call, geo=geo, cat=cat, actor=item.actor,
                                      actor_agency_id=item.actor_agency_id)))
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
        home = AgencyHome(uow)  # the receiving agency of a call no station serves
        ready = [(i, p if p.agency_id is not None else
                  replace(p, agency_id=home.receiving(p.actor_agency_id,
                                                      city=p.location_status == LocationStatus.OUTSIDE_AREA)))
                 for i, p in ready]
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
        rows = [p.incident_row(iid, now) for _, p, iid in fresh]
        fresh_ids = {iid for _, _, iid in fresh}
        seqs = uow.incidents.add_many(rows)
        uow.incidents.add_events([{"incident_id": iid, "at": now, "kind": "received", "actor": p.actor,
                                   "detail": {"channel": p.channel, "priority": p.priority, "why": p.why,
                                              "location_status": p.location_status,
                                              "location_reason": p.location_reason}}
                                  for _, p, iid in fresh])
        uow.incidents.add_events([{"incident_id": iid, "at": now, "kind": "geocoded", "actor": p.actor,
                                   "detail": p.address_fix.detail()} for _, p, iid in fresh if p.address_fix])
        _record_handling(uow, [(p, iid) for _, p, iid in fresh if p.cmd.handling], now)
        dups = _propose_duplicates_many(uow, rows, seqs)
        uow.audit.write_many([AuditDraft(p.actor, "call_received", "incident", iid, p.agency_id,
                                         detail={"channel": p.channel, "type": p.itype_code,
                                                 "location_status": p.location_status})
                              for _, p, iid in fresh])
        for row in rows:
            uow.emit("jingwu.dispatch.incident_created", {"incident_id": row["id"], "agency_id": row["agency_id"]})
            uow.emit(IncidentRecorded.SUBJECT, recorded_event(row).to_payload())
        stored = uow.incidents.get_many(sorted({v[1] for _, _, v in replays if v[1] not in fresh_ids}))
        uow.commit()
    for (i, p, iid), row, seq, d in zip(fresh, rows, seqs, dups, strict=True):
        res[i] = IntakeResult(iid, incident_number(row["received_at"], seq), True, p.priority, p.level,
                              row["agency_id"], p.town_id, d, p.location_status)
    by_id = {iid: res[i] for i, _, iid in fresh}
    for i, p, (fp, iid) in replays:
        key = p.cmd.idempotency_key
        if fp != p.fp:
            res[i] = InvalidInput(f"Idempotency-Key '{key}' was already used with a different request.",
                                  code="idempotency_key_reused")
        elif iid in by_id:
            done = by_id[iid]
            if not isinstance(done, IntakeResult):  # by_id holds the batch's stored calls only
                raise RuntimeError(f"Intake answer for stored incident {iid} is not a result.")
            res[i] = IntakeResult(done.incident_id, done.number, False, done.priority, done.level,
                                  done.agency_id, done.town_id, [], done.location_status)
        else:
            inc = stored[iid]
            res[i] = IntakeResult(inc.id, incident_number(inc.received_at, inc.seq), False, inc.priority,
                                  inc.level, inc.agency_id, inc.town_id, [], inc.location_status)
    return res


def _record_handling(uow: DispatchUnitOfWork, handled: list[tuple[_Prepared, str]], now: datetime) -> None:
    """Calls taken with a no-unit handling (ADR 0019): the choice on the timeline; a transfer to 12345
    recorded with its target (its outcome follows); another agency's target is given later."""
    events = []
    for p, iid in handled:
        tid = None
        if p.cmd.handling == Handling.TRANSFER_12345.value:
            tid = uow.transfers.add(incident_id=iid, target_agency_id=None, target_name=HOTLINE_12345[0],
                                    target_phone=HOTLINE_12345[1], reason="转 12345（接警时选定）", by=p.actor, at=now)
            events.append({"incident_id": iid, "at": now, "kind": "transfer_requested", "actor": p.actor,
                           "detail": {"transfer_id": tid, "target_agency_id": None, "target_name": HOTLINE_12345[0],
                                      "target_phone": HOTLINE_12345[1], "reason": "转 12345（接警时选定）"}})
        events.append({"incident_id": iid, "at": now, "kind": "handling_set", "actor": p.actor,
                       "detail": {"handling": p.cmd.handling, "previous": None, "reason": "at intake",
                                  "transfer_id": tid}})
    uow.incidents.add_events(events)


# Dispatch categories the IncidentRecorded contract names differently; any other category outside the
# contract's set (RECORDED_CATEGORIES) is recorded as "other".
RECORDED_CATEGORY_FOR = {"group": "public_order"}


def recorded_event(row: Mapping[str, Any]) -> IncidentRecorded:
    """The fact other features (Safety Index) count, from an incident's columns: no personal data."""
    cat = RECORDED_CATEGORY_FOR.get(row["category"], row["category"])
    return IncidentRecorded(incident_id=row["id"], occurred_at=row["received_at"], type_code=row["type_code"],
                            category=cat if cat in RECORDED_CATEGORIES else "other", town_id=row["town_id"],
                            lon=row["lon"], lat=row["lat"], deaths=row["deaths"], injuries=row["injuries"])


def emit_recorded(uow: DispatchUnitOfWork, inc: IncidentRow) -> None:
    """Publish ``jingwu.incidents.recorded`` for a stored incident (through the outbox)."""
    uow.emit(IncidentRecorded.SUBJECT, recorded_event(inc.__dict__).to_payload())


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
        found = [(d, o) for d, o in ((haversine_m(r["lon"], r["lat"], o.lon, o.lat), o) for o in others)
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

