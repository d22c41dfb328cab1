"""The cases feature's settings section (environment prefix ``JINGWU_CASES_``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CasesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_CASES_", env_file=None, extra="ignore")

    # rest days besides weekends (public holidays) and working weekends (调休), for the roll-over of
    # non-custody periods whose last day is a rest day (CPL Art. 105; Admin Rules Art. 35)
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    notify_within_minutes: int = Field(default=60, ge=1)  # parties are notified within this of a public change
    reminder_interval_s: float = Field(default=300.0, ge=0)  # the reminder job's period (0: off)
    public_failures: int = Field(default=5, ge=1)  # wrong lookups of one case number before a lockout
    public_address_failures: int = Field(default=20, ge=1)  # wrong lookups from one address before a lockout
    public_window_minutes: int = Field(default=15, ge=1)
    public_first_lockout_s: int = Field(default=60, ge=1)  # doubled at every further failure
    public_max_lockout_s: int = Field(default=3600, ge=1)
    decision_template: Path | None = None  # a Jinja2 HTML file replacing the built-in penalty decision template
