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


class UnitRead(BaseModel):
    id: str
    call_sign: str
    kind: str
    agency_id: str
    status: str
    lon: float | None
    lat: float | None
    position_at: datetime | None


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
    at: datetime
    actor: str
    agency_id: str | None
    action: str
    object_type: str
    object_id: str | None
    reason: str | None


class AuditVerifyRead(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


class Health(BaseModel):
    status: str
    database: str
    version: str
