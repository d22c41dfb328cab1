"""Organisation administration API under ``/api/v1/admin``: agencies (stations are agencies of kind
``station``), towns, units and users, scoped to the caller's agency subtree (``MANAGE_ORG``,
``MANAGE_USERS``). Each handler calls one use case of ``platform/admin.py``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from jingwu.platform import admin, services, views
from jingwu.platform.api import _town, _unit, _user
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, PRINCIPALS, ContainerDep, requires
from jingwu.platform.org_store import AgencyRow
from jingwu.platform.schemas import (
    AdminAgencyRead,
    AgencyCreate,
    AgencyPatch,
    PasswordReset,
    PasswordResetRead,
    TownCreate,
    TownPatch,
    TownRead,
    UnitCreate,
    UnitPatch,
    UnitRead,
    UserCreate,
    UserPatch,
    UserRead,
)

router = APIRouter(prefix="/api/v1/admin", responses=ERROR_RESPONSES, tags=["administration"])

OrgAdmin = Annotated[Principal, Depends(requires(Permission.MANAGE_ORG))]
UserAdmin = Annotated[Principal, Depends(requires(Permission.MANAGE_USERS))]


def agency_read(a: AgencyRow) -> AdminAgencyRead:
    return AdminAgencyRead(id=a.id, parent_id=a.parent_id, kind=a.kind, code=a.code, name=a.name,
                           name_en=a.name_en, lon=a.lon, lat=a.lat, jurisdiction=a.jurisdiction, source=a.source,
                           active=a.active, path=a.path)


# ---------------------------------------------------------------- agencies

@router.get("/agencies", response_model=list[AdminAgencyRead])
def list_agencies(p: OrgAdmin, c: ContainerDep) -> list[AdminAgencyRead]:
    """Every agency of the caller's subtree, active or not, in tree order, with jurisdictions."""
    return [agency_read(a) for a in admin.list_agencies(p, uow=c.uow())]


@router.post("/agencies", response_model=AdminAgencyRead, status_code=201)
def create_agency(body: AgencyCreate, p: OrgAdmin, c: ContainerDep) -> AdminAgencyRead:
    aid = admin.create_agency(p, admin.AgencyInput(**body.model_dump()), uow=c.uow())
    return agency_read(admin.get_agency(p, aid, uow=c.uow()))


@router.get("/agencies/{agency_id}", response_model=AdminAgencyRead)
def get_agency(agency_id: UUID, p: OrgAdmin, c: ContainerDep) -> AdminAgencyRead:
    return agency_read(admin.get_agency(p, str(agency_id), uow=c.uow()))


@router.patch("/agencies/{agency_id}", response_model=AdminAgencyRead)
def update_agency(agency_id: UUID, body: AgencyPatch, p: OrgAdmin, c: ContainerDep) -> AdminAgencyRead:
    return agency_read(admin.update_agency(p, str(agency_id), body.model_dump(exclude_unset=True), uow=c.uow()))


@router.post("/agencies/{agency_id}/deactivate", response_model=AdminAgencyRead)
def deactivate_agency(agency_id: UUID, p: OrgAdmin, c: ContainerDep) -> AdminAgencyRead:
    """Out of service: an inactive station is no longer chosen for new incidents by location."""
    return agency_read(admin.update_agency(p, str(agency_id), {"active": False}, uow=c.uow()))


@router.post("/agencies/{agency_id}/activate", response_model=AdminAgencyRead)
def activate_agency(agency_id: UUID, p: OrgAdmin, c: ContainerDep) -> AdminAgencyRead:
    return agency_read(admin.update_agency(p, str(agency_id), {"active": True}, uow=c.uow()))


@router.delete("/agencies/{agency_id}", status_code=204)
def delete_agency(agency_id: UUID, p: OrgAdmin, c: ContainerDep) -> Response:
    """Only an agency nothing refers to; otherwise 409 ``in_use`` naming what uses it."""
    admin.delete_agency(p, str(agency_id), uow=c.uow())
    return Response(status_code=204)


# ---------------------------------------------------------------- towns

@router.get("/towns", response_model=list[TownRead])
def list_towns(p: OrgAdmin, c: ContainerDep) -> list[TownRead]:
    return [_town(t, True) for t in admin.list_towns(p, uow=c.uow())]


@router.post("/towns", response_model=TownRead, status_code=201)
def create_town(body: TownCreate, p: OrgAdmin, c: ContainerDep) -> TownRead:
    tid = admin.create_town(p, admin.TownInput(**body.model_dump()), uow=c.uow())
    return _town(admin.get_town(p, tid, uow=c.uow()), True)


@router.get("/towns/{town_id}", response_model=TownRead)
def get_town(town_id: UUID, p: OrgAdmin, c: ContainerDep) -> TownRead:
    return _town(admin.get_town(p, str(town_id), uow=c.uow()), True)


@router.patch("/towns/{town_id}", response_model=TownRead)
def update_town(town_id: UUID, body: TownPatch, p: OrgAdmin, c: ContainerDep) -> TownRead:
    return _town(admin.update_town(p, str(town_id), body.model_dump(exclude_unset=True), uow=c.uow()), True)


@router.post("/towns/{town_id}/deactivate", response_model=TownRead)
def deactivate_town(town_id: UUID, p: OrgAdmin, c: ContainerDep) -> TownRead:
    """Out of service: new calls and events are no longer placed in it (its history stays)."""
    return _town(admin.update_town(p, str(town_id), {"active": False}, uow=c.uow()), True)


@router.post("/towns/{town_id}/activate", response_model=TownRead)
def activate_town(town_id: UUID, p: OrgAdmin, c: ContainerDep) -> TownRead:
    return _town(admin.update_town(p, str(town_id), {"active": True}, uow=c.uow()), True)


@router.delete("/towns/{town_id}", status_code=204)
def delete_town(town_id: UUID, p: OrgAdmin, c: ContainerDep) -> Response:
    admin.delete_town(p, str(town_id), uow=c.uow())
    return Response(status_code=204)


# ---------------------------------------------------------------- units

@router.get("/units", response_model=list[UnitRead])
def list_units(p: OrgAdmin, c: ContainerDep) -> list[UnitRead]:
    return [_unit(u) for u in admin.list_units(p, uow=c.uow())]


@router.post("/units", response_model=UnitRead, status_code=201)
def create_unit(body: UnitCreate, p: OrgAdmin, c: ContainerDep) -> UnitRead:
    uid = admin.create_unit(p, admin.UnitInput(**body.model_dump()), uow=c.uow())
    return _unit(admin.get_unit(p, uid, uow=c.uow()))


@router.get("/units/{unit_id}", response_model=UnitRead)
def get_unit(unit_id: UUID, p: OrgAdmin, c: ContainerDep) -> UnitRead:
    return _unit(admin.get_unit(p, str(unit_id), uow=c.uow()))


@router.patch("/units/{unit_id}", response_model=UnitRead)
def update_unit(unit_id: UUID, body: UnitPatch, p: OrgAdmin, c: ContainerDep) -> UnitRead:
    return _unit(admin.update_unit(p, str(unit_id), body.model_dump(exclude_unset=True), uow=c.uow()))


@router.post("/units/{unit_id}/deactivate", response_model=UnitRead)
def deactivate_unit(unit_id: UUID, p: OrgAdmin, c: ContainerDep) -> UnitRead:
    """Out of service: never recommended or dispatched (refused while the unit is on an incident)."""
    return _unit(admin.update_unit(p, str(unit_id), {"active": False}, uow=c.uow()))


@router.post("/units/{unit_id}/activate", response_model=UnitRead)
def activate_unit(unit_id: UUID, p: OrgAdmin, c: ContainerDep) -> UnitRead:
    return _unit(admin.update_unit(p, str(unit_id), {"active": True}, uow=c.uow()))


@router.delete("/units/{unit_id}", status_code=204)
def delete_unit(unit_id: UUID, p: OrgAdmin, c: ContainerDep) -> Response:
    admin.delete_unit(p, str(unit_id), uow=c.uow())
    return Response(status_code=204)


# ---------------------------------------------------------------- users

@router.get("/users", response_model=list[UserRead])
def list_users(p: UserAdmin, c: ContainerDep) -> list[UserRead]:
    return [_user(u) for u in admin.list_users(p, uow=c.uow())]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, p: UserAdmin, c: ContainerDep) -> UserRead:
    uid = services.create_user(
        services.CreateUser(body.username, body.display_name, body.password, body.agency_code, tuple(body.roles)),
        uow=c.uow(), actor=p, reason=body.reason)
    return _user(views.user(p, uid, uow=c.uow()))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: UUID, body: UserPatch, p: UserAdmin, c: ContainerDep) -> UserRead:
    return _user(admin.update_user(p, str(user_id), body.model_dump(exclude_unset=True), uow=c.uow(),
                                   principals=c.get(PRINCIPALS)))


@router.post("/users/{user_id}/disable", response_model=UserRead)
def disable_user(user_id: UUID, p: UserAdmin, c: ContainerDep) -> UserRead:
    """The user can no longer log in; their tokens stop working (at once in this process)."""
    return _user(admin.update_user(p, str(user_id), {"active": False}, uow=c.uow(), principals=c.get(PRINCIPALS)))


@router.post("/users/{user_id}/enable", response_model=UserRead)
def enable_user(user_id: UUID, p: UserAdmin, c: ContainerDep) -> UserRead:
    return _user(admin.update_user(p, str(user_id), {"active": True}, uow=c.uow(), principals=c.get(PRINCIPALS)))


@router.post("/users/{user_id}/password", response_model=PasswordResetRead)
def reset_password(user_id: UUID, body: PasswordReset, p: UserAdmin, c: ContainerDep) -> PasswordResetRead:
    """Set the given password, or generate a temporary one returned this once (stored only as a hash)."""
    return PasswordResetRead(temporary_password=admin.reset_password(p, str(user_id), body.password, uow=c.uow()))
