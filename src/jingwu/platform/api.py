"""Platform HTTP API: token login, who-am-I, the organisation (agencies, towns,
units) within the caller's agency scope, users, and the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from jingwu import __version__
from jingwu.platform import services, views
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.engine import ping
from jingwu.platform.http import (
    ERROR_RESPONSES,
    LOGIN_THROTTLE,
    ContainerDep,
    PrincipalDep,
    client_address,
    requires,
    token_from_request,
)
from jingwu.platform.org_store import AgencyRow, TownRow, UnitRow
from jingwu.platform.schemas import (
    AgencyRead,
    AuditEntryRead,
    AuditVerifyRead,
    Health,
    MeRead,
    TokenRead,
    TownRead,
    UnitRead,
    UserCreate,
    UserRead,
)
from jingwu.platform.user_store import UserRow

public_router = APIRouter()
router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@public_router.get("/healthz", response_model=Health, tags=["ops"])
def healthz(c: ContainerDep, response: Response) -> Health:
    db = "ok" if ping(c.engine) else "unavailable"
    if db != "ok":
        response.status_code = 503
    return Health(status="ok" if db == "ok" else "degraded", database=db, version=__version__)


@router.post("/auth/token", response_model=TokenRead, tags=["auth"])
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], c: ContainerDep, request: Request) -> TokenRead:
    """OAuth2 password flow: username + password → bearer token. Repeated failures lock the account and the
    client address for a while: 429 ``login_locked`` with Retry-After."""
    issued = services.login(form.username, form.password, uow=c.uow(), clock=c.clock,
                            secret=c.settings.secret_key, ttl=timedelta(minutes=c.settings.token_ttl_minutes),
                            read_uow=c.read_uow(), throttle=c.get(LOGIN_THROTTLE), address=client_address(request))
    return TokenRead(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, p: PrincipalDep, c: ContainerDep) -> Response:
    """End the bearer token's session server-side: the token answers 401 ``session_revoked`` from now on."""
    token, _from_cookie = token_from_request(request, c.settings.session_cookie)
    services.logout(token or "", uow=c.uow(), clock=c.clock, secret=c.settings.secret_key)
    return Response(status_code=204)


@router.get("/me", response_model=MeRead, tags=["auth"])
def me(p: PrincipalDep, c: ContainerDep) -> MeRead:
    user = views.user(p, p.user_id, uow=c.uow())
    return MeRead(id=p.user_id, username=p.username, display_name=user.display_name, agency_id=p.agency_id,
                  roles=sorted(r.value for r in p.roles), permissions=sorted(x.value for x in p.permissions))


def _agency(a: AgencyRow, geometry: bool) -> AgencyRead:
    return AgencyRead(id=a.id, parent_id=a.parent_id, kind=a.kind, code=a.code, name=a.name, name_en=a.name_en,
                      lon=a.lon, lat=a.lat, jurisdiction=a.jurisdiction if geometry else None, source=a.source,
                      active=a.active)


@router.get("/agencies", response_model=list[AgencyRead], tags=["organisation"])
def agencies(p: PrincipalDep, c: ContainerDep, kind: str | None = None,
             geometry: bool = Query(False, description="include jurisdiction polygons")) -> list[AgencyRead]:
    """Agencies in the caller's subtree."""
    return [_agency(a, geometry) for a in services.list_agencies(p, uow=c.uow(), kind=kind)]


@router.get("/agencies/{agency_id}", response_model=AgencyRead, tags=["organisation"])
def agency(agency_id: UUID, p: PrincipalDep, c: ContainerDep) -> AgencyRead:
    return _agency(services.get_agency(p, str(agency_id), uow=c.uow()), True)


def _unit(u: UnitRow) -> UnitRead:
    return UnitRead(id=u.id, call_sign=u.call_sign, kind=u.kind, agency_id=u.agency_id, status=u.status,
                    lon=u.lon, lat=u.lat, position_at=u.position_at, travel_mode=u.mode, travel_mode_set=u.travel_mode,
                    home_lon=u.home_lon, home_lat=u.home_lat, active=u.active)


@router.get("/units", response_model=list[UnitRead], tags=["organisation"])
def units(p: PrincipalDep, c: ContainerDep) -> list[UnitRead]:
    """Units of the stations in the caller's subtree."""
    return [_unit(u) for u in services.list_units(p, uow=c.uow())]


@router.get("/units/{unit_id}", response_model=UnitRead, tags=["organisation"])
def unit(unit_id: UUID, p: PrincipalDep, c: ContainerDep) -> UnitRead:
    return _unit(services.get_unit(p, str(unit_id), uow=c.uow()))


def _town(t: TownRow, geometry: bool) -> TownRead:
    return TownRead(id=t.id, code=t.code, name=t.name, name_en=t.name_en, agency_id=t.agency_id,
                    population=t.population, population_note=t.population_note, area_km2=t.area_km2,
                    geometry=t.geometry if geometry else None, active=t.active)


@router.get("/towns", response_model=list[TownRead], tags=["organisation"])
def towns(p: PrincipalDep, c: ContainerDep, geometry: bool = False) -> list[TownRead]:
    return [_town(t, geometry) for t in services.list_towns(p, uow=c.uow())]


def _user(u: UserRow) -> UserRead:
    return UserRead(id=u.id, username=u.username, display_name=u.display_name, agency_id=u.agency_id,
                    roles=sorted(r.value for r in u.roles), active=u.active)


@router.get("/users", response_model=list[UserRead], tags=["organisation"])
def users(p: PrincipalDep, c: ContainerDep) -> list[UserRead]:
    return [_user(u) for u in services.list_users(p, uow=c.uow())]


@router.post("/users", response_model=UserRead, status_code=201, tags=["organisation"])
def create_user(body: UserCreate, p: Annotated[Principal, Depends(requires(Permission.MANAGE_USERS))],
                c: ContainerDep) -> UserRead:
    uid = services.create_user(
        services.CreateUser(body.username, body.display_name, body.password, body.agency_code, tuple(body.roles)),
        uow=c.uow(), actor=p, reason=body.reason)
    return _user(views.user(p, uid, uow=c.uow()))


@router.get("/audit", response_model=list[AuditEntryRead], tags=["audit"])
def audit(p: Annotated[Principal, Depends(requires(Permission.READ_AUDIT))], c: ContainerDep,
          limit: int = Query(100, ge=1, le=1000)) -> list[AuditEntryRead]:
    """Latest audit entries about agencies in the caller's subtree."""
    rows = views.recent_audit(p, uow=c.uow(), limit=limit)
    return [AuditEntryRead(seq=r.seq, at=r.at, actor=r.actor, agency_id=r.agency_id, action=r.action,
                           object_type=r.object_type, object_id=r.object_id, reason=r.reason, problem=r.problem)
            for r in rows]


@router.get("/audit/verify", response_model=AuditVerifyRead, tags=["audit"])
def audit_verify(p: Annotated[Principal, Depends(requires(Permission.READ_AUDIT))],
                 c: ContainerDep) -> AuditVerifyRead:
    n, brk = services.verify_audit(uow=c.uow(), anchors=services.read_anchors(c.settings))
    if brk is None:
        return AuditVerifyRead(ok=True, entries=n)
    return AuditVerifyRead(ok=False, entries=n, first_bad_seq=brk.seq, problem=brk.problem)
