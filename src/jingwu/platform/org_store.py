"""The organisation's storage: agency, town and unit rows and their repositories (agencies in a
hierarchy of paths, towns of an agency, units with their status and position).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Session

from jingwu.platform.domain import travel_mode_of
from jingwu.platform.errors import NotFound
from jingwu.platform.tables import agencies, in_subtree, metadata, new_id, subtree_pattern, towns, units


@dataclass(frozen=True)
class AgencyRow:
    id: str
    parent_id: str | None
    kind: str
    code: str
    name: str
    name_en: str | None
    path: str
    lon: float | None
    lat: float | None
    jurisdiction: dict[str, Any] | None
    source: str | None
    active: bool = True


@dataclass(frozen=True)
class TownRow:
    id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    agency_path: str
    population: int
    population_note: str | None
    area_km2: float | None
    geometry: dict[str, Any] | None
    active: bool = True


@dataclass(frozen=True)
class UnitRow:
    id: str
    call_sign: str
    kind: str
    agency_id: str
    agency_path: str
    status: str
    home_lon: float
    home_lat: float
    lon: float | None
    lat: float | None
    position_at: datetime | None
    incident_id: str | None = None
    status_at: datetime | None = None
    last_contact_at: datetime | None = None
    active: bool = True
    travel_mode: str | None = None  # as set by an administrator; None: follows the kind

    @property
    def mode(self) -> str:
        """The effective travel mode (``travel_mode_of``): the set one, else the kind's."""
        return travel_mode_of(self.kind, self.travel_mode).value


def _geo(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _agency(r: Any) -> AgencyRow:
    return AgencyRow(r.id, r.parent_id, r.kind, r.code, r.name, r.name_en, r.path, r.lon, r.lat,
                     _geo(r.jurisdiction), r.source,
                     bool(r.active))


# ---------------------------------------------------------------- shared writes

# History, not references: an audit entry or an outbox row about an object never keeps it "in use".
_NOT_REFERENCES = frozenset({"audit_log", "audit_head", "outbox"})


def references(s: Session, target: Table, ref_name: str, object_id: str) -> dict[str, int]:
    """What refers to ``object_id`` (a row of ``target``): rows per table of every declared table (any
    feature's, through the shared metadata) with a foreign key to ``target`` or a column named
    ``ref_name`` (e.g. ``town_id``, which some features keep without a foreign key). Only non-zero counts."""
    out: dict[str, int] = {}
    present = set(inspect(s.connection()).get_table_names())  # declared tables that this database has
    for t in metadata.sorted_tables:
        if t.name in _NOT_REFERENCES or t.name not in present:
            continue
        cols = {fk.parent for fk in t.foreign_keys if fk.column.table is target}
        if ref_name in t.c:
            cols.add(t.c[ref_name])
        if not cols:
            continue
        n = int(s.execute(select(func.count()).select_from(t).where(or_(*(c == object_id for c in cols))))
                .scalar_one())
        if n:
            out[t.name] = n
    return out


def update_row(s: Session, table: Table, object_id: str, values: dict[str, Any]) -> None:
    if values:
        s.execute(update(table).where(table.c.id == object_id).values(**values))


def delete_row(s: Session, table: Table, object_id: str) -> None:
    s.execute(delete(table).where(table.c.id == object_id))


# ---------------------------------------------------------------- repositories

class AgencyRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, id: str, parent_id: str | None, kind: str, code: str, name: str, name_en: str | None,
            path: str, lon: float | None, lat: float | None, jurisdiction: dict[str, Any] | None,
            source: str | None, at: datetime) -> None:
        self.s.execute(insert(agencies).values(
            id=id, parent_id=parent_id, kind=kind, code=code, name=name, name_en=name_en, path=path,
            lon=lon, lat=lat, jurisdiction=json.dumps(jurisdiction) if jurisdiction else None,
            source=source, created_at=at))

    def get(self, agency_id: str) -> AgencyRow:
        r = self.s.execute(select(agencies).where(agencies.c.id == agency_id)).one_or_none()
        if r is None:
            raise NotFound(f"Agency {agency_id} does not exist.")
        return _agency(r)

    def by_code(self, code: str) -> AgencyRow | None:
        r = self.s.execute(select(agencies).where(agencies.c.code == code)).one_or_none()
        return _agency(r) if r else None

    def in_subtree(self, path: str, kind: str | None = None) -> list[AgencyRow]:
        q = select(agencies).where(in_subtree(agencies.c.path, path))
        if kind:
            q = q.where(agencies.c.kind == kind)
        return [_agency(r) for r in self.s.execute(q.order_by(agencies.c.path))]

    def count(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(agencies)).scalar_one())

    def update(self, agency_id: str, values: dict[str, Any]) -> None:
        if "jurisdiction" in values:
            values = {**values, "jurisdiction": json.dumps(values["jurisdiction"]) if values["jurisdiction"] else None}
        update_row(self.s, agencies, agency_id, values)

    def references(self, agency_id: str) -> dict[str, int]:
        return references(self.s, agencies, "agency_id", agency_id)

    def delete(self, agency_id: str) -> None:
        delete_row(self.s, agencies, agency_id)


class TownRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, code: str, name: str, name_en: str | None, agency_id: str, population: int,
            population_note: str | None, area_km2: float | None, geometry: dict[str, Any] | None,
            at: datetime) -> str:
        tid = new_id()
        self.s.execute(insert(towns).values(
            id=tid, code=code, name=name, name_en=name_en, agency_id=agency_id, population=population,
            population_note=population_note, area_km2=area_km2,
            geometry=json.dumps(geometry) if geometry else None, created_at=at))
        return tid

    def _q(self) -> Any:
        return select(towns, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == towns.c.agency_id)

    def _row(self, r: Any) -> TownRow:
        return TownRow(r.id, r.code, r.name, r.name_en, r.agency_id, r.agency_path, r.population,
                       r.population_note, r.area_km2, _geo(r.geometry), bool(r.active))

    def get(self, town_id: str) -> TownRow:
        r = self.s.execute(self._q().where(towns.c.id == town_id)).one_or_none()
        if r is None:
            raise NotFound(f"Town {town_id} does not exist.")
        return self._row(r)

    def all(self) -> list[TownRow]:
        return [self._row(r) for r in self.s.execute(self._q().order_by(towns.c.code))]

    def active(self) -> list[TownRow]:
        """The towns in service: what new events and calls are placed in."""
        return [self._row(r) for r in self.s.execute(self._q().where(towns.c.active.is_(True))
                                                     .order_by(towns.c.code))]

    def by_code(self, code: str) -> TownRow | None:
        r = self.s.execute(self._q().where(towns.c.code == code)).one_or_none()
        return self._row(r) if r else None

    def update(self, town_id: str, values: dict[str, Any]) -> None:
        if "geometry" in values:
            values = {**values, "geometry": json.dumps(values["geometry"]) if values["geometry"] else None}
        update_row(self.s, towns, town_id, values)

    def references(self, town_id: str) -> dict[str, int]:
        return references(self.s, towns, "town_id", town_id)

    def delete(self, town_id: str) -> None:
        delete_row(self.s, towns, town_id)


# Built once: the hot read paths (recommendations) skip building and cache-keying a new expression each call.
_UNITS_IN_SUBTREE = (select(units, agencies.c.path.label("agency_path"))
                     .join(agencies, agencies.c.id == units.c.agency_id)
                     .where(in_subtree(agencies.c.path, bindparam("pattern"))).order_by(units.c.call_sign))


class UnitRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, call_sign: str, kind: str, agency_id: str, lon: float, lat: float, at: datetime,
            travel_mode: str | None = None) -> str:
        uid = new_id()
        self.s.execute(insert(units).values(
            id=uid, call_sign=call_sign, kind=kind, agency_id=agency_id, status="available",
            home_lon=lon, home_lat=lat, lon=lon, lat=lat, position_at=at, created_at=at, travel_mode=travel_mode))
        return uid

    def by_call_sign(self, call_sign: str) -> UnitRow | None:
        r = self.s.execute(self._q().where(units.c.call_sign == call_sign)).one_or_none()
        return self._row(r) if r else None

    def update(self, unit_id: str, values: dict[str, Any]) -> None:
        update_row(self.s, units, unit_id, values)

    def references(self, unit_id: str) -> dict[str, int]:
        return references(self.s, units, "unit_id", unit_id)

    def delete(self, unit_id: str) -> None:
        delete_row(self.s, units, unit_id)

    def _q(self) -> Any:
        return select(units, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == units.c.agency_id)

    def _row(self, r: Any) -> UnitRow:
        return UnitRow(r.id, r.call_sign, r.kind, r.agency_id, r.agency_path, r.status, r.home_lon,
                       r.home_lat, r.lon, r.lat, r.position_at, r.incident_id, r.status_at, r.last_contact_at,
                       bool(r.active), r.travel_mode)

    def get(self, unit_id: str) -> UnitRow:
        r = self.s.execute(self._q().where(units.c.id == unit_id)).one_or_none()
        if r is None:
            raise NotFound(f"Unit {unit_id} does not exist.")
        return self._row(r)

    def in_subtree(self, path: str) -> list[UnitRow]:
        return [self._row(r) for r in self.s.execute(_UNITS_IN_SUBTREE, {"pattern": subtree_pattern(path)})]

    def count(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(units)).scalar_one())
