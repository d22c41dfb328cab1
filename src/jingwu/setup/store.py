"""Setup's reads and writes on the organisation's tables (agencies, towns, units), by code: what exists
now (for the plan) and the upserts (for applying it). Runs inside the caller's unit of work; the platform's
repositories insert, this module updates in place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from jingwu.platform.domain import agency_path
from jingwu.platform.tables import agencies, new_id, towns, units
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.setup.records import AgencyRec, TownRec, UnitRec, norm_geojson, rnd


@dataclass
class Existing:
    """The organisation as stored, keyed by code (call sign for units), in the shape records compare in."""

    agencies: dict[str, dict[str, Any]]  # code -> compared fields + id, parent (code), path
    towns: dict[str, dict[str, Any]]
    units: dict[str, dict[str, Any]]
    usernames: set[str]


def _geo(text: str | None) -> dict[str, Any] | None:
    return norm_geojson(json.loads(text)) if text else None


def read_existing(uow: SqlUnitOfWork, admin_username: str) -> Existing:
    s = uow.session
    rows = s.execute(select(agencies)).all()
    code_of = {r.id: r.code for r in rows}
    ag = {r.code: {"id": r.id, "parent": code_of.get(r.parent_id) if r.parent_id else None, "path": r.path,
                   "name": r.name, "name_en": r.name_en, "kind": r.kind, "lon": rnd(r.lon), "lat": rnd(r.lat),
                   "source": r.source, "jurisdiction": _geo(r.jurisdiction)} for r in rows}
    tw = {r.code: {"id": r.id, "name": r.name, "name_en": r.name_en, "agency": code_of[r.agency_id],
                   "population": r.population, "population_note": r.population_note,
                   "area_km2": None if r.area_km2 is None else round(r.area_km2, 3), "geometry": _geo(r.geometry)}
          for r in s.execute(select(towns)).all()}
    un = {r.call_sign: {"id": r.id, "kind": r.kind, "station": code_of[r.agency_id], "home_lon": rnd(r.home_lon),
                        "home_lat": rnd(r.home_lat)} for r in s.execute(select(units)).all()}
    names = {admin_username} if uow.users.by_username(admin_username) is not None else set()
    return Existing(ag, tw, un, names)


def upsert_agency(uow: SqlUnitOfWork, r: AgencyRec, ids: dict[str, tuple[str, str]], at: datetime) -> None:
    """Insert or update one agency; ``ids`` maps code -> (id, path) and is extended with new agencies
    (parents come before children)."""
    geo = norm_geojson(r.jurisdiction)
    if r.code in ids:
        uow.session.execute(update(agencies).where(agencies.c.code == r.code).values(
            name=r.name, name_en=r.name_en, lon=r.lon, lat=r.lat, source=r.source,
            jurisdiction=json.dumps(geo) if geo else None))
        return
    aid = new_id()
    parent = ids[r.parent] if r.parent else None
    path = agency_path(parent[1] if parent else None, aid)
    uow.agencies.add(id=aid, parent_id=parent[0] if parent else None, kind=r.kind, code=r.code, name=r.name,
                     name_en=r.name_en, path=path, lon=r.lon, lat=r.lat, jurisdiction=geo, source=r.source, at=at)
    ids[r.code] = (aid, path)


def upsert_town(uow: SqlUnitOfWork, t: TownRec, exists: bool, agency_id: str, at: datetime) -> None:
    geo = norm_geojson(t.geometry)
    area = None if t.area_km2 is None else round(t.area_km2, 3)
    if exists:
        uow.session.execute(update(towns).where(towns.c.code == t.code).values(
            name=t.name, name_en=t.name_en, agency_id=agency_id, population=t.population,
            population_note=t.population_note, area_km2=area, geometry=json.dumps(geo) if geo else None))
        return
    uow.towns.add(code=t.code, name=t.name, name_en=t.name_en, agency_id=agency_id, population=t.population,
                  population_note=t.population_note, area_km2=area, geometry=geo, at=at)


def upsert_unit(uow: SqlUnitOfWork, u: UnitRec, exists: bool, agency_id: str, at: datetime) -> None:
    assert u.home is not None
    lon, lat = rnd(u.home[0]), rnd(u.home[1])
    if exists:
        uow.session.execute(update(units).where(units.c.call_sign == u.call_sign).values(
            kind=u.kind, agency_id=agency_id, home_lon=lon, home_lat=lat))
        return
    uow.units.add(call_sign=u.call_sign, kind=u.kind, agency_id=agency_id, lon=lon, lat=lat, at=at)  # type: ignore[arg-type]
