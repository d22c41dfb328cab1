"""Pydantic request/response models of the platform API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    expires_in: int


class MeRead(BaseModel):
    id: str
    username: str
    display_name: str
    agency_id: str
    roles: list[str]
    permissions: list[str]


class AgencyRead(BaseModel):
    id: str
    parent_id: str | None
    kind: str
    code: str
    name: str
    name_en: str | None
    lon: float | None
    lat: float | None
    jurisdiction: dict[str, Any] | None = None
    source: str | None
    active: bool = True


class TownRead(BaseModel):
    id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    population: int
    population_note: str | None
    area_km2: float | None
    geometry: dict[str, Any] | None = None
    active: bool = True


class UnitRead(BaseModel):
    id: str
    call_sign: str
    kind: str
    agency_id: str
    status: str
    lon: float | None
    lat: float | None
    position_at: datetime | None
    travel_mode: str = Field(description="effective travel mode: the one set on the unit, else its kind's")
    travel_mode_set: str | None = Field(None, description="the mode an administrator set (None: follows the kind)")
    home_lon: float | None = None
    home_lat: float | None = None
    active: bool = True


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)
    agency_code: str
    roles: list[str] = Field(min_length=1)
    reason: str | None = None


class UserRead(BaseModel):
    id: str
    username: str
    display_name: str
    agency_id: str
    roles: list[str]
    active: bool


class AuditEntryRead(BaseModel):
    seq: int
    at: datetime | None = Field(description="null only on a malformed row (see problem)")
    actor: str
    agency_id: str | None
    action: str
    object_type: str
    object_id: str | None
    reason: str | None
    problem: str | None = Field(default=None, description="why the stored row is malformed, if it is")


class AuditVerifyRead(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


class Health(BaseModel):
    status: str
    database: str
    version: str


# ------------------------------------------------------------------ administration

class AgencyCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    parent_id: str | None = None
    name_en: str | None = Field(None, max_length=200)
    lon: float | None = None
    lat: float | None = None
    jurisdiction: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon (WGS84)")


class AgencyPatch(BaseModel):
    """Only the fields sent are changed; ``null`` clears an optional one."""

    code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    lon: float | None = None
    lat: float | None = None
    jurisdiction: dict[str, Any] | None = None
    active: bool | None = None


class AdminAgencyRead(AgencyRead):
    path: str


class TownCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    agency_id: str
    population: int
    name_en: str | None = Field(None, max_length=200)
    population_note: str | None = None
    geometry: dict[str, Any] | None = Field(None, description="boundary: GeoJSON Polygon or MultiPolygon (WGS84)")


class TownPatch(BaseModel):
    code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    agency_id: str | None = None
    population: int | None = None
    population_note: str | None = None
    geometry: dict[str, Any] | None = None
    active: bool | None = None


class UnitCreate(BaseModel):
    call_sign: str = Field(min_length=1, max_length=64)
    kind: str
    station_id: str
    travel_mode: str | None = Field(None, description="car | motorbike | foot | bicycle; omitted: from the kind")
    lon: float | None = Field(None, description="home position; omitted: the station's")
    lat: float | None = None


class UnitPatch(BaseModel):
    call_sign: str | None = Field(None, min_length=1, max_length=64)
    kind: str | None = None
    station_id: str | None = None
    travel_mode: str | None = None
    home_lon: float | None = None
    home_lat: float | None = None
    active: bool | None = None


class UserPatch(BaseModel):
    display_name: str | None = Field(None, min_length=1, max_length=200)
    roles: list[str] | None = None
    agency_id: str | None = None
    active: bool | None = None


class PasswordReset(BaseModel):
    password: str | None = Field(None, max_length=200, description="omitted: a temporary password is generated")


class PasswordResetRead(BaseModel):
    temporary_password: str | None = Field(None, description="the generated password, shown this once")
