"""The incidents module's queries (警情): the filtered, searched and paged incident list (and its export),
the pieces of one incident's whole record (merged calls, assignments with their arrival flags, location
links, personal-data audit entries), and the arrival flags the KPIs mark. Read-only; every list is scoped
to an agency subtree (a branch sees its own incidents and its stations')."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from jingwu.dispatch.incident_store import _inc
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.tables import assignments, incident_transfers, incidents, location_links, merge_proposals
from jingwu.platform.tables import agencies, audit_log, in_subtree, units

# flag filters of the list: each is one condition on an incident
FLAGS = ("arrival_flagged", "stood_down", "officer_initiated", "imported", "outside_area", "unlocated",
         "transferred", "merged", "escalated", "no_dispatch", "duplicate_proposed")

CHUNK = 1000  # ids per IN list
_NUMBER = re.compile(r"^(?:JQ)?(\d{8})?0*(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class IncidentFilter:
    """What the list shows: a subtree, a time window on ``received_at`` and any of the other filters."""

    path: str
    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    station_path: str | None = None  # the chosen station's (or branch's) own subtree, inside ``path``
    flags: tuple[str, ...] = ()
    q: str | None = None  # an incident number (JQ20261123000042, or its sequence) or address text


@dataclass(frozen=True)
class Arrival:
    """One assignment's arrival as the KPIs and the list need it."""

    unit_id: str
    dispatched_at: datetime
    on_scene_at: datetime | None
    flags: str | None  # comma-separated codes (too_soon, far_from_scene, …) or None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _flag(name: str) -> Any:
    a = assignments.c
    return {
        "arrival_flagged": exists().where(a.incident_id == incidents.c.id, a.arrival_flags.is_not(None),
                                          a.arrival_flags != ""),
        "stood_down": exists().where(a.incident_id == incidents.c.id, a.stand_down_reason.is_not(None)),
        "officer_initiated": incidents.c.officer_initiated.is_(True),
        "imported": incidents.c.source == "imported",
        "outside_area": incidents.c.location_status == "outside_area",
        "unlocated": incidents.c.location_status == "unlocated",
        "transferred": exists().where(incident_transfers.c.incident_id == incidents.c.id),
        "merged": or_(incidents.c.merged_into.is_not(None),
                      exists().where(merge_proposals.c.candidate_id == incidents.c.id,
                                     merge_proposals.c.state == "merged")),
        "escalated": incidents.c.level != "station",
        "no_dispatch": incidents.c.handling.is_not(None),
        "duplicate_proposed": exists().where(merge_proposals.c.incident_id == incidents.c.id,
                                             merge_proposals.c.state == "proposed"),
    }[name]


def _where(f: IncidentFilter) -> list[Any]:
    cond: list[Any] = [in_subtree(agencies.c.path, f.path)]
    if f.station_path:
        cond.append(in_subtree(agencies.c.path, f.station_path))
    if f.since:
        cond.append(incidents.c.received_at >= f.since)
    if f.until:
        cond.append(incidents.c.received_at < f.until)
    if f.types:
        cond.append(incidents.c.type_code.in_(f.types))
    if f.priorities:
        cond.append(incidents.c.priority.in_(f.priorities))
    if f.statuses:
        cond.append(incidents.c.status.in_(f.statuses))
    cond.extend(_flag(x) for x in f.flags)
    if f.q and f.q.strip():
        q = f.q.strip()
        alts: list[Any] = [incidents.c.address.like(_like(q), escape="\\")]
        m = _NUMBER.match(q.replace(" ", ""))
        if m:
            alts.append(incidents.c.seq == int(m.group(2)))
        cond.append(or_(*alts))
    return cond


class IncidentRecords:
    def __init__(self, s: Session) -> None:
        self.s = s

    def page(self, f: IncidentFilter, *, offset: int, limit: int) -> tuple[int, list[IncidentRow]]:
        """(total matching, one page newest first)."""
        base = select(incidents, agencies.c.path.label("agency_path")).join(
            agencies, agencies.c.id == incidents.c.agency_id).where(and_(*_where(f)))
        total = int(self.s.execute(select(func.count()).select_from(
            incidents.join(agencies, agencies.c.id == incidents.c.agency_id)).where(and_(*_where(f)))).scalar_one())
        rows = self.s.execute(base.order_by(incidents.c.received_at.desc(), incidents.c.seq.desc())
                              .offset(offset).limit(limit))
        return total, [_inc(r) for r in rows]

    def units_of(self, ids: list[str]) -> dict[str, list[str]]:
        """Call signs of the units ever sent to each incident (list and export columns)."""
        if not ids:
            return {}
        out: dict[str, list[str]] = {}
        for start in range(0, len(ids), CHUNK):  # an export's 50,000 ids stay under the bound-parameter limits
            q = (select(assignments.c.incident_id, units.c.call_sign).join(units, units.c.id == assignments.c.unit_id)
                 .where(assignments.c.incident_id.in_(ids[start:start + CHUNK])).order_by(assignments.c.dispatched_at))
            for r in self.s.execute(q):
                out.setdefault(r.incident_id, []).append(r.call_sign)
        return out

    def arrival_flags(self, ids: list[str]) -> dict[str, list[Arrival]]:
        """Per incident: each assignment's unit, dispatch and on-scene times and arrival flags."""
        out: dict[str, list[Arrival]] = {}
        for start in range(0, len(ids), CHUNK):
            q = select(assignments.c.incident_id, assignments.c.unit_id, assignments.c.dispatched_at,
                       assignments.c.on_scene_at, assignments.c.arrival_flags).where(
                assignments.c.incident_id.in_(ids[start:start + CHUNK]))
            for r in self.s.execute(q):
                out.setdefault(r.incident_id, []).append(
                    Arrival(r.unit_id, r.dispatched_at, r.on_scene_at, r.arrival_flags or None))
        return out

    def merged_calls(self, incident_id: str) -> list[IncidentRow]:
        """The later calls merged into this incident (each one an incident row of its own)."""
        q = (select(incidents, agencies.c.path.label("agency_path")).join(
            agencies, agencies.c.id == incidents.c.agency_id).where(incidents.c.merged_into == incident_id)
            .order_by(incidents.c.received_at))
        return [_inc(r) for r in self.s.execute(q)]

    def assignments(self, incident_id: str) -> list[dict[str, Any]]:
        """Every assignment of the incident with its unit, ETA, route length, arrival flags and stand-down."""
        a = assignments.c
        q = (select(assignments, units.c.call_sign, units.c.kind).join(units, units.c.id == a.unit_id)
             .where(a.incident_id == incident_id).order_by(a.dispatched_at))
        keep = ("id", "unit_id", "call_sign", "kind", "active", "eta_seconds", "dispatched_at", "dispatched_by",
                "acknowledged_at", "en_route_at", "on_scene_at", "cleared_at", "feedback_at", "feedback",
                "cancelled_at", "route_metres", "travel_mode", "arrival_flags", "stand_down_reason",
                "stood_down_by")
        return [{k: (bool(getattr(r, k)) if k == "active" else getattr(r, k)) for k in keep}
                for r in self.s.execute(q)]

    def links(self, incident_id: str) -> list[dict[str, Any]]:
        """The SMS location links sent for the incident (never their token)."""
        q = select(location_links.c.created_at, location_links.c.expires_at, location_links.c.used_at).where(
            location_links.c.incident_id == incident_id).order_by(location_links.c.created_at)
        return [{"created_at": r.created_at, "expires_at": r.expires_at, "used_at": r.used_at}
                for r in self.s.execute(q)]

    def personal_reads(self, incident_ids: list[str]) -> list[dict[str, Any]]:
        """The audit entries of personal-data reads of these incidents (who read the caller's data, why)."""
        if not incident_ids:
            return []
        q = (select(audit_log.c.seq, audit_log.c.at, audit_log.c.actor, audit_log.c.object_id, audit_log.c.reason,
                    audit_log.c.detail)
             .where(audit_log.c.action == "personal_data_read", audit_log.c.object_type == "incident",
                    audit_log.c.object_id.in_(incident_ids)).order_by(audit_log.c.seq))
        return [{"seq": r.seq, "at": r.at, "actor": r.actor, "incident_id": r.object_id, "reason": r.reason,
                 "detail": json.loads(r.detail or "{}")} for r in self.s.execute(q)]
