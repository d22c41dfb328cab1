"""Request and response models of the simulation API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class RunBody(BaseModel):
    days: int = Field(7, ge=1, le=366, description="simulated days (the page runs up to a year)")
    calls_per_day: float = Field(1000.0, description="mean calls a day")
    units: int = Field(60, description="units on the roster (≥ 1)")
    policy: str = Field("all", description="nearest, fastest, coverage, a comma list or all")
    seed: int = 1
    target_s: float = Field(300.0, description="response target, seconds (> 0); also the coverage radius")
    tolerance_s: float = Field(60.0, description="coverage-aware rule: seconds within the fastest")
    handling_s: float = Field(60.0, description="call handling before departure, seconds")
    shifts: str = Field("", description='share of units on duty by hour, e.g. "0-7:0.6,22-24:0.8"')
    mix: str = Field("car=1", description='travel-mode mix, e.g. "car=3,foot=1"')
    roster: bool = Field(False, description="the deployment's own units (number, homes, travel modes) instead of "
                                            "units and mix")


class RunRead(BaseModel):
    id: str
    status: Literal["running", "done", "failed"]
    progress: float
    error: dict[str, str] | None = None
    result: dict[str, Any] | None = None
