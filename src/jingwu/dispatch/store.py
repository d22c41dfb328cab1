"""Dispatch storage: incidents and their timeline, assignments (one unit on one
incident, every status timed), idempotency keys, alarm devices, one-time
location links, duplicate proposals and alerts. The dispatch unit of work
extends the platform's (units live in the platform registry).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from jingwu.dispatch.domain import OPEN_STATUSES, IncidentStatus, cell_of, cells_around
from jingwu.platform.clock import Clock
from jingwu.platform.tables import UTCDateTime, agencies, metadata, new_id
from jingwu.platform.uow import SqlUnitOfWork

incidents = Table(
    "incidents",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("status", String(16), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("type_code", String(8), nullable=False),
    Column("category", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("level", String(16), nullable=False, server_default="station"),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("accuracy_m", Float, nullable=True),
    Column("snapped_lon", Float, nullable=True),
    Column("snapped_lat", Float, nullable=True),
    Column("address", String(400), nullable=True),
    Column("summary", Text, nullable=True),
    Column("town_id", String(36), nullable=True, index=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("caller_name", String(200), nullable=True),  # personal data: role-gated, every read audited
    Column("caller_phone", String(64), nullable=True),  # personal data
    Column("deaths", Integer, nullable=False, server_default="0"),
    Column("injuries", Integer, nullable=False, server_default="0"),
    Column("flags", Text, nullable=False, server_default="{}"),
    Column("merged_into", String(36), nullable=True),
    Column("device_id", String(36), nullable=True),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("dispatched_at", UTCDateTime, nullable=True),
    Column("arrived_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("cell", BigInteger, nullable=True),  # grid cell of (lon, lat) for the duplicate search
    Index("ix_incidents_cell_received_at", "cell", "received_at"),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=False, index=True),
    Column("unit_id", String(36), ForeignKey("units.id"), nullable=False, index=True),
    Column("active", Integer, nullable=False, server_default="1"),
    Column("eta_seconds", Float, nullable=True),
    Column("dispatched_at", UTCDateTime, nullable=False),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("en_route_at", UTCDateTime, nullable=True),
    Column("on_scene_at", UTCDateTime, nullable=True),
    Column("cleared_at", UTCDateTime, nullable=True),
    Column("feedback_at", UTCDateTime, nullable=True),
    Column("feedback", Text, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("dispatched_by", String(200), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("incident_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

alarm_devices = Table(
    "alarm_devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("heartbeat_seconds", Integer, nullable=False, server_default="60"),
    Column("last_heartbeat_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

location_links = Table(
    "location_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("incident_id", String(36), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

merge_proposals = Table(
    "merge_proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), nullable=False, index=True),  # the newer call
    Column("candidate_id", String(36), nullable=False, index=True),  # the earlier incident
    Column("distance_m", Float, nullable=False),
    Column("seconds_apart", Float, nullable=False),
    Column("state", String(16), nullable=False, server_default="proposed"),  # proposed / merged / split
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # ack_timeout / officer_safety / device_offline
    Column("incident_id", String(36), nullable=True, index=True),
    Column("unit_id", String(36), nullable=True),
    Column("device_id", String(36), nullable=True),
    Column("agency_id", String(36), nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(200), nullable=True),
)

TABLES = (incidents, incident_events, assignments, idempotency_keys, alarm_devices, location_links, merge_proposals,
          alerts)


# ------------------------------------------------------------------ rows

@dataclass(frozen=True)
class IncidentRow:
    seq: int
    id: str
    status: str
    channel: str
    type_code: str
    category: str
    priority: int
    level: str
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    snapped_lon: float | None
    snapped_lat: float | None
    address: str | None
    summary: str | None
    town_id: str | None
    agency_id: str
    agency_path: str
    caller_name: str | None
    caller_phone: str | None
    deaths: int
    injuries: int
    flags: dict[str, Any]
    merged_into: str | None
    device_id: str | None
    received_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    created_by: str


@dataclass(frozen=True)
class NearbyIncident:
    id: str
    seq: int
    lon: float
    lat: float
    type_code: str
    received_at: datetime


@dataclass(frozen=True)
class AssignmentRow:
    id: str
    incident_id: str
    unit_id: str
    active: bool
    eta_seconds: float | None
    dispatched_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    feedback_at: datetime | None
    feedback: str | None
    cancelled_at: datetime | None
    dispatched_by: str


@dataclass(frozen=True)
class DeviceRow:
    id: str
    code: str
    name: str
    lon: float
    lat: float
    agency_id: str
    key_hash: str
    heartbeat_seconds: int
    last_heartbeat_at: datetime | None


@dataclass(frozen=True)
class AlertRow:
    id: int
    kind: str
    incident_id: str | None
    unit_id: str | None
    device_id: str | None
    agency_id: str
    message: str
    detail: dict[str, Any]
    raised_at: datetime
    resolved_at: datetime | None


def _inc(r: Any) -> IncidentRow:
    return IncidentRow(
        r.seq, r.id, r.status, r.channel, r.type_code, r.category, r.priority, r.level, r.lon, r.lat,
        r.accuracy_m, r.snapped_lon, r.snapped_lat, r.address, r.summary, r.town_id, r.agency_id, r.agency_path,
        r.caller_name, r.caller_phone, r.deaths, r.injuries, json.loads(r.flags or "{}"), r.merged_into,
        r.device_id, r.received_at, r.dispatched_at, r.arrived_at, r.closed_at, r.created_by)


def _asg(r: Any) -> AssignmentRow:
    return AssignmentRow(r.id, r.incident_id, r.unit_id, bool(r.active), r.eta_seconds, r.dispatched_at,
                         r.acknowledged_at, r.en_route_at, r.on_scene_at, r.cleared_at, r.feedback_at, r.feedback,
                         r.cancelled_at, r.dispatched_by)


@dataclass(frozen=True)
class NearProbe:
    """A new call looking for earlier open incidents near it (duplicate search)."""

    lon: float
    lat: float
    received_at: datetime
    seq: int
    since: datetime
    radius_m: float
    categories: tuple[str, ...] | None  # None: any category may match (domain.compatible_categories; <= 3)


# Written as the complement of the open statuses: on a young, fast-growing table whose statistics lag
# (a burst of calls), a positive status list drew PostgreSQL to AND the status and received_at indexes
# and scan every recent incident (7.7 ms a probe against 2.1 ms on the cell index, EXPLAIN ANALYZE on
# 7,912 incidents); a NOT IN cannot drive an index scan, so the plan stays on (cell, received_at).
_NOT_OPEN = ", ".join(f"'{s.value}'" for s in IncidentStatus if s not in OPEN_STATUSES)


@functools.lru_cache(maxsize=256)
def _near_statement(n: int, ncells: int, limit: int) -> TextualSelect:
    """The duplicate-search statement for n probes of ncells cells each (plain SQL: built once, and cheap
    for SQLAlchemy to cache, unlike an equivalent expression tree of n subqueries)."""
    parts = []
    for j in range(n):
        cells = ", ".join(f":c{j}_{k}" for k in range(ncells))
        d2 = (f"((lon - :lon{j}) * :kx{j}) * ((lon - :lon{j}) * :kx{j})"
              f" + ((lat - :lat{j}) * 111195.0) * ((lat - :lat{j}) * 111195.0)")
        parts.append(
            f"SELECT * FROM (SELECT {j} AS box, id, seq, lon, lat, type_code, received_at FROM incidents"
            f" WHERE cell IN ({cells}) AND received_at >= :s{j} AND status NOT IN ({_NOT_OPEN})"
            f" AND (received_at < :r{j} OR (received_at = :r{j} AND seq < :q{j}))"
            f" AND (:any{j} = 1 OR category IN (:cat{j}a, :cat{j}b, :cat{j}c))"
            f" AND {d2} <= :d{j} ORDER BY {d2}, received_at DESC LIMIT {int(limit)}) AS q{j}")
    dt = UTCDateTime()
    return text(" UNION ALL ".join(parts)).bindparams(
        *[bindparam(f"s{j}", type_=dt) for j in range(n)], *[bindparam(f"r{j}", type_=dt) for j in range(n)]
    ).columns(box=Integer, id=String, seq=Integer, lon=Float, lat=Float, type_code=String, received_at=UTCDateTime)


# Built once (hot read path of recommendations and the incident page).
_GET_INCIDENT = (select(incidents, agencies.c.path.label("agency_path"))
                 .join(agencies, agencies.c.id == incidents.c.agency_id)
                 .where(incidents.c.id == bindparam("incident_id")))


class IncidentRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def _q(self) -> Any:
        return select(incidents, agencies.c.path.label("agency_path")).join(
            agencies, agencies.c.id == incidents.c.agency_id)

    @staticmethod
    def _row(values: dict[str, Any]) -> dict[str, Any]:
        lon, lat = values.get("lon"), values.get("lat")
        return {**values, "id": values.get("id") or new_id(),
                "flags": json.dumps(values.get("flags") or {}, ensure_ascii=False),
                "cell": cell_of(lon, lat) if lon is not None and lat is not None else None}

    def add_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert several incidents in one statement; their seqs in the order given."""
        if not rows:
            return []
        r = self.s.execute(insert(incidents).returning(incidents.c.seq, sort_by_parameter_order=True),
                           [self._row(v) for v in rows])
        return [int(x[0]) for x in r]

    def get(self, incident_id: str) -> IncidentRow | None:
        r = self.s.execute(_GET_INCIDENT, {"incident_id": incident_id}).one_or_none()
        return _inc(r) if r else None

    def update(self, incident_id: str, **values: Any) -> None:
        if "flags" in values:
            values["flags"] = json.dumps(values["flags"], ensure_ascii=False)
        if values.get("lon") is not None and values.get("lat") is not None:
            values["cell"] = cell_of(values["lon"], values["lat"])
        self.s.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))

    def open_near_many(self, probes: list[NearProbe], limit: int = 3) -> list[list[NearbyIncident]]:
        """For each probe: the nearest open incidents received before it within its radius and time window
        whose category may match, at most ``limit`` each (distance by the local flat-earth approximation,
        exact to 0.1 % at these radii). One round trip per 32 probes; the grid-cell index bounds the scan."""
        out: list[list[NearbyIncident]] = [[] for _ in probes]
        cells = [cells_around(pr.lon, pr.lat, pr.radius_m) for pr in probes]
        groups: dict[int, list[int]] = {}  # probes with the same number of cells share a statement
        for i, cs in enumerate(cells):
            groups.setdefault(len(cs), []).append(i)
        for ncells, idx in groups.items():
            for start in range(0, len(idx), 32):
                chunk = idx[start:start + 32]
                params: dict[str, Any] = {}
                for j, i in enumerate(chunk):
                    pr = probes[i]
                    kx = 111_195.0 * math.cos(math.radians(pr.lat))
                    cats = list(pr.categories or ("",))[:3]
                    cats += cats[-1:] * (3 - len(cats))
                    params.update({f"s{j}": pr.since, f"r{j}": pr.received_at, f"q{j}": pr.seq, f"lon{j}": pr.lon,
                                   f"lat{j}": pr.lat, f"kx{j}": kx, f"d{j}": pr.radius_m ** 2,
                                   f"any{j}": 1 if pr.categories is None else 0,
                                   f"cat{j}a": cats[0], f"cat{j}b": cats[1], f"cat{j}c": cats[2]})
                    params.update({f"c{j}_{k}": c for k, c in enumerate(cells[i])})
                for r in self.s.execute(_near_statement(len(chunk), ncells, limit), params):
                    out[chunk[r.box]].append(NearbyIncident(r.id, r.seq, r.lon, r.lat, r.type_code, r.received_at))
        return out

    def search(self, *, path: str, statuses: tuple[str, ...] | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 500, min_level: tuple[str, ...] | None = None
             ) -> list[IncidentRow]:
        q = self._q().where(agencies.c.path.startswith(path, autoescape=True))
        if statuses:
            q = q.where(incidents.c.status.in_(statuses))
        if since:
            q = q.where(incidents.c.received_at >= since)
        if until:
            q = q.where(incidents.c.received_at < until)
        if min_level:
            q = q.where(incidents.c.level.in_(min_level))
        return [_inc(r) for r in self.s.execute(q.order_by(incidents.c.seq.desc()).limit(limit))]

    def add_event(self, incident_id: str, *, at: datetime, kind: str, actor: str,
                  detail: dict[str, Any] | None = None) -> None:
        self.s.execute(insert(incident_events), {
            "incident_id": incident_id, "at": at, "kind": kind, "actor": actor,
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str)})

    def add_events(self, rows: list[dict[str, Any]]) -> None:
        """Several timeline entries (incident_id, at, kind, actor, detail) in one statement."""
        if rows:
            self.s.execute(insert(incident_events), [
                {**r, "detail": json.dumps(r.get("detail") or {}, ensure_ascii=False, default=str)} for r in rows])

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.s.execute(select(incident_events).where(incident_events.c.incident_id == incident_id)
                              .order_by(incident_events.c.id)).all()
        return [{"at": r.at, "kind": r.kind, "actor": r.actor, "detail": json.loads(r.detail)} for r in rows]

    # idempotency ----------------------------------------------------------
    def idempotent_many(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        if not keys:
            return {}
        rows = self.s.execute(select(idempotency_keys).where(idempotency_keys.c.key.in_(keys))).all()
        return {r.key: (r.request_hash, r.incident_id) for r in rows}

    def claim_keys(self, rows: list[tuple[str, str, str, datetime]]) -> set[str]:
        """Claim idempotency keys (key, request hash, incident id, at); returns the keys claimed here.

        A key already stored, or being stored by a concurrent transaction, is skipped (on PostgreSQL
        after that transaction ends): INSERT ... ON CONFLICT DO NOTHING, so nobody waits on an error."""
        if not rows:
            return set()
        ins = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = ins(idempotency_keys).on_conflict_do_nothing(index_elements=["key"]).returning(idempotency_keys.c.key)
        r = self.s.execute(stmt, [{"key": k, "request_hash": h, "incident_id": i, "created_at": at}
                                  for k, h, i, at in rows])
        return {x[0] for x in r}

    def get_many(self, ids: list[str]) -> dict[str, IncidentRow]:
        if not ids:
            return {}
        return {r.id: _inc(r) for r in self.s.execute(self._q().where(incidents.c.id.in_(ids)))}

    # duplicates -----------------------------------------------------------
    def propose_merges(self, rows: list[tuple[str, str, float, float]]) -> None:
        """(incident, candidate, distance m, seconds apart) in one statement."""
        if rows:
            self.s.execute(insert(merge_proposals), [
                {"incident_id": i, "candidate_id": c, "distance_m": d, "seconds_apart": t} for i, c, d, t in rows])

    def proposals(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.s.execute(select(merge_proposals).where(or_(
            merge_proposals.c.incident_id == incident_id, merge_proposals.c.candidate_id == incident_id))
            .order_by(merge_proposals.c.id)).all()
        return [{"id": r.id, "incident_id": r.incident_id, "candidate_id": r.candidate_id,
                 "distance_m": r.distance_m, "seconds_apart": r.seconds_apart, "state": r.state} for r in rows]

    def decide_proposal(self, incident_id: str, candidate_id: str, state: str, by: str, at: datetime) -> int:
        r = self.s.execute(update(merge_proposals).where(
            merge_proposals.c.incident_id == incident_id, merge_proposals.c.candidate_id == candidate_id,
            merge_proposals.c.state == "proposed").values(state=state, decided_by=by, decided_at=at))
        return int(r.rowcount or 0)  # type: ignore[attr-defined]

    def open_proposal_ids(self, path: str) -> set[str]:
        q = (select(merge_proposals.c.incident_id).join(incidents, incidents.c.id == merge_proposals.c.incident_id)
             .join(agencies, agencies.c.id == incidents.c.agency_id)
             .where(merge_proposals.c.state == "proposed", agencies.c.path.startswith(path, autoescape=True)))
        return {r[0] for r in self.s.execute(q)}


class AssignmentRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, *, incident_id: str, unit_id: str, eta_seconds: float | None, at: datetime, by: str) -> str:
        aid = new_id()
        self.s.execute(insert(assignments).values(id=aid, incident_id=incident_id, unit_id=unit_id, active=1,
                                                  eta_seconds=eta_seconds, dispatched_at=at, dispatched_by=by))
        return aid

    def active_for_unit(self, unit_id: str) -> AssignmentRow | None:
        r = self.s.execute(select(assignments).where(assignments.c.unit_id == unit_id, assignments.c.active == 1)
                           ).one_or_none()
        return _asg(r) if r else None

    def for_incident(self, incident_id: str) -> list[AssignmentRow]:
        rows = self.s.execute(select(assignments).where(assignments.c.incident_id == incident_id)
                              .order_by(assignments.c.dispatched_at)).all()
        return [_asg(r) for r in rows]

    def for_incidents(self, ids: list[str]) -> list[AssignmentRow]:
        if not ids:
            return []
        rows = self.s.execute(select(assignments).where(assignments.c.incident_id.in_(ids))).all()
        return [_asg(r) for r in rows]

    def stamp(self, assignment_id: str, **values: Any) -> None:
        self.s.execute(update(assignments).where(assignments.c.id == assignment_id).values(**values))

    def overdue_ack(self, before: datetime) -> list[AssignmentRow]:
        rows = self.s.execute(select(assignments).where(
            assignments.c.active == 1, assignments.c.acknowledged_at.is_(None),
            assignments.c.cancelled_at.is_(None), assignments.c.dispatched_at < before)).all()
        return [_asg(r) for r in rows]

    def on_scene(self) -> list[AssignmentRow]:
        rows = self.s.execute(select(assignments).where(
            assignments.c.active == 1, assignments.c.on_scene_at.is_not(None),
            assignments.c.cleared_at.is_(None))).all()
        return [_asg(r) for r in rows]

class DeviceRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, *, code: str, name: str, lon: float, lat: float, agency_id: str, key_hash: str,
            heartbeat_seconds: int, at: datetime) -> str:
        did = new_id()
        self.s.execute(insert(alarm_devices).values(id=did, code=code, name=name, lon=lon, lat=lat,
                                                    agency_id=agency_id, key_hash=key_hash,
                                                    heartbeat_seconds=heartbeat_seconds, created_at=at))
        return did

    def by_code(self, code: str) -> DeviceRow | None:
        r = self.s.execute(select(alarm_devices).where(alarm_devices.c.code == code)).one_or_none()
        return DeviceRow(r.id, r.code, r.name, r.lon, r.lat, r.agency_id, r.key_hash, r.heartbeat_seconds,
                         r.last_heartbeat_at) if r else None

    def heartbeat(self, device_id: str, at: datetime) -> None:
        self.s.execute(update(alarm_devices).where(alarm_devices.c.id == device_id).values(last_heartbeat_at=at))

    def all(self, path: str = "/") -> list[DeviceRow]:
        q = (select(alarm_devices).join(agencies, agencies.c.id == alarm_devices.c.agency_id)
             .where(agencies.c.path.startswith(path, autoescape=True)).order_by(alarm_devices.c.code))
        return [DeviceRow(r.id, r.code, r.name, r.lon, r.lat, r.agency_id, r.key_hash, r.heartbeat_seconds,
                          r.last_heartbeat_at) for r in self.s.execute(q)]


class LinkRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, token_hash: str, incident_id: str, at: datetime, expires: datetime) -> None:
        self.s.execute(insert(location_links).values(token_hash=token_hash, incident_id=incident_id,
                                                     created_at=at, expires_at=expires))

    def use(self, token_hash: str, at: datetime) -> str | None:
        """Consume a valid, unused, unexpired link; return its incident id (one-time)."""
        r = self.s.execute(select(location_links.c.incident_id).where(
            location_links.c.token_hash == token_hash, location_links.c.used_at.is_(None),
            location_links.c.expires_at > at)).one_or_none()
        if r is None:
            return None
        done = self.s.execute(update(location_links).where(
            location_links.c.token_hash == token_hash, location_links.c.used_at.is_(None)).values(used_at=at))
        return str(r.incident_id) if done.rowcount == 1 else None  # type: ignore[attr-defined]


class AlertRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def raise_once(self, *, kind: str, agency_id: str, message: str, at: datetime, incident_id: str | None = None,
                   unit_id: str | None = None, device_id: str | None = None,
                   detail: dict[str, Any] | None = None) -> int | None:
        """Raise an alert unless the same one is still unresolved; returns its id when new."""
        cond = [alerts.c.kind == kind, alerts.c.resolved_at.is_(None)]
        for col, v in ((alerts.c.incident_id, incident_id), (alerts.c.unit_id, unit_id),
                       (alerts.c.device_id, device_id)):
            cond.append(col.is_(None) if v is None else col == v)
        if self.s.execute(select(alerts.c.id).where(and_(*cond))).first() is not None:
            return None
        r = self.s.execute(insert(alerts).values(kind=kind, agency_id=agency_id, message=message, raised_at=at,
                                                 incident_id=incident_id, unit_id=unit_id, device_id=device_id,
                                                 detail=json.dumps(detail or {}, ensure_ascii=False)))
        return int(r.inserted_primary_key[0])  # type: ignore[attr-defined]

    def resolve(self, *, kind: str, at: datetime, by: str, incident_id: str | None = None,
                unit_id: str | None = None, device_id: str | None = None, alert_id: int | None = None) -> int:
        q = update(alerts).where(alerts.c.resolved_at.is_(None))
        if alert_id is not None:
            q = q.where(alerts.c.id == alert_id)
        else:
            q = q.where(alerts.c.kind == kind)
            if incident_id is not None:
                q = q.where(alerts.c.incident_id == incident_id)
            if unit_id is not None:
                q = q.where(alerts.c.unit_id == unit_id)
            if device_id is not None:
                q = q.where(alerts.c.device_id == device_id)
        return int(self.s.execute(q.values(resolved_at=at, resolved_by=by)).rowcount or 0)  # type: ignore[attr-defined]

    def open_one(self, alert_id: int) -> tuple[AlertRow, str] | None:
        """An unresolved alert and its agency path, or None."""
        r = self.s.execute(select(alerts, agencies.c.path.label("agency_path"))
                           .join(agencies, agencies.c.id == alerts.c.agency_id)
                           .where(alerts.c.id == alert_id, alerts.c.resolved_at.is_(None))).one_or_none()
        if r is None:
            return None
        return (AlertRow(r.id, r.kind, r.incident_id, r.unit_id, r.device_id, r.agency_id, r.message,
                         json.loads(r.detail), r.raised_at, r.resolved_at), r.agency_path)

    def open(self, path: str) -> list[AlertRow]:
        q = (select(alerts).join(agencies, agencies.c.id == alerts.c.agency_id)
             .where(alerts.c.resolved_at.is_(None), agencies.c.path.startswith(path, autoescape=True))
             .order_by(alerts.c.id.desc()).limit(200))
        return [AlertRow(r.id, r.kind, r.incident_id, r.unit_id, r.device_id, r.agency_id, r.message,
                         json.loads(r.detail), r.raised_at, r.resolved_at) for r in self.s.execute(q)]


class DispatchUnitOfWork(SqlUnitOfWork):
    """The platform unit of work plus the dispatch repositories, one transaction."""

    def __init__(self, session_factory: Callable[[], Session], clock: Clock,
                 after_commit: Callable[[], None] | None = None) -> None:
        super().__init__(session_factory, clock, after_commit)

    def __enter__(self) -> DispatchUnitOfWork:
        super().__enter__()
        self.incidents = IncidentRepository(self.session)
        self.assignments = AssignmentRepository(self.session)
        self.devices = DeviceRepository(self.session)
        self.links = LinkRepository(self.session)
        self.alerts = AlertRepository(self.session)
        return self
