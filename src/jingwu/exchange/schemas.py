"""Pydantic bodies of the exchange API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AgreementBody(BaseModel):
    agency_code: str = Field(description="our agency (its code)")
    partner_agency_code: str | None = Field(default=None, description="the partner agency of this deployment")
    peer_id: str | None = Field(default=None, description="or the partner deployment (peer id)")
    peer_agency_code: str | None = Field(default=None, description="the partner agency's code in that deployment")
    peer_agency_name: str | None = None
    outgoing: dict[str, list[str]] = Field(default_factory=dict, description="{record type: [fields]} we send")
    incoming: dict[str, list[str]] = Field(default_factory=dict, description="{record type: [fields]} we accept")
    purpose: str = Field(min_length=1, max_length=2000)
    valid_from: datetime
    valid_to: datetime


class RevokeBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ShareBody(BaseModel):
    record_type: str
    record: dict[str, Any]


class RequestBody(BaseModel):
    agreement_id: str
    kind: str = Field(description="evidence_collection | arrest_assistance | identity_verification | "
                                  "document_verification | case_transfer")
    title: str = Field(min_length=1, max_length=300)
    details: str = Field(default="", max_length=8000)
    deadline: datetime


class RequestActionBody(BaseModel):
    action: str = Field(description="accept | decline | progress | result | extend | withdraw")
    text: str = Field(default="", max_length=8000)
    deadline: datetime | None = Field(default=None, description="extend: the new deadline")


class EnterpriseBody(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    credit_code: str
    flagged: bool = False
    flag_reason: str | None = None
    home_agency_code: str | None = None
    home_peer_id: str | None = None


class MeasureBody(BaseModel):
    enterprise_id: str
    kind: str = Field(description="seizure | impoundment | freeze | detention | arrest")
    agency_code: str
    case_ref: str = Field(min_length=1, max_length=100)
    basis: str = Field(min_length=1, max_length=4000)


class DecisionBody(BaseModel):
    approve: bool
    reason: str = Field(default="", max_length=2000)


class NoticeBody(BaseModel):
    text: str = Field(default="", max_length=4000)


class DisputeBody(BaseModel):
    agency_code: str = Field(description="the agency raising the dispute")
    other_agency_code: str
    subject: str = Field(min_length=1, max_length=300, description="the case or incident in dispute")
    question: str = Field(min_length=1, max_length=8000)


class ArgumentBody(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


class DisputeDecisionBody(BaseModel):
    competent_agency_code: str
    reasoning: str = Field(min_length=1, max_length=8000)


class RiskBody(BaseModel):
    agency_code: str
    kind: str = Field(description="hazmat_site | project_dispute | border_hotspot | other")
    title: str = Field(min_length=1, max_length=300)
    place: str = Field(min_length=1, max_length=300)
    level: str = Field(description="low | medium | high | critical")
    owner: str = Field(min_length=1, max_length=200, description="the officer or unit answering for it")
    lon: float | None = None
    lat: float | None = None
    next_review: datetime | None = None


class FollowUpBody(BaseModel):
    text: str = Field(min_length=1, max_length=8000)
    status: str | None = Field(default=None, description="open | mitigating | closed")
    level: str | None = None
    next_review: datetime | None = None


class RiskShareBody(BaseModel):
    agreement_id: str


class PatrolBody(BaseModel):
    agreement_id: str
    kind: str = Field(description="patrol | checkpoint")
    title: str = Field(min_length=1, max_length=300)
    place: str = Field(min_length=1, max_length=300)
    starts_at: datetime
    ends_at: datetime
    units: int = Field(ge=1, le=1000)
    lon: float | None = None
    lat: float | None = None


class ConfirmBody(BaseModel):
    units: int = Field(ge=1, le=1000)
