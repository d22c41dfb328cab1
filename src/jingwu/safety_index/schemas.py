"""Pydantic models of the Safety Index API: the authenticated per-town index,
the public (aggregate-only) index, trend series, supervision tickets and the
period assessment."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from pydantic import BaseModel, Field


class TownScoreRead(BaseModel):
    town_id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    population: int
    score: float = Field(description="0–100 against the town's own baseline")
    band: str = Field(description="green | blue | yellow | orange | red")
    rank: int = Field(description="1 = safest of all towns that day")
    sub_indices: dict[str, float] = Field(description="order, fire, traffic, drugs, fraud: 0–100 each")
    rates_per_10k: dict[str, float] = Field(description="mean daily harm per 10,000 residents, last 7 days")
    total_rate_per_10k: float
    count_7d: int
    deaths_7d: int
    warnings: list[str]


class IndexRead(BaseModel):
    date: date
    towns: list[TownScoreRead]


class PublicTownRead(BaseModel):
    town_code: str
    name: str
    name_en: str | None
    score: float
    band: str
    rank: int
    sub_indices: dict[str, float]
    incidents_7d: int | None = Field(description="incidents in the last 7 days; null when fewer than 3")
    incidents_7d_suppressed: bool
    rate_per_10k: float | None = Field(description="mean daily harm per 10,000 residents; null when suppressed")
    warnings: list[str]


class PublicIndexRead(BaseModel):
    date: dt.date
    first_date: dt.date | None
    last_date: dt.date | None
    method: str = "docs/methods/safety-index.md (Jingwu source tree)"
    towns: list[PublicTownRead]


class SeriesPointRead(BaseModel):
    date: date
    score: float
    band: str
    rank: int


class SeriesRead(BaseModel):
    town_code: str
    name: str
    name_en: str | None
    points: list[SeriesPointRead]


class TicketActionRead(BaseModel):
    at: datetime
    actor: str
    text: str


class TicketRead(BaseModel):
    id: str
    town_id: str
    agency_id: str
    home_agency_id: str
    date: date
    reasons: list[str]
    status: str
    owner: str | None
    opened_at: datetime
    deadline: datetime
    overdue: bool
    escalation_level: int
    actions: list[TicketActionRead]
    closed_at: datetime | None
    closure: str | None


class AssignBody(BaseModel):
    owner: str = Field(min_length=1, max_length=200)


class ActionBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class CloseBody(BaseModel):
    closure: str = Field(min_length=1, max_length=4000)


class ComputeBody(BaseModel):
    from_date: date | None = Field(default=None, alias="from")
    to_date: date | None = Field(default=None, alias="to")


class ComputeRead(BaseModel):
    first: date | None
    last: date | None
    days: int
    towns: int
    warnings: int
    tickets_opened: int
    notes: list[str]


class AssessmentRead(BaseModel):
    id: str
    name: str
    towns: int
    days: int
    mean_score: float | None
    min_score: float | None
    band_days: dict[str, int]
    warnings: int
    tickets_opened: int
    tickets_closed: int
    tickets_closed_on_time: int
    tickets_escalated: int
    tickets_open: int
    previous_year_mean: float | None
    period_days: int = Field(description="calendar town-days in the period (days × towns)")
    coverage: float | None = Field(description="scored town-days behind mean_score / period_days")
    previous_year_days: int = Field(description="scored town-days behind previous_year_mean")
    previous_year_coverage: float | None = Field(description="previous_year_days / period_days")


class AssessmentReport(BaseModel):
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    towns: list[AssessmentRead]
    agencies: list[AssessmentRead]

    model_config = {"populate_by_name": True}
