"""Typed events shared by producer and consumer features. Subjects are past tense; payloads are
JSON objects built and read only through these classes, so both sides agree on one definition.

``IncidentRecorded`` (``jingwu.incidents.recorded``): an incident was recorded or closed with its final
type and harm. Published by dispatch through its outbox; counted by the Safety Index (idempotent by
``incident_id``). It carries no personal data: place, time, type, category and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

# The categories an ``IncidentRecorded`` may carry; producers map anything else to "other".
RECORDED_CATEGORIES = frozenset({"crime", "public_order", "traffic", "fire", "drugs", "fraud", "help", "dispute",
                                 "other"})
UNKNOWN_TYPE_CODE = "990000"


@dataclass(frozen=True)
class IncidentRecorded:
    SUBJECT: ClassVar[str] = "jingwu.incidents.recorded"

    incident_id: str
    occurred_at: datetime  # timezone-aware
    type_code: str
    category: str
    town_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    deaths: int = 0
    injuries: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "occurred_at": self.occurred_at.isoformat(), "lon": self.lon,
                "lat": self.lat, "town_id": self.town_id, "type_code": self.type_code, "category": self.category,
                "deaths": self.deaths, "injuries": self.injuries}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> IncidentRecorded:
        """Read a payload; ``ValueError`` (or ``KeyError``/``TypeError``) names what is wrong. Missing type and
        category read as unknown/"other"; negative counts as 0."""
        at = datetime.fromisoformat(str(payload["occurred_at"]).replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        category = str(payload.get("category") or "other")
        if category not in RECORDED_CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        lon, lat = payload.get("lon"), payload.get("lat")
        return cls(incident_id=str(payload["incident_id"]), occurred_at=at,
                   type_code=str(payload.get("type_code") or UNKNOWN_TYPE_CODE), category=category,
                   town_id=str(payload["town_id"]) if payload.get("town_id") else None,
                   lon=float(lon) if lon is not None else None, lat=float(lat) if lat is not None else None,
                   deaths=max(0, int(payload.get("deaths") or 0)), injuries=max(0, int(payload.get("injuries") or 0)))
