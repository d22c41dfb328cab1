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
    state: str = Field(description="scored | no_data (before the town's own 91 days of history, after the "
                                   "data's horizon, or a day not computed): a no-data town has nulls")
    score: float | None = Field(description="0–100 against the town's own baseline; null: no data")
    band: str | None = Field(description="green | blue | yellow | orange | red; null: no data")
    rank: int | None = Field(description="1 = safest of the scored towns that day; null: no data")
    sub_indices: dict[str, float] | None = Field(description="order, fire, traffic, drugs, fraud: 0–100 each")
    rates_per_10k: dict[str, float] | None = Field(
        description="mean daily harm per 10,000 residents, last 7 days")
    total_rate_per_10k: float | None
    count_7d: int | None
    deaths_7d: int | None
    warnings: list[str]
    note: str | None = Field(default=None, description="method v2: why the band and the warnings tell different "
                             "stories (warning_low_harm | harm_not_significant | few_events_capped); null otherwise")


class IndexRead(BaseModel):
    date: date
    ranked_towns: int = Field(description="towns scored (and ranked) city-wide that day")
    towns: list[TownScoreRead]


class PublicTownRead(BaseModel):
    town_code: str
    name: str
    name_en: str | None
    state: str = Field(description="scored | no_data; a no-data town has score, band, rank and sub-indices null")
    score: float | None
    band: str | None
    rank: int | None = Field(description="1 = safest of the scored towns that day")
    sub_indices: dict[str, float] | None
    incidents_7d: int | None = Field(description="incidents in the last 7 days; null when fewer than 3 "
                                                 "(or no data)")
    incidents_7d_suppressed: bool
    rate_per_10k: float | None = Field(description="mean daily harm per 10,000 residents; null when suppressed")
    warnings: list[str]
    note: str | None = Field(default=None, description="method v2: why the band and the warnings tell different "
                             "stories (warning_low_harm | harm_not_significant | few_events_capped); null otherwise")


class PublicIndexRead(BaseModel):
    date: dt.date
    first_date: dt.date | None
    last_date: dt.date | None
    ranked_towns: int = Field(description="towns scored and ranked that day; the others have no data")
    total_towns: int
    method: str = "docs/methods/safety-index.md (Jingwu source tree)"
    towns: list[PublicTownRead]


class SeriesPointRead(BaseModel):
    date: date
    state: str = Field(description="scored | no_data")
    score: float | None
    band: str | None
    rank: int | None


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
