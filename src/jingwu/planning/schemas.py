"""Request bodies of the planning API (CSV tables travel as text inside JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_CSV = 20_000_000


class CoverageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    demand_csv: str = Field(max_length=MAX_CSV, description="id,weight,lon,lat")
    sites_csv: str = Field(max_length=MAX_CSV, description="id,lon,lat")
    costs_csv: str | None = Field(default=None, max_length=MAX_CSV, description="site,demand,cost (unit of T)")
    k: int = Field(description="sites to choose")
    within: float = Field(description="coverage limit T (seconds on the road graph, or the cost table's unit)")
    method: Literal["exact", "fast"] = "exact"
    backup: bool = False
    metric: Literal["time", "distance"] = "time"
    time_limit: float | None = Field(default=60.0, gt=0, le=600)


class HotspotsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incidents_csv: str = Field(max_length=MAX_CSV, description="time,lon,lat (ISO 8601 times)")
    days: str = Field(default="all", max_length=64)
    hours: str = Field(default="all", max_length=64)
    cell_m: float = 250.0
    bandwidth_m: float | None = None
    band_m: float | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    crowd: int
    name: str = Field(default="", max_length=200)
    core_min: float = 3.0
    control_min: float = 10.0
    diversion_min: float = 5.0
