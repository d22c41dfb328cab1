"""Dispatch tables: incidents and their timeline, assignments (one unit on one incident, every status
timed), idempotency keys, alarm devices, one-time location links, duplicate (merge) proposals and alerts,
registered on the platform metadata; TABLES is what the feature declares.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from jingwu.platform.tables import UTCDateTime, metadata

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
    # located: placed on the road network; unlocated: no usable position yet (address only, off the network);
    # outside_area: a position outside the served area (stored, never snapped, no recommendations)
    Column("location_status", String(16), nullable=False, server_default="located", index=True),
    Column("source", String(16), nullable=False, server_default="live"),  # live / imported
    Column("external_ref", String(200), nullable=True, unique=True),  # imported: "<source>:<CAD event number>"
    Column("officer_initiated", Boolean, nullable=False, server_default="0"),  # on-view, self-initiated
    Column("disposition", String(32), nullable=True),  # how it closed, e.g. "transferred"
    # set at the first action of a person (not an automation principal): the demo autopilot leaves it alone
    Column("human_touched_at", UTCDateTime, nullable=True),
    # how the call is handled: NULL = units are sent; otherwise a no-dispatch handling such as
    # consultation / transfer / duplicate (no units recommended or sent by default)
    Column("handling", String(16), nullable=True),
    Index("ix_incidents_cell_received_at", "cell", "received_at"),
)

incident_transfers = Table(
    "incident_transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), ForeignKey("incidents.id"), nullable=False, index=True),
    # the target: an agency of this deployment, or a named outside agency with its phone number
    Column("target_agency_id", String(36), ForeignKey("agencies.id"), nullable=True),
    Column("target_name", String(200), nullable=True),
    Column("target_phone", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=True),  # accepted / refused / no_answer; null while pending
    Column("outcome_note", Text, nullable=True),
    Column("outcome_by", String(200), nullable=True),
    Column("outcome_at", UTCDateTime, nullable=True),
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
    Column("route_geojson", Text, nullable=True),  # the route the ETA was computed on (GeoJSON LineString)
    Column("route_metres", Float, nullable=True),
    Column("travel_mode", String(16), nullable=True),
    # comma-separated codes of an implausible arrival (e.g. too_soon, far_from_scene): accepted, flagged
    Column("arrival_flags", String(64), nullable=True),
    Column("stand_down_reason", Text, nullable=True),  # why a dispatched unit was stood down before arrival
    Column("stood_down_by", String(200), nullable=True),
)

unit_crews = Table(
    "unit_crews",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("unit_id", String(36), ForeignKey("units.id"), nullable=False, index=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("signed_on_at", UTCDateTime, nullable=False),
    Column("shift_ends_at", UTCDateTime, nullable=True),  # the planned end of the shift
    Column("signed_off_at", UTCDateTime, nullable=True),  # NULL while on the crew
    Column("signed_off_by", String(200), nullable=True),
)

position_rejects = Table(
    "position_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit_id", String(36), nullable=False, index=True),
    Column("reason", String(32), nullable=False),  # e.g. future / null_island / outside_area
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("reported_at", UTCDateTime, nullable=True),  # the time the device stamped
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
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
    Column("active", Boolean, nullable=False, server_default="1"),  # inactive: decommissioned, key refused
    # profile (ADR 0025): signs = its MQTT alarms carry an HMAC (else trusted by its broker account only);
    # payload_format json | plain (any short text such as "PRESSED" is a press)
    Column("signs", Boolean, nullable=False, server_default="0"),
    Column("payload_format", String(8), nullable=False, server_default="json"),
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
          alerts, incident_transfers, unit_crews, position_rejects)
