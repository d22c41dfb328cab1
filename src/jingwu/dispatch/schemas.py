"""Pydantic request/response models of the dispatch API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class FlagsIn(BaseModel):
    weapon: bool = False
    trapped: bool = False
    ongoing: bool = False
    injuries: int = Field(0, ge=0, le=10_000)
    deaths: int = Field(0, ge=0, le=10_000)


class CallCreate(BaseModel):
    """A call from any channel. Location: lon/lat (WGS84) with the handset's accuracy, or an address."""

    channel: str = Field("phone", description="phone | sms_link | alarm | web")
    type_code: str = Field(..., min_length=6, max_length=8, description="incident type (see /api/v1/incident-types)")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)
    address: str | None = Field(None, max_length=400)
    summary: str | None = Field(None, max_length=4000)
    caller_name: str | None = Field(None, max_length=200)
    caller_phone: str | None = Field(None, max_length=64)
    flags: FlagsIn = Field(default_factory=FlagsIn)
    handling: str | None = Field(None, max_length=32, description="dispatch (default) | consultation | "
                                 "transfer_12345 | transfer_agency | duplicate: handled without units")


class CallCreated(BaseModel):
    incident_id: str
    number: str
    priority: int
    level: str
    agency_id: str
    town_id: str | None
    duplicates: list[dict[str, Any]]
    location_status: str = Field("located", description="located | unlocated | outside_area")


class AssignmentRead(BaseModel):
    id: str
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
    route_metres: float | None = None  # the route stored at dispatch (GET /assignments/{id}/route)
    travel_mode: str | None = None
    arrival_flags: list[str] = []  # too_soon / far_from_scene: an implausible arrival, accepted but flagged
    stand_down_reason: str | None = None
    stood_down_by: str | None = None


class TransferRead(BaseModel):
    id: str
    incident_id: str
    target_agency_id: str | None
    target_name: str | None
    target_phone: str | None
    reason: str
    requested_by: str
    requested_at: datetime
    outcome: str | None
    outcome_note: str | None
    outcome_by: str | None
    outcome_at: datetime | None


class TransferCreate(BaseModel):
    """Either an agency of this deployment (target_agency_id) or an outside agency (target_name + phone)."""

    target_agency_id: str | None = Field(None, min_length=36, max_length=36)
    target_name: str | None = Field(None, max_length=200)
    target_phone: str | None = Field(None, max_length=64)
    reason: str = Field(..., min_length=1, max_length=2000)


class TransferOutcomeCreate(BaseModel):
    outcome: str = Field(..., description="accepted | refused | no_answer")
    note: str | None = Field(None, max_length=2000)


class LocateCreate(BaseModel):
    """A position set by hand (map click or typed coordinates, WGS84)."""

    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    note: str | None = Field(None, max_length=2000)


class IncidentRead(BaseModel):
    id: str
    number: str
    status: str
    channel: str
    type_code: str
    type_name: str
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
    deaths: int
    injuries: int
    flags: dict[str, Any]
    merged_into: str | None
    received_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    location_status: str = "located"
    source: str = "live"
    officer_initiated: bool = False
    disposition: str | None = None
    external_ref: str | None = None
    handling: str | None = None
    transfers: list[TransferRead] = []
    assignments: list[AssignmentRead] = []
    timeline: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    caller: dict[str, str | None] | None = Field(None, description="only with ?personal=true, audited")


class RecommendationRead(BaseModel):
    unit_id: str
    call_sign: str
    kind: str
    status: str
    agency_id: str
    eta_seconds: float | None
    position_source: str
    matches_run_card: bool
    reasons: list[str]
    travel_mode: str = "car"  # the road graph its ETA was computed on: car, motorbike, bicycle or foot
    in_scope: bool = Field(True, description="false: outside your agency, you cannot dispatch it (ask the "
                                             "command centre that covers both)")


class RecommendationsRead(BaseModel):
    incident_id: str
    required: dict[str, int]
    run_card: str
    units: list[RecommendationRead]
    withheld: str | None = Field(None, description="why no units are recommended (a call handled without units)")


class DispatchCreate(BaseModel):
    unit_id: str = Field(..., min_length=36, max_length=36)
    override_reason: str | None = Field(None, max_length=2000, description="to send a unit to a call handled "
                                        "without units (audited)")


class StatusCreate(BaseModel):
    status: str
    note: str | None = Field(None, max_length=2000)
    at: str | None = Field(None, max_length=64, description="when the officer tapped (ISO 8601 with offset); "
                           "taps queued offline are replayed with it (ADR 0024)")
    reason: str | None = Field(None, max_length=2000)  # required to stand a dispatched unit down (available)


class CrewCreate(BaseModel):
    shift_ends_at: datetime | None = None  # the planned end of the shift (within 24 h); none: until sign-off


class FeedbackCreate(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)
    final_type: str | None = None
    at: str | None = Field(None, max_length=64, description="when the officer sent it (ISO 8601 with offset)")


class PositionIn(BaseModel):
    lon: float
    lat: float
    at: datetime


class PositionsCreate(BaseModel):
    positions: list[PositionIn] = Field(..., min_length=1, max_length=10_000)


class LinkRead(BaseModel):
    url: str
    expires_at: datetime
    sms_text: str


class SharedLocation(BaseModel):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)


class DeviceCreate(BaseModel):
    code: str = Field(..., min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(..., min_length=1, max_length=200)
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    agency_id: str
    heartbeat_seconds: int = Field(60, ge=5, le=86_400)
    signs: bool = Field(True, description="its MQTT alarms carry an HMAC-SHA256 signature (ADR 0025); false: "
                                          "trusted by its broker account only")
    payload_format: Literal["json", "plain"] = Field("json", description="json, or plain: any short text "
                                                                         "(\"PRESSED\") is a press; plain "
                                                                         "devices cannot sign")


class DeviceCreated(BaseModel):
    id: str
    code: str
    key: str = Field(..., description="shown once: the device authenticates with it")
    mqtt_secret: str = Field(..., description="sha256 hex of the key: the device's MQTT password (user name = "
                                              "code) and its HMAC signing key (ADR 0025)")


class DeviceAlarm(BaseModel):
    event_id: str | None = Field(None, max_length=100, description="device message id; retries are idempotent")


class MergeCreate(BaseModel):
    into: str


class SplitCreate(BaseModel):
    candidate: str


class EscalateCreate(BaseModel):
    level: str
    reason: str = Field(..., min_length=1, max_length=2000)
