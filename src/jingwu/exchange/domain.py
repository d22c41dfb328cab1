"""Exchange domain: sharing agreements (terms each way, validity, mutual approval, revocation), field
stripping, the EIDO-modelled incident payload, cooperation requests with deadlines, coercive measures
on enterprises with their 12-hour notice. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from jingwu.platform.errors import Conflict, InvalidInput

PEER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")  # one NATS subject token, also a key-file name


def check_peer_id(value: str, what: str = "peer id") -> str:
    if not PEER_ID.match(value or ""):
        raise InvalidInput(f"{what} {value!r} must be 2-63 characters a-z 0-9 _ - (starting with a letter or digit)",
                           code="invalid_peer_id")
    return value


# ------------------------------------------------------------------ record types and their fields

# Which fields each shareable record type has. An agreement names a subset per direction; everything else
# is stripped before a record leaves (and again when one arrives). Personal fields are marked: they can be
# agreed, but only with a purpose, and every share carrying one is audited with the field names.
RECORD_FIELDS: dict[str, dict[str, bool]] = {  # type -> {field: personal?}
    "incident": {
        "id": False, "type_code": False, "type_name": False, "priority": False, "status": False,
        "reported_at": False, "lon": False, "lat": False, "address": False, "town": False,
        "summary": False, "agency": False, "caller_name": True, "caller_phone": True,
    },
    "risk": {
        "id": False, "kind": False, "title": False, "place": False, "lon": False, "lat": False,
        "level": False, "owner": False, "follow_up": False, "status": False,
    },
    "cooperation_request": {"kind": False, "title": False, "details": False, "deadline": False},
    "alert": {"id": False, "event": False, "urgency": False, "severity": False, "certainty": False,
              "headline": False, "description": False, "instruction": False, "area_desc": False, "lon": False,
              "lat": False, "radius_km": False, "expires": False},
    "joint_patrol": {"id": False, "kind": False, "title": False, "place": False, "lon": False, "lat": False,
                     "starts_at": False, "ends_at": False, "units": False, "partner_units": False, "status": False},
    "measure_notice": {"enterprise": False, "credit_code": False, "measure": False, "taken_at": False,
                       "acting_agency": False, "case_ref": False, "basis": False},
}

REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "incident": frozenset({"id"}), "risk": frozenset({"id"}),
    "alert": frozenset({"id", "event", "urgency", "severity", "certainty"}),
    "joint_patrol": frozenset({"id", "starts_at", "ends_at", "status"}),
}

# CAP 1.2 value lists (OASIS CAP 1.2, 3.2.2)
CAP_URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
CAP_SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CAP_CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


def check_record(rtype: str, rec: Mapping[str, Any]) -> None:
    """Values a record type constrains (an alert's CAP codes, area and expiry): refused whole, 422."""
    if rtype != "alert":
        return
    for key, allowed in (("urgency", CAP_URGENCY), ("severity", CAP_SEVERITY), ("certainty", CAP_CERTAINTY)):
        if rec.get(key) not in allowed:
            raise InvalidInput(f"alert {key} must be one of {', '.join(allowed)}", code="invalid_record")
    if not str(rec.get("event") or "").strip() or not str(rec.get("id") or "").strip():
        raise InvalidInput("an alert needs its id and event", code="invalid_record")
    if ("lon" in rec) != ("lat" in rec):
        raise InvalidInput("an alert area needs both lon and lat", code="invalid_record")
    try:
        if "lon" in rec and not (-180 <= float(rec["lon"]) <= 180 and -90 <= float(rec["lat"]) <= 90):
            raise InvalidInput("alert lon/lat out of range", code="invalid_record")
        if "radius_km" in rec and not 0 < float(rec["radius_km"]) <= 1000:
            raise InvalidInput("alert radius_km must be in (0, 1000]", code="invalid_record")
    except (TypeError, ValueError) as exc:
        raise InvalidInput("alert lon, lat and radius_km are numbers", code="invalid_record") from exc
    if "expires" in rec:
        try:
            t = datetime.fromisoformat(str(rec["expires"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput("alert expires is an ISO 8601 time", code="invalid_record") from exc
        if t.tzinfo is None:
            raise InvalidInput("alert expires needs a UTC offset", code="invalid_record")


def check_terms(terms: Mapping[str, Any], direction: str) -> dict[str, list[str]]:
    """Agreement terms for one direction: {record type: [field, ...]}; unknown types or fields refused."""
    if not isinstance(terms, Mapping):
        raise InvalidInput(f"{direction} terms must be an object {{record type: [fields]}}", code="invalid_terms")
    out: dict[str, list[str]] = {}
    for rtype, fields in terms.items():
        known = RECORD_FIELDS.get(rtype)
        if known is None:
            raise InvalidInput(f"{direction}: unknown record type {rtype!r} (known: {', '.join(RECORD_FIELDS)})",
                               code="invalid_terms")
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
            raise InvalidInput(f"{direction}: {rtype} needs a non-empty list of field names", code="invalid_terms")
        bad = sorted(set(fields) - set(known))
        if bad:
            raise InvalidInput(f"{direction}: {rtype} has no field(s) {', '.join(bad)} "
                               f"(known: {', '.join(known)})", code="invalid_terms")
        missing = REQUIRED_FIELDS.get(rtype, frozenset()) - set(fields)
        if missing:
            raise InvalidInput(f"{direction}: {rtype} must include {', '.join(sorted(missing))}",
                               code="invalid_terms")
        out[rtype] = sorted(set(fields))
    return out


def personal_fields(terms: Mapping[str, list[str]]) -> list[str]:
    return sorted(f"{t}.{f}" for t, fs in terms.items() for f in fs if RECORD_FIELDS[t].get(f))


def strip_record(record: Mapping[str, Any], allowed: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The record with only the allowed fields (and no empty ones), and the names of the fields removed."""
    kept = {k: v for k, v in record.items() if k in allowed and v is not None}
    return kept, sorted(k for k in record if k not in allowed)


# ------------------------------------------------------------------ agreements


class AgreementStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for one or both approvals
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Agreement:
    id: str
    agency_id: str  # our agency (this deployment)
    partner_agency_id: str | None  # another agency of this deployment, or
    peer_id: str | None  # an agency of another deployment
    partner_name: str
    outgoing: dict[str, list[str]]  # what we send: {record type: fields}
    incoming: dict[str, list[str]]  # what we accept
    purpose: str
    valid_from: datetime
    valid_to: datetime
    status: AgreementStatus
    created_at: datetime
    created_by: str
    local_approved_by: str | None = None
    local_approved_at: datetime | None = None
    partner_approved_by: str | None = None  # a user of the partner agency, or "peer:<id>/<message id>"
    partner_approved_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def in_force(self, now: datetime) -> bool:
        return self.status is AgreementStatus.ACTIVE and self.valid_from <= now < self.valid_to

    def state_at(self, now: datetime) -> str:
        if self.status is AgreementStatus.ACTIVE and now >= self.valid_to:
            return "expired"
        if self.status is AgreementStatus.ACTIVE and now < self.valid_from:
            return "not_yet_valid"
        return self.status.value

    def require_in_force(self, now: datetime) -> None:
        state = self.state_at(now)
        if state != "active":
            raise Conflict(f"agreement {self.id} is {state}: nothing can be shared under it",
                           code="agreement_not_in_force")


def check_window(valid_from: datetime, valid_to: datetime) -> None:
    if valid_from.tzinfo is None or valid_to.tzinfo is None:
        raise InvalidInput("validity times need a time zone offset", code="invalid_window")
    if valid_to <= valid_from:
        raise InvalidInput("valid_to must be after valid_from", code="invalid_window")


# ------------------------------------------------------------------ EIDO-modelled incident payload

EIDO_VERSION = "1.0"


def incident_to_eido(rec: Mapping[str, Any], *, owner: str, sent_at: str) -> dict[str, Any]:
    """An (already stripped) incident as an EIDO-shaped object (NENA-STA-021: EmergencyIncidentDataObjectType);
    only the components whose fields were agreed appear. Coordinates travel as decimal strings."""
    iid = str(rec["id"])
    base = f"incidentid:{iid}:{owner}"
    meta = {"LastUpdateTimeStamp": sent_at, "OwningAgencyIdentifier": owner}
    eido: dict[str, Any] = {"$id": f"{base}:header", **meta, "EIDOVersion": EIDO_VERSION,
                            "incidentTrackingIdentifier": f"urn:emergency:uid:incidentid:{iid}:{owner}",
                            "reasonForIssueRegistryText": "IncidentShared"}
    inc: dict[str, Any] = {}
    if "type_code" in rec:
        inc["incidentTypeInternalCode"] = str(rec["type_code"])
    if "type_name" in rec:
        inc["incidentTypeInternalText"] = str(rec["type_name"])
    if "status" in rec:
        inc["incidentStatusInternalText"] = [str(rec["status"])]
    if "priority" in rec:
        inc["incidentCommonPriorityNumber"] = int(rec["priority"])
    if "reported_at" in rec:
        inc["incidentReportedDateTime"] = str(rec["reported_at"])
    if inc:
        eido["incidentComponent"] = [{"$id": f"{base}:incident:0", **meta, **inc}]
    loc: dict[str, Any] = {}
    if "lon" in rec and "lat" in rec:
        loc["locationByValue"] = {"type": "Point", "coordinates": [_dec(rec["lon"]), _dec(rec["lat"])],
                                  "crs": "EPSG:4326"}
    if "address" in rec:
        loc["civicAddressText"] = str(rec["address"])
    if "town" in rec:
        loc["locationAreaName"] = str(rec["town"])
    if loc:
        eido["locationInformationComponent"] = [{"$id": f"{base}:locationinformation:0", **meta,
                                                 "locationTypeDescriptionRegistryText": "IncidentLocation", **loc}]
    if "agency" in rec:
        eido["agencyComponent"] = [{"$id": f"{base}:agency:0", **meta, "organizationIdentification": str(rec["agency"]),
                                    "incidentOwningAgencyIndicator": True}]
    if "summary" in rec:
        eido["notesComponent"] = [{"$id": f"{base}:notes:0", **meta, "notesActionCommentsText": str(rec["summary"])}]
    person = {}
    if "caller_name" in rec:
        person["personFullName"] = str(rec["caller_name"])
    if "caller_phone" in rec:
        person["personTelephoneNumber"] = str(rec["caller_phone"])
    if person:
        eido["personComponent"] = [{"$id": f"{base}:person:0", **meta, "personRoleRegistryText": "Caller", **person}]
    return eido


def _dec(v: Any) -> str:
    try:
        return f"{float(v):.7f}"
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"coordinate {v!r} is not a number", code="invalid_record") from exc


def _first(eido: Mapping[str, Any], key: str) -> dict[str, Any]:
    comp = eido.get(key)
    if comp is None:
        return {}
    if not isinstance(comp, list) or not comp or not isinstance(comp[0], dict):
        raise InvalidInput(f"EIDO {key} must be a non-empty list of objects", code="invalid_payload")
    return comp[0]


def eido_to_incident(eido: Mapping[str, Any]) -> dict[str, Any]:
    """The incident fields back from an EIDO-shaped object (the inverse of ``incident_to_eido``)."""
    if not isinstance(eido, Mapping) or eido.get("EIDOVersion") != EIDO_VERSION:
        raise InvalidInput(f"EIDO object of version {EIDO_VERSION} expected", code="invalid_payload")
    tid = str(eido.get("incidentTrackingIdentifier", ""))
    parts = tid.split(":")
    if len(parts) < 6 or parts[:4] != ["urn", "emergency", "uid", "incidentid"]:
        raise InvalidInput("EIDO incidentTrackingIdentifier is not urn:emergency:uid:incidentid:<id>:<owner>",
                           code="invalid_payload")
    rec: dict[str, Any] = {"id": ":".join(parts[4:-1])}
    inc = _first(eido, "incidentComponent")
    for src, dst in (("incidentTypeInternalCode", "type_code"), ("incidentTypeInternalText", "type_name"),
                     ("incidentReportedDateTime", "reported_at"), ("incidentCommonPriorityNumber", "priority")):
        if src in inc:
            rec[dst] = inc[src]
    if inc.get("incidentStatusInternalText"):
        rec["status"] = inc["incidentStatusInternalText"][0]
    loc = _first(eido, "locationInformationComponent")
    point = loc.get("locationByValue")
    if isinstance(point, dict) and point.get("type") == "Point":
        try:
            rec["lon"], rec["lat"] = (float(x) for x in point["coordinates"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("EIDO locationByValue has bad coordinates", code="invalid_payload") from exc
    for src, dst in (("civicAddressText", "address"), ("locationAreaName", "town")):
        if src in loc:
            rec[dst] = loc[src]
    ag = _first(eido, "agencyComponent")
    if "organizationIdentification" in ag:
        rec["agency"] = ag["organizationIdentification"]
    notes = _first(eido, "notesComponent")
    if "notesActionCommentsText" in notes:
        rec["summary"] = notes["notesActionCommentsText"]
    person = _first(eido, "personComponent")
    if "personFullName" in person:
        rec["caller_name"] = person["personFullName"]
    if "personTelephoneNumber" in person:
        rec["caller_phone"] = person["personTelephoneNumber"]
    return rec


def record_to_payload(rtype: str, rec: Mapping[str, Any], *, owner: str, sent_at: str) -> dict[str, Any]:
    if rtype == "incident":
        return incident_to_eido(rec, owner=owner, sent_at=sent_at)
    return {k: (_dec(v) if isinstance(v, float) else v) for k, v in rec.items()}


def payload_to_record(rtype: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    if rtype == "incident":
        return eido_to_incident(payload)
    if not isinstance(payload, Mapping):
        raise InvalidInput("record payload must be an object", code="invalid_payload")
    rec = dict(payload)
    for k in ("lon", "lat", "radius_km"):  # decimal strings on the wire
        if isinstance(rec.get(k), str):
            try:
                rec[k] = float(rec[k])
            except ValueError as exc:
                raise InvalidInput(f"{k} is not a number", code="invalid_payload") from exc
    return rec


# ------------------------------------------------------------------ cooperation requests


class RequestKind(StrEnum):
    EVIDENCE_COLLECTION = "evidence_collection"  # 委托取证
    ARREST_ASSISTANCE = "arrest_assistance"  # 协助抓捕
    IDENTITY_VERIFICATION = "identity_verification"  # 身份核查
    DOCUMENT_VERIFICATION = "document_verification"  # 证件核查
    CASE_TRANSFER = "case_transfer"  # 案件移交


class RequestStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class RequestEvent:
    at: datetime
    actor: str
    kind: str  # created | accepted | declined | progress | result | reminder | overdue | extended | withdrawn
    text: str


@dataclass(frozen=True)
class CoopRequest:
    id: str
    agreement_id: str
    kind: RequestKind
    title: str
    details: str
    outgoing: bool  # True: we asked; False: we were asked
    agency_id: str  # our agency on this request (requesting or requested)
    partner_agency_id: str | None
    peer_id: str | None
    deadline: datetime
    status: RequestStatus
    created_at: datetime
    created_by: str
    result: str | None = None
    answered_at: datetime | None = None
    reminded_at: datetime | None = None
    overdue_at: datetime | None = None
    events: tuple[RequestEvent, ...] = field(default_factory=tuple)

    def past_deadline(self, now: datetime) -> bool:
        return now >= self.deadline

    def overdue(self, now: datetime) -> bool:
        return self.status in (RequestStatus.OPEN, RequestStatus.ACCEPTED) and self.past_deadline(now)

    def require_open_for(self, action: str, now: datetime) -> None:
        if self.status in (RequestStatus.DECLINED, RequestStatus.COMPLETED, RequestStatus.WITHDRAWN):
            raise Conflict(f"request is {self.status.value}: cannot {action}", code="request_closed")
        if self.past_deadline(now):
            raise Conflict(f"request passed its deadline {self.deadline.isoformat()}: cannot {action} "
                           "(the requester may extend the deadline)", code="request_past_deadline")


# ------------------------------------------------------------------ coercive measures on enterprises

NOTICE_HOURS = 12


class MeasureKind(StrEnum):
    SEIZURE = "seizure"  # 查封
    IMPOUNDMENT = "impoundment"  # 扣押
    FREEZE = "freeze"  # 冻结
    DETENTION = "detention"  # 拘留
    ARREST = "arrest"  # 逮捕


class MeasureStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    TAKEN = "taken"


@dataclass(frozen=True)
class Enterprise:
    id: str
    name: str
    credit_code: str  # unified social credit code (统一社会信用代码)
    home_agency_id: str | None  # the agency where it is located (this deployment), or
    home_peer_id: str | None  # a peer deployment's agency
    flagged: bool  # a major project / key enterprise (seed 001, item 16)
    flag_reason: str | None


@dataclass(frozen=True)
class Measure:
    id: str
    enterprise_id: str
    kind: MeasureKind
    agency_id: str  # the acting agency
    case_ref: str
    basis: str
    status: MeasureStatus
    needs_approval: bool
    created_at: datetime
    created_by: str
    approver: str | None = None
    approved_at: datetime | None = None
    taken_at: datetime | None = None
    notice_due: datetime | None = None
    notified_at: datetime | None = None
    escalated_at: datetime | None = None

    def notice_state(self, now: datetime) -> str:
        """none (not taken) | pending | late_pending | on_time | late."""
        if self.taken_at is None or self.notice_due is None:
            return "none"
        if self.notified_at is None:
            return "late_pending" if now > self.notice_due else "pending"
        return "on_time" if self.notified_at <= self.notice_due else "late"


def notice_due(taken_at: datetime) -> datetime:
    return taken_at + timedelta(hours=NOTICE_HOURS)
