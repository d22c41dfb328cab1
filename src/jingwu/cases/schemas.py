"""Request and response models of the cases API (``XPublic`` for the unauthenticated lookup)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TimelineEntry(BaseModel):
    at: str
    what: str
    actor: str = ""


class CaseCreate(BaseModel):
    track: str = Field(description="criminal | administrative")
    title: str
    summary: str = ""
    agency_code: str | None = None
    investigators: list[str] = []
    legal_officer: str | None = None
    incident_id: str | None = Field(default=None, max_length=64)
    incident_timeline: list[dict[str, Any]] = Field(
        default=[], description="the incident's timeline as dispatch shows it ([{at, what, actor}]): cases do not "
                                "read dispatch's store, the caller passes the snapshot")
    accepted_at: datetime | None = None
    reason: str = "受理"


class CaseCreated(BaseModel):
    id: str
    number: str


class TransitionBody(BaseModel):
    to: str
    reason: str
    at: datetime | None = None


class EventBody(BaseModel):
    event: str
    at: datetime | None = None
    subject: str | None = None
    reason: str = ""


class AssignBody(BaseModel):
    username: str
    duty: str = "investigator"


class PartyCreate(BaseModel):
    role: str
    name: str
    contact: str = "none"
    lang: str = "zh-CN"
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    address: str | None = None
    related_party_id: str | None = None


class CodeIssued(BaseModel):
    case_number: str
    code: str = Field(description="shown once; stored only as a keyed hash")


class PropertyCreate(BaseModel):
    description: str
    category: str
    storage_place: str
    quantity: int = 1
    owner_party_id: str | None = None
    seized_at: datetime | None = None


class RegisterAction(BaseModel):
    action: str
    note: str = ""
    storage_place: str | None = None
    at: datetime | None = None


class AccountCreate(BaseModel):
    bank: str
    number: str
    amount: str = Field(description="decimal yuan, e.g. 12000.50")
    currency: str = "CNY"
    holder_party_id: str | None = None
    frozen_at: datetime | None = None
    expires_at: datetime | None = None


class DecisionBody(BaseModel):
    offender_party_id: str
    facts: str
    legal_basis: str
    penalty: str
    reason: str = "作出行政处罚决定"
    fine_yuan: str | None = None
    remedies: str = ""
    template: str | None = Field(default=None, description="a Jinja2 HTML template using the decision fields")


class DeadlineRead(BaseModel):
    rule: str
    title_zh: str
    title_en: str
    source: str
    started_at: datetime
    due: datetime
    status: str
    subject: str | None
    done_at: datetime | None
    extended: int
    public: bool


class ListRow(BaseModel):
    id: str
    number: str
    title: str
    track: str
    state: str
    agency: str
    staff: list[str]
    incident_id: str | None
    worst: str | None
    next_due: datetime | None
    deadlines: list[DeadlineRead]


class RuleRead(BaseModel):
    name: str
    event: str
    period: str
    done_by: list[str]
    extensions: list[str]
    title_zh: str
    title_en: str
    source: str
    track: str | None
    custody: bool
    public: bool


class PublicTimeline(BaseModel):
    at: datetime
    state: str
    label: dict[str, str]


class PublicNextStep(BaseModel):
    title: dict[str, str]
    due: datetime
    source: str


class PublicProperty(BaseModel):
    category: str
    quantity: int
    status: str
    description: str
    seized_at: datetime
    updated_at: datetime


class PublicAccount(BaseModel):
    bank: str
    account: str
    amount: str
    currency: str
    status: str
    frozen_at: datetime
    expires_at: datetime | None
    released_at: datetime | None


class CasePublic(BaseModel):
    """What a party sees: no personal data of anyone."""

    case_number: str
    track: str
    state: str
    state_label: dict[str, str]
    your_role: str
    unit: dict[str, str]
    timeline: list[PublicTimeline]
    next_step: PublicNextStep | None
    property: list[PublicProperty]
    accounts: list[PublicAccount]
    decision_html: str | None
