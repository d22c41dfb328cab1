"""Dispatch row types: the frozen records the dispatch repositories return (incidents, nearby incidents
of the duplicate search, assignments, alarm devices, alerts). Plain dataclasses, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    location_status: str = "located"
    source: str = "live"
    external_ref: str | None = None
    officer_initiated: bool = False
    disposition: str | None = None
    handling: str | None = None  # None: units are sent; consultation / transfer_12345 / transfer_agency / duplicate
    human_touched_at: datetime | None = None  # the first timeline entry by a person (ADR 0018)


@dataclass(frozen=True)
class TransferRow:
    id: str
    incident_id: str
    target_agency_id: str | None
    target_agency_path: str | None
    target_name: str | None
    target_phone: str | None
    reason: str
    requested_by: str
    requested_at: datetime
    outcome: str | None
    outcome_note: str | None
    outcome_by: str | None
    outcome_at: datetime | None


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
    route_metres: float | None = None  # the route the ETA was computed on at dispatch (stored, not live)
    travel_mode: str | None = None
    route_geojson: str | None = None  # GeoJSON LineString text
    arrival_flags: tuple[str, ...] = ()  # an implausible arrival, accepted but flagged (ADR 0018)
    stand_down_reason: str | None = None
    stood_down_by: str | None = None


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
    active: bool = True
    signs: bool = False
    payload_format: str = "json"


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
