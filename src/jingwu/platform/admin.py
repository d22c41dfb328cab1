"""Organisation administration: create, read, update, deactivate and delete agencies (stations are agencies
of kind ``station``), towns and units; change users' roles and agency, enable, disable, reset passwords.

Every use case checks the caller's scope (``Permission.MANAGE_ORG`` / ``MANAGE_USERS`` at the agency
subtree, ``Principal.require``), validates, writes one audit entry with the before and after values of the
changed fields (never a password) and emits ``ORG_CHANGED`` so that per-process caches (dispatch's
placement helper, the Safety Index's town locator) rebuild without a restart. Deleting what is in use is
refused (409 ``in_use``, naming what uses it); deactivation keeps the row and its history.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

from jingwu.platform import services
from jingwu.platform.areas import checked_polygon
from jingwu.platform.domain import (
    AGENCY_PARENT,
    AgencyKind,
    Permission,
    Principal,
    Role,
    TravelMode,
    UnitKind,
    agency_path,
)
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.org_store import AgencyRow, TownRow, UnitRow
from jingwu.platform.security import hash_password
from jingwu.platform.services import MIN_PASSWORD, PrincipalCache
from jingwu.platform.tables import new_id
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.platform.user_store import UserRow

ORG_CHANGED = "jingwu.platform.org_changed"
STATION_KINDS = (AgencyKind.STATION.value, AgencyKind.FIRE_STATION.value)

# What a reference count names, for the ``in_use`` message.
_USED_BY = {"agencies": "sub-agencies", "units": "units", "users": "users", "towns": "towns",
            "incidents": "incidents", "assignments": "assignments (dispatch history)", "alarm_devices":
            "alarm devices", "alerts": "alerts", "si_incidents": "Safety Index incident facts",
            "si_scores": "Safety Index scores", "si_warnings": "Safety Index warnings",
            "si_tickets": "supervision tickets"}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: {"before": x, "after": y}} for the fields whose value changes."""
    return {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}


def _refuse_in_use(what: str, refs: dict[str, int]) -> None:
    if refs:
        uses = ", ".join(f"{n} {_USED_BY.get(t, t)}" for t, n in sorted(refs.items()))
        raise Conflict(f"{what} is in use ({uses}); deactivate it instead.", code="in_use")


def _emit(uow: SqlUnitOfWork, entity: str, object_id: str, agency_id: str | None) -> None:
    uow.emit(ORG_CHANGED, {"entity": entity, "id": object_id, "agency_id": agency_id})


NULLABLE_AGENCY = frozenset({"name_en", "jurisdiction", "lon", "lat"})
NULLABLE_TOWN = frozenset({"name_en", "geometry", "population_note"})
NULLABLE_UNIT = frozenset({"travel_mode", "home_lon", "home_lat"})
NULLABLE_USER = frozenset[str]()


def refuse_nulls(changes: dict[str, Any], nullable: frozenset[str], what: str) -> None:
    """A PATCH that sends null for a required field is refused (422 ``null_value``), never read as
    "false" or "empty": leaving a field out keeps it."""
    nulls = sorted(k for k, v in changes.items() if v is None and k not in nullable)
    if nulls:
        raise InvalidInput(f"{nulls} of {what} cannot be emptied; leave a field out to keep it.", code="null_value")


def _position(lon: float | None, lat: float | None, what: str) -> None:
    if (lon is None) != (lat is None):
        raise InvalidInput(f"The {what} position needs both lon and lat.", code="invalid_position")
    if lon is None or lat is None:
        return
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"The {what} position ({lon}, {lat}) is out of range: lon −180…180, lat −90…90.",
                           code="invalid_position")


def _text(value: Any, field: str, max_len: int = 200, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field} is required.", code="missing_field")
        return None
    s = str(value).strip()
    if len(s) > max_len:
        raise InvalidInput(f"{field}: at most {max_len} characters.", code="invalid_input")
    return s


def _code(value: Any, field: str = "code") -> str:
    s = _text(value, field, 64)
    assert s is not None
    if any(c.isspace() or c in "/%" for c in s):
        raise InvalidInput(f"{field} '{s}': no spaces, '/' or '%'.", code="invalid_code")
    return s


def _agency_values(a: AgencyRow) -> dict[str, Any]:
    return {"code": a.code, "name": a.name, "name_en": a.name_en, "lon": a.lon, "lat": a.lat,
            "jurisdiction": "polygon" if a.jurisdiction else None, "active": a.active}


# ================================================================ agencies

@dataclass(frozen=True)
class AgencyInput:
    code: str
    name: str
    kind: str
    parent_id: str | None = None
    name_en: str | None = None
    lon: float | None = None
    lat: float | None = None
    jurisdiction: dict[str, Any] | None = None


def list_agencies(p: Principal, *, uow: SqlUnitOfWork) -> list[AgencyRow]:
    """Every agency the caller administers (its subtree), active or not, in tree order."""
    return services.list_agencies(p, uow=uow, need=Permission.MANAGE_ORG)


def get_agency(p: Principal, agency_id: str, *, uow: SqlUnitOfWork) -> AgencyRow:
    return services.get_agency(p, agency_id, uow=uow, need=Permission.MANAGE_ORG)


def create_agency(p: Principal | None, cmd: AgencyInput, *, uow: SqlUnitOfWork) -> str:
    """A new agency under ``parent_id`` (None: a root, which only the command line may create)."""
    try:
        kind = AgencyKind(cmd.kind)
    except ValueError:
        raise InvalidInput(f"Unknown agency kind '{cmd.kind}'; known: {[k.value for k in AgencyKind]}.",
                           code="unknown_agency_kind") from None
    code = _code(cmd.code)
    name = _text(cmd.name, "name")
    name_en = _text(cmd.name_en, "name_en", required=False)
    _position(cmd.lon, cmd.lat, "agency")
    jur = checked_polygon(cmd.jurisdiction, what="jurisdiction")[0] if cmd.jurisdiction else None
    with uow:
        parent = uow.agencies.get(cmd.parent_id) if cmd.parent_id else None
        if p is not None:
            p.require(Permission.MANAGE_ORG)
            if parent is None:
                raise Forbidden("Only the command line (the root) creates a top-level agency.", code="out_of_scope")
            p.require(Permission.MANAGE_ORG, parent.path)
        parent_kind = AgencyKind(parent.kind) if parent else None
        if parent_kind not in AGENCY_PARENT[kind]:
            raise InvalidInput(f"A {kind.value} cannot sit under {parent_kind or 'nothing'}.",
                               code="invalid_agency_tree")
        if parent is not None and not parent.active:
            raise InvalidInput(f"The parent agency '{parent.code}' is inactive.", code="inactive_parent")
        if uow.agencies.by_code(code) is not None:
            raise Conflict(f"Agency code '{code}' exists.", code="agency_code_taken")
        aid = new_id()
        uow.agencies.add(id=aid, parent_id=parent.id if parent else None, kind=kind.value, code=code, name=name or "",
                         name_en=name_en, path=agency_path(parent.path if parent else None, aid), lon=cmd.lon,
                         lat=cmd.lat, jurisdiction=jur, source="admin", at=uow.clock.now())
        after = {"code": code, "kind": kind.value, "name": name, "name_en": name_en, "lon": cmd.lon, "lat": cmd.lat,
                 "jurisdiction": "polygon" if jur else None, "parent_id": parent.id if parent else None}
        uow.audit.write(actor=p.username if p else "cli", action="agency_created", object_type="agency",
                        object_id=aid, agency_id=aid, detail={"after": after})
        _emit(uow, "agency", aid, aid)
        uow.commit()
    return aid


AGENCY_FIELDS = ("code", "name", "name_en", "lon", "lat", "jurisdiction", "active")


def update_agency(p: Principal, agency_id: str, changes: dict[str, Any], *, uow: SqlUnitOfWork) -> AgencyRow:
    """Change an agency's code, names, position, jurisdiction or ``active`` flag (its kind and parent are
    fixed: the tree's paths hang on them). Deactivating needs the scope of the parent: an administrator
    cannot switch off the agency they belong to."""
    unknown = set(changes) - set(AGENCY_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {sorted(unknown)} of an agency; changeable: {list(AGENCY_FIELDS)}.",
                           code="invalid_input")
    refuse_nulls(changes, NULLABLE_AGENCY, "an agency")
    values: dict[str, Any] = {}
    if "code" in changes:
        values["code"] = _code(changes["code"])
    if "name" in changes:
        values["name"] = _text(changes["name"], "name")
    if "name_en" in changes:
        values["name_en"] = _text(changes["name_en"], "name_en", required=False)
    if "jurisdiction" in changes:
        values["jurisdiction"] = (checked_polygon(changes["jurisdiction"], what="jurisdiction")[0]
                                  if changes["jurisdiction"] else None)
    if "active" in changes:
        values["active"] = bool(changes["active"])
    with uow:
        a = uow.agencies.get(agency_id)
        p.require(Permission.MANAGE_ORG, a.path)
        if "lon" in changes or "lat" in changes:
            lon, lat = changes.get("lon", a.lon), changes.get("lat", a.lat)
            _position(lon, lat, "agency")
            values["lon"], values["lat"] = lon, lat
        if "active" in values and values["active"] != a.active:
            if a.parent_id is None:
                raise Forbidden("A top-level agency is switched on and off from the command line only.",
                                code="out_of_scope")
            p.require(Permission.MANAGE_ORG, uow.agencies.get(a.parent_id).path)
            if values["active"] and a.parent_id and not uow.agencies.get(a.parent_id).active:
                raise InvalidInput("Activate the parent agency first.", code="inactive_parent")
        if "code" in values and values["code"] != a.code and uow.agencies.by_code(values["code"]) is not None:
            raise Conflict(f"Agency code '{values['code']}' exists.", code="agency_code_taken")
        before = _agency_values(a)
        uow.agencies.update(agency_id, values)
        after = _agency_values(uow.agencies.get(agency_id))
        diff = _changed(before, after)
        if "jurisdiction" in values and "jurisdiction" not in diff:
            diff["jurisdiction"] = {"before": before["jurisdiction"], "after": after["jurisdiction"] + " (redrawn)"
                                    if after["jurisdiction"] else None}
        if diff:
            action = ("agency_deactivated" if diff.get("active", {}).get("after") is False else
                      "agency_activated" if diff.get("active", {}).get("after") is True else "agency_updated")
            uow.audit.write(actor=p.username, action=action, object_type="agency", object_id=agency_id,
                            agency_id=agency_id, detail=diff)
            _emit(uow, "agency", agency_id, agency_id)
        uow.commit()
        return uow.agencies.get(agency_id)


def delete_agency(p: Principal, agency_id: str, *, uow: SqlUnitOfWork) -> None:
    """Remove an agency that nothing refers to (no sub-agencies, units, users, towns, incidents, ...)."""
    with uow:
        a = uow.agencies.get(agency_id)
        if a.parent_id is None:
            raise Forbidden("A top-level agency is removed from the command line only.", code="out_of_scope")
        p.require(Permission.MANAGE_ORG, uow.agencies.get(a.parent_id).path)
        _refuse_in_use(f"Agency '{a.code}'", uow.agencies.references(agency_id))
        uow.agencies.delete(agency_id)
        uow.audit.write(actor=p.username, action="agency_deleted", object_type="agency", object_id=agency_id,
                        agency_id=a.parent_id, detail={"before": _agency_values(a)})
        _emit(uow, "agency", agency_id, a.parent_id)
        uow.commit()


# ================================================================ towns

@dataclass(frozen=True)
class TownInput:
    code: str
    name: str
    agency_id: str
    population: int
    geometry: dict[str, Any] | None = None
    name_en: str | None = None
    population_note: str | None = None


def _population(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidInput("population must be a whole number.", code="invalid_population")
    if v < 1:
        raise InvalidInput(f"population must be at least 1 (got {v}): the Safety Index divides by it.",
                           code="invalid_population")
    return v


def _town_values(t: TownRow) -> dict[str, Any]:
    return {"code": t.code, "name": t.name, "name_en": t.name_en, "agency_id": t.agency_id,
            "population": t.population, "population_note": t.population_note,
            "area_km2": round(t.area_km2, 4) if t.area_km2 is not None else None, "active": t.active}


def list_towns(p: Principal, *, uow: SqlUnitOfWork) -> list[TownRow]:
    """The towns owned by agencies in the caller's subtree, active or not."""
    p.require(Permission.MANAGE_ORG)
    with uow:
        return [t for t in uow.towns.all() if p.in_scope(t.agency_path)]


def get_town(p: Principal, town_id: str, *, uow: SqlUnitOfWork) -> TownRow:
    p.require(Permission.MANAGE_ORG)
    with uow:
        t = uow.towns.get(town_id)
    p.require(Permission.MANAGE_ORG, t.agency_path)
    return t


def create_town(p: Principal, cmd: TownInput, *, uow: SqlUnitOfWork) -> str:
    code = _code(cmd.code)
    name = _text(cmd.name, "name")
    name_en = _text(cmd.name_en, "name_en", required=False)
    population = _population(cmd.population)
    note = _text(cmd.population_note, "population_note", 2000, required=False)
    geom, area = checked_polygon(cmd.geometry) if cmd.geometry else (None, None)
    with uow:
        owner = uow.agencies.get(cmd.agency_id)
        p.require(Permission.MANAGE_ORG, owner.path)
        if uow.towns.by_code(code) is not None:
            raise Conflict(f"Town code '{code}' exists.", code="town_code_taken")
        tid = uow.towns.add(code=code, name=name or "", name_en=name_en, agency_id=owner.id, population=population,
                            population_note=note, area_km2=area, geometry=geom, at=uow.clock.now())
        uow.audit.write(actor=p.username, action="town_created", object_type="town", object_id=tid,
                        agency_id=owner.id, detail={"after": _town_values(uow.towns.get(tid))})
        _emit(uow, "town", tid, owner.id)
        uow.commit()
    return tid


TOWN_FIELDS = ("code", "name", "name_en", "agency_id", "population", "population_note", "geometry", "active")


def update_town(p: Principal, town_id: str, changes: dict[str, Any], *, uow: SqlUnitOfWork) -> TownRow:
    """Change a town (a new boundary recomputes its area); moving it to another agency needs scope on both."""
    unknown = set(changes) - set(TOWN_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {sorted(unknown)} of a town; changeable: {list(TOWN_FIELDS)}.",
                           code="invalid_input")
    refuse_nulls(changes, NULLABLE_TOWN, "a town")
    values: dict[str, Any] = {}
    if "code" in changes:
        values["code"] = _code(changes["code"])
    if "name" in changes:
        values["name"] = _text(changes["name"], "name")
    if "name_en" in changes:
        values["name_en"] = _text(changes["name_en"], "name_en", required=False)
    if "population" in changes:
        values["population"] = _population(changes["population"])
    if "population_note" in changes:
        values["population_note"] = _text(changes["population_note"], "population_note", 2000, required=False)
    if "geometry" in changes:
        if changes["geometry"] is None:
            values["geometry"], values["area_km2"] = None, None
        else:
            values["geometry"], values["area_km2"] = checked_polygon(changes["geometry"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    with uow:
        t = uow.towns.get(town_id)
        p.require(Permission.MANAGE_ORG, t.agency_path)
        if "agency_id" in changes and changes["agency_id"] != t.agency_id:
            new_owner = uow.agencies.get(str(changes["agency_id"]))
            p.require(Permission.MANAGE_ORG, new_owner.path)
            values["agency_id"] = new_owner.id
        if "code" in values and values["code"] != t.code and uow.towns.by_code(values["code"]) is not None:
            raise Conflict(f"Town code '{values['code']}' exists.", code="town_code_taken")
        before = _town_values(t)
        uow.towns.update(town_id, values)
        after_row = uow.towns.get(town_id)
        diff = _changed(before, _town_values(after_row))
        if "geometry" in values:
            diff["geometry"] = {"before": "polygon" if t.geometry else None,
                                "after": "polygon (new boundary)" if values["geometry"] else None}
        if diff:
            action = ("town_deactivated" if diff.get("active", {}).get("after") is False else
                      "town_activated" if diff.get("active", {}).get("after") is True else "town_updated")
            uow.audit.write(actor=p.username, action=action, object_type="town", object_id=town_id,
                            agency_id=after_row.agency_id, detail=diff)
            _emit(uow, "town", town_id, after_row.agency_id)
        uow.commit()
        return after_row


def delete_town(p: Principal, town_id: str, *, uow: SqlUnitOfWork) -> None:
    with uow:
        t = uow.towns.get(town_id)
        p.require(Permission.MANAGE_ORG, t.agency_path)
        _refuse_in_use(f"Town '{t.code}'", uow.towns.references(town_id))
        uow.towns.delete(town_id)
        uow.audit.write(actor=p.username, action="town_deleted", object_type="town", object_id=town_id,
                        agency_id=t.agency_id, detail={"before": _town_values(t)})
        _emit(uow, "town", town_id, t.agency_id)
        uow.commit()


# ================================================================ units

@dataclass(frozen=True)
class UnitInput:
    call_sign: str
    kind: str
    station_id: str
    travel_mode: str | None = None
    lon: float | None = None  # home position; None: the station's
    lat: float | None = None


def _unit_kind(v: Any) -> str:
    try:
        return UnitKind(v).value
    except ValueError:
        raise InvalidInput(f"Unknown unit kind '{v}'; known: {[k.value for k in UnitKind]}.",
                           code="unknown_unit_kind") from None


def _travel_mode(v: Any) -> str | None:
    if v is None or v == "":
        return None
    try:
        return TravelMode(v).value
    except ValueError:
        raise InvalidInput(f"Unknown travel mode '{v}'; known: {[m.value for m in TravelMode]}.",
                           code="unknown_travel_mode") from None


def _station(uow: SqlUnitOfWork, station_id: str) -> AgencyRow:
    st = uow.agencies.get(station_id)
    if st.kind not in STATION_KINDS:
        raise InvalidInput(f"Units belong to a station or fire station; '{st.code}' is a {st.kind}.",
                           code="not_a_station")
    if not st.active:
        raise InvalidInput(f"Station '{st.code}' is inactive.", code="inactive_station")
    return st


def _unit_values(u: UnitRow) -> dict[str, Any]:
    return {"call_sign": u.call_sign, "kind": u.kind, "agency_id": u.agency_id, "travel_mode": u.travel_mode,
            "home_lon": u.home_lon, "home_lat": u.home_lat, "active": u.active}


def list_units(p: Principal, *, uow: SqlUnitOfWork) -> list[UnitRow]:
    return services.list_units(p, uow=uow, need=Permission.MANAGE_ORG)


def get_unit(p: Principal, unit_id: str, *, uow: SqlUnitOfWork) -> UnitRow:
    return services.get_unit(p, unit_id, uow=uow, need=Permission.MANAGE_ORG)


def _check_call_sign(v: Any) -> str:
    s = _text(v, "call_sign", 64)
    assert s is not None
    return s


def create_unit(p: Principal, cmd: UnitInput, *, uow: SqlUnitOfWork) -> str:
    call_sign = _check_call_sign(cmd.call_sign)
    kind = _unit_kind(cmd.kind)
    mode = _travel_mode(cmd.travel_mode)
    _position(cmd.lon, cmd.lat, "unit's home")
    with uow:
        st = _station(uow, cmd.station_id)
        p.require(Permission.MANAGE_ORG, st.path)
        lon, lat = (cmd.lon, cmd.lat) if cmd.lon is not None and cmd.lat is not None else (st.lon, st.lat)
        if lon is None or lat is None:
            raise InvalidInput(f"Station '{st.code}' has no position: give the unit's home lon and lat.",
                               code="invalid_position")
        if uow.units.by_call_sign(call_sign) is not None:
            raise Conflict(f"Call sign '{call_sign}' exists.", code="call_sign_taken")
        uid = uow.units.add(call_sign=call_sign, kind=kind, agency_id=st.id, lon=lon, lat=lat, at=uow.clock.now(),
                            travel_mode=mode)
        uow.audit.write(actor=p.username, action="unit_created", object_type="unit", object_id=uid,
                        agency_id=st.id, detail={"after": _unit_values(uow.units.get(uid))})
        _emit(uow, "unit", uid, st.id)
        uow.commit()
    return uid


UNIT_FIELDS = ("call_sign", "kind", "station_id", "travel_mode", "home_lon", "home_lat", "active")
_IDLE = ("available", "off_duty")


def update_unit(p: Principal, unit_id: str, changes: dict[str, Any], *, uow: SqlUnitOfWork) -> UnitRow:
    """Change a unit; moving it to another station needs scope on both; a unit on an incident is neither
    moved nor deactivated (``unit_busy``) until it is released."""
    unknown = set(changes) - set(UNIT_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {sorted(unknown)} of a unit; changeable: {list(UNIT_FIELDS)}.",
                           code="invalid_input")
    refuse_nulls(changes, NULLABLE_UNIT, "a unit")
    values: dict[str, Any] = {}
    if "call_sign" in changes:
        values["call_sign"] = _check_call_sign(changes["call_sign"])
    if "kind" in changes:
        values["kind"] = _unit_kind(changes["kind"])
    if "travel_mode" in changes:
        values["travel_mode"] = _travel_mode(changes["travel_mode"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    with uow:
        u = uow.units.get(unit_id)
        p.require(Permission.MANAGE_ORG, u.agency_path)
        if "home_lon" in changes or "home_lat" in changes:
            lon, lat = changes.get("home_lon", u.home_lon), changes.get("home_lat", u.home_lat)
            _position(lon, lat, "unit's home")
            values["home_lon"], values["home_lat"] = lon, lat
        moving = "station_id" in changes and changes["station_id"] != u.agency_id
        if moving:
            st = _station(uow, str(changes["station_id"]))
            p.require(Permission.MANAGE_ORG, st.path)
            values["agency_id"] = st.id
        if (moving or values.get("active") is False) and u.status not in _IDLE:
            raise Conflict(f"Unit {u.call_sign} is {u.status} on an incident: release it first.", code="unit_busy")
        if "call_sign" in values and values["call_sign"] != u.call_sign \
                and uow.units.by_call_sign(values["call_sign"]) is not None:
            raise Conflict(f"Call sign '{values['call_sign']}' exists.", code="call_sign_taken")
        if values.get("active") is True and not u.active:
            _station(uow, values.get("agency_id", u.agency_id))  # an inactive station gets no active unit back
        before = _unit_values(u)
        uow.units.update(unit_id, values)
        after_row = uow.units.get(unit_id)
        diff = _changed(before, _unit_values(after_row))
        if diff:
            action = ("unit_deactivated" if diff.get("active", {}).get("after") is False else
                      "unit_activated" if diff.get("active", {}).get("after") is True else "unit_updated")
            uow.audit.write(actor=p.username, action=action, object_type="unit", object_id=unit_id,
                            agency_id=after_row.agency_id, detail=diff)
            _emit(uow, "unit", unit_id, after_row.agency_id)
        uow.commit()
        return after_row


def delete_unit(p: Principal, unit_id: str, *, uow: SqlUnitOfWork) -> None:
    with uow:
        u = uow.units.get(unit_id)
        p.require(Permission.MANAGE_ORG, u.agency_path)
        refs = uow.units.references(unit_id)
        if u.incident_id:
            refs["incidents"] = refs.get("incidents", 0) + 1
        _refuse_in_use(f"Unit '{u.call_sign}'", refs)
        uow.units.delete(unit_id)
        uow.audit.write(actor=p.username, action="unit_deleted", object_type="unit", object_id=unit_id,
                        agency_id=u.agency_id, detail={"before": _unit_values(u)})
        _emit(uow, "unit", unit_id, u.agency_id)
        uow.commit()


# ================================================================ users

def _roles(values: Any) -> frozenset[Role]:
    try:
        roles = frozenset(Role(r) for r in values)
    except (ValueError, TypeError):
        raise InvalidInput(f"Unknown role in {values}; known: {[r.value for r in Role]}.",
                           code="unknown_role") from None
    if not roles:
        raise InvalidInput("A user needs at least one role.", code="unknown_role")
    return roles


def _user_values(u: UserRow) -> dict[str, Any]:
    return {"display_name": u.display_name, "agency_id": u.agency_id, "roles": sorted(r.value for r in u.roles),
            "active": u.active}


def _managed_user(p: Principal, uow: SqlUnitOfWork, user_id: str) -> UserRow:
    u = uow.users.get(user_id)
    if u is None:
        raise NotFound(f"User {user_id} does not exist.")
    p.require(Permission.MANAGE_USERS, u.agency_path)
    return u


USER_FIELDS = ("display_name", "roles", "agency_id", "active")


def update_user(p: Principal, user_id: str, changes: dict[str, Any], *, uow: SqlUnitOfWork,
                principals: PrincipalCache | None = None) -> UserRow:
    """Change a user's display name, roles, agency (scope on both) or ``active`` flag. A change of roles,
    agency or ``active`` bumps the user's ``auth_version``: every process sees it on the user's next request
    (each request reads its session row and the user's version). Administrators cannot disable themselves
    or drop their own admin role; only an admin grants or removes the admin role."""
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {sorted(unknown)} of a user; changeable: {list(USER_FIELDS)}.",
                           code="invalid_input")
    refuse_nulls(changes, NULLABLE_USER, "a user")
    values: dict[str, Any] = {}
    if "display_name" in changes:
        values["display_name"] = _text(changes["display_name"], "display_name")
    if "roles" in changes:
        values["roles"] = _roles(changes["roles"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    with uow:
        u = _managed_user(p, uow, user_id)
        if "roles" in values and (Role.ADMIN in values["roles"]) != (Role.ADMIN in u.roles) \
                and Role.ADMIN not in p.roles:
            raise Forbidden("Only an admin grants or removes the admin role.", code="missing_role")
        drops_admin = "roles" in values and Role.ADMIN in u.roles and Role.ADMIN not in values["roles"]
        if user_id == p.user_id and (values.get("active") is False or drops_admin):
            raise Conflict("You cannot disable yourself or drop your own admin role.", code="self_lockout")
        if "agency_id" in changes and changes["agency_id"] != u.agency_id:
            target = uow.agencies.get(str(changes["agency_id"]))
            p.require(Permission.MANAGE_USERS, target.path)
            if user_id == p.user_id:
                raise Conflict("You cannot move yourself to another agency.", code="self_lockout")
            values["agency_id"] = target.id
        before = _user_values(u)
        uow.users.update(user_id, values)
        after_row = uow.users.get(user_id)
        assert after_row is not None
        diff = _changed(before, _user_values(after_row))
        if diff:
            action = ("user_disabled" if diff.get("active", {}).get("after") is False else
                      "user_enabled" if diff.get("active", {}).get("after") is True else "user_updated")
            uow.audit.write(actor=p.username, action=action, object_type="user", object_id=user_id,
                            agency_id=after_row.agency_id, detail=diff)
            _emit(uow, "user", user_id, after_row.agency_id)
        uow.commit()
    if principals is not None:
        principals.forget(user_id)
    return after_row


def reset_password(p: Principal, user_id: str, password: str | None, *, uow: SqlUnitOfWork) -> str | None:
    """Set the password an administrator gives, or a random temporary one, which is returned once and
    stored only as its hash. Returns the generated password (None when one was given)."""
    generated = None
    if password is None or password == "":
        generated = password = secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Password: at least {MIN_PASSWORD} characters.", code="weak_password")
    with uow:
        u = _managed_user(p, uow, user_id)
        if Role.ADMIN in u.roles and Role.ADMIN not in p.roles:
            raise Forbidden("Only an admin resets an admin's password.", code="missing_role")
        uow.users.update(user_id, {"password_hash": hash_password(password)})
        ended = uow.sessions.revoke_user(user_id, at=uow.clock.now(), by=p.username)
        uow.audit.write(actor=p.username, action="user_password_reset", object_type="user", object_id=user_id,
                        agency_id=u.agency_id, detail={"generated": generated is not None, "sessions_revoked": ended})
        uow.commit()
    return generated


list_users = services.list_users  # one audited listing for the API and the admin pages
