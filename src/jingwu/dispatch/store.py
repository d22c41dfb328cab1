"""Dispatch storage entry point: the assignment, alarm-device, location-link and alert repositories,
the dispatch-only unit writes (DispatchUnits: claim, status compare-and-set, positions) and the
DispatchUnitOfWork that gathers every dispatch repository on the platform unit of work (the units
table is the platform's). Tables are in tables.py, row types in rows.py, incidents in incident_store.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from jingwu.dispatch.crew_store import CrewRepository, PositionRejectRepository
from jingwu.dispatch.incident_store import IncidentRepository
from jingwu.dispatch.records_store import IncidentRecords
from jingwu.dispatch.rows import AlertRow, AssignmentRow, DeviceRow, TransferRow
from jingwu.dispatch.tables import alarm_devices, alerts, assignments, incident_transfers, location_links
from jingwu.platform.clock import Clock
from jingwu.platform.errors import NotFound
from jingwu.platform.org_store import UnitRepository, delete_row, references, update_row
from jingwu.platform.tables import agencies, in_subtree, new_id, units
from jingwu.platform.uow import SqlUnitOfWork


def _asg(r: Any) -> AssignmentRow:
    return AssignmentRow(r.id, r.incident_id, r.unit_id, bool(r.active), r.eta_seconds, r.dispatched_at,
                         r.acknowledged_at, r.en_route_at, r.on_scene_at, r.cleared_at, r.feedback_at, r.feedback,
                         r.cancelled_at, r.dispatched_by, r.route_metres, r.travel_mode, r.route_geojson,
                         tuple(r.arrival_flags.split(",")) if r.arrival_flags else (), r.stand_down_reason,
                         r.stood_down_by)


class AssignmentRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, *, incident_id: str, unit_id: str, eta_seconds: float | None, at: datetime, by: str,
            route_geojson: str | None = None, route_metres: float | None = None,
            travel_mode: str | None = None) -> str:
        aid = new_id()
        self.s.execute(insert(assignments).values(id=aid, incident_id=incident_id, unit_id=unit_id, active=1,
                                                  eta_seconds=eta_seconds, dispatched_at=at, dispatched_by=by,
                                                  route_geojson=route_geojson, route_metres=route_metres,
                                                  travel_mode=travel_mode))
        return aid

    def get(self, assignment_id: str) -> AssignmentRow | None:
        r = self.s.execute(select(assignments).where(assignments.c.id == assignment_id)).one_or_none()
        return _asg(r) if r else None

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

def _device(r: Any) -> DeviceRow:
    return DeviceRow(r.id, r.code, r.name, r.lon, r.lat, r.agency_id, r.key_hash, r.heartbeat_seconds,
                     r.last_heartbeat_at, bool(r.active), bool(r.signs), r.payload_format)


class DeviceRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, *, code: str, name: str, lon: float, lat: float, agency_id: str, key_hash: str,
            heartbeat_seconds: int, at: datetime, signs: bool = False, payload_format: str = "json") -> str:
        did = new_id()
        self.s.execute(insert(alarm_devices).values(id=did, code=code, name=name, lon=lon, lat=lat,
                                                    agency_id=agency_id, key_hash=key_hash,
                                                    heartbeat_seconds=heartbeat_seconds, created_at=at,
                                                    signs=signs, payload_format=payload_format))
        return did

    def by_code(self, code: str) -> DeviceRow | None:
        r = self.s.execute(select(alarm_devices).where(alarm_devices.c.code == code)).one_or_none()
        return _device(r) if r else None

    def get(self, device_id: str) -> DeviceRow:
        r = self.s.execute(select(alarm_devices).where(alarm_devices.c.id == device_id)).one_or_none()
        if r is None:
            raise NotFound(f"Alarm device {device_id} does not exist.")
        return _device(r)

    def update(self, device_id: str, values: dict[str, Any]) -> None:
        update_row(self.s, alarm_devices, device_id, values)

    def references(self, device_id: str) -> dict[str, int]:
        return references(self.s, alarm_devices, "device_id", device_id)

    def delete(self, device_id: str) -> None:
        delete_row(self.s, alarm_devices, device_id)

    def heartbeat(self, device_id: str, at: datetime) -> None:
        self.s.execute(update(alarm_devices).where(alarm_devices.c.id == device_id).values(last_heartbeat_at=at))

    def all(self, path: str = "/") -> list[DeviceRow]:
        q = (select(alarm_devices).join(agencies, agencies.c.id == alarm_devices.c.agency_id)
             .where(in_subtree(agencies.c.path, path)).order_by(alarm_devices.c.code))
        return [_device(r) for r in self.s.execute(q)]


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
             .where(alerts.c.resolved_at.is_(None), in_subtree(agencies.c.path, path))
             .order_by(alerts.c.id.desc()).limit(200))
        return [AlertRow(r.id, r.kind, r.incident_id, r.unit_id, r.device_id, r.agency_id, r.message,
                         json.loads(r.detail), r.raised_at, r.resolved_at) for r in self.s.execute(q)]


class TransferRepository:
    """Transfers of incidents to a neighbouring agency: one row per request, its outcome recorded once."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def _q(self) -> Any:
        return (select(incident_transfers, agencies.c.path.label("target_agency_path"))
                .outerjoin(agencies, agencies.c.id == incident_transfers.c.target_agency_id))

    @staticmethod
    def _row(r: Any) -> TransferRow:
        return TransferRow(r.id, r.incident_id, r.target_agency_id, r.target_agency_path, r.target_name,
                           r.target_phone, r.reason, r.requested_by, r.requested_at, r.outcome, r.outcome_note,
                           r.outcome_by, r.outcome_at)

    def add(self, *, incident_id: str, target_agency_id: str | None, target_name: str | None,
            target_phone: str | None, reason: str, by: str, at: datetime) -> str:
        tid = new_id()
        self.s.execute(insert(incident_transfers).values(
            id=tid, incident_id=incident_id, target_agency_id=target_agency_id, target_name=target_name,
            target_phone=target_phone, reason=reason, requested_by=by, requested_at=at))
        return tid

    def get(self, transfer_id: str) -> TransferRow | None:
        r = self.s.execute(self._q().where(incident_transfers.c.id == transfer_id)).one_or_none()
        return self._row(r) if r else None

    def for_incidents(self, ids: list[str]) -> list[TransferRow]:
        if not ids:
            return []
        q = self._q().where(incident_transfers.c.incident_id.in_(ids)).order_by(incident_transfers.c.requested_at)
        return [self._row(r) for r in self.s.execute(q)]

    def decide(self, transfer_id: str, *, outcome: str, note: str | None, by: str, at: datetime) -> bool:
        """Record the outcome of a pending transfer (compare-and-set: once)."""
        r = self.s.execute(update(incident_transfers).where(
            incident_transfers.c.id == transfer_id, incident_transfers.c.outcome.is_(None)).values(
            outcome=outcome, outcome_note=note, outcome_by=by, outcome_at=at))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]


class DispatchUnits(UnitRepository):
    """The platform unit registry plus the writes only dispatch makes: taking a unit for an incident,
    moving its status, recording its positions. Each is one conditional UPDATE (race-safe)."""

    def claim(self, unit_id: str, incident_id: str, *, at: datetime) -> bool:
        """Atomically take an available, active unit for an incident (one conditional UPDATE: race-safe)."""
        r = self.s.execute(update(units).where(units.c.id == unit_id, units.c.status == "available",
                                               units.c.active.is_(True))
                           .values(status="dispatched", incident_id=incident_id, status_at=at))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]

    def set_status(self, unit_id: str, *, expect: str, status: str, at: datetime,
                   incident_id: str | bool | None = False, contact_at: datetime | None = None) -> bool:
        """Compare-and-set the status; ``incident_id=False`` leaves the assignment untouched. ``contact_at``
        (default ``at``): when the unit was last heard from (a tap replayed later is heard at its receipt)."""
        values: dict[str, Any] = {"status": status, "status_at": at, "last_contact_at": contact_at or at}
        if incident_id is not False:
            values["incident_id"] = incident_id
        r = self.s.execute(update(units).where(units.c.id == unit_id, units.c.status == expect).values(**values))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]

    def set_positions(self, rows: list[tuple[str, float, float, datetime]]) -> int:
        """Latest position per unit, one executemany; a position older than the stored one is ignored."""
        if not rows:
            return 0
        stmt = (update(units)
                .where(units.c.id == bindparam("b_id"),
                       or_(units.c.position_at.is_(None), units.c.position_at < bindparam("b_at")))
                .values(lon=bindparam("b_lon"), lat=bindparam("b_lat"), position_at=bindparam("b_at"),
                        last_contact_at=bindparam("b_at")))
        self.s.execute(stmt, [{"b_id": u, "b_lon": lon, "b_lat": lat, "b_at": at} for u, lon, lat, at in rows])
        return len(rows)


class DispatchUnitOfWork(SqlUnitOfWork):
    """The platform unit of work plus the dispatch repositories, one transaction."""

    units: DispatchUnits

    def __init__(self, session_factory: Callable[[], Session], clock: Clock,
                 after_commit: Callable[[], None] | None = None) -> None:
        super().__init__(session_factory, clock, after_commit)

    def __enter__(self) -> DispatchUnitOfWork:
        super().__enter__()
        self.units = DispatchUnits(self.session)
        self.incidents = IncidentRepository(self.session)
        self.assignments = AssignmentRepository(self.session)
        self.devices = DeviceRepository(self.session)
        self.links = LinkRepository(self.session)
        self.alerts = AlertRepository(self.session)
        self.transfers = TransferRepository(self.session)
        self.records = IncidentRecords(self.session)
        self.crews = CrewRepository(self.session)
        self.position_rejects = PositionRejectRepository(self.session)
        return self
