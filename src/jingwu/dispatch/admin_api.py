"""Alarm-device administration: ``/api/v1/admin/devices`` (list, register, change, deactivate, delete) and
the devices tab of the admin pages (``/admin/devices``, same layout as the platform's admin tabs in
``web/templates/admin``). Devices belong to dispatch, so their administration lives here."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from jingwu.dispatch import views
from jingwu.dispatch.schemas import DeviceCreate, DeviceCreated
from jingwu.dispatch.services import devices as devices_svc
from jingwu.dispatch.wiring import dispatch_read_uow, dispatch_uow, geo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires
from jingwu.web.admin import admin_page
from jingwu.web.ui import OptionalPrincipal

router = APIRouter(prefix="/api/v1/admin", responses=ERROR_RESPONSES, tags=["administration"])
page_router = APIRouter(include_in_schema=False)

OrgAdmin = Annotated[Principal, Depends(requires(Permission.MANAGE_ORG))]


class DevicePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    agency_id: str | None = None
    heartbeat_seconds: int | None = Field(None, ge=5, le=86_400)
    active: bool | None = None
    signs: bool | None = None
    payload_format: Literal["json", "plain"] | None = None


def _one(p: Principal, c: Any, device_id: str) -> dict[str, Any]:
    return next(d for d in views.devices(p, uow=dispatch_read_uow(c)) if d["id"] == device_id)


@router.get("/devices")
def list_devices(p: OrgAdmin, c: ContainerDep) -> list[dict[str, Any]]:
    """The alarm devices of the caller's subtree, active or not, with whether each is online."""
    return views.devices(p, uow=dispatch_read_uow(c))


@router.post("/devices", response_model=DeviceCreated, status_code=201)
def register_device(body: DeviceCreate, p: OrgAdmin, c: ContainerDep) -> DeviceCreated:
    """Register a device at a fixed position on the road network; its key is returned this once."""
    did, key = devices_svc.register_device(p, code=body.code, name=body.name, lon=body.lon, lat=body.lat,
                                           agency_id=body.agency_id, uow=dispatch_uow(c), geo=geo(c),
                                           heartbeat_seconds=body.heartbeat_seconds,
                                           signs=body.signs, payload_format=body.payload_format)
    return DeviceCreated(id=did, code=body.code, key=key, mqtt_secret=devices_svc.device_secret(key))


@router.patch("/devices/{device_id}")
def update_device(device_id: UUID, body: DevicePatch, p: OrgAdmin, c: ContainerDep) -> dict[str, Any]:
    devices_svc.update_device(p, str(device_id), body.model_dump(exclude_unset=True), uow=dispatch_uow(c),
                              geo=geo(c))
    return _one(p, c, str(device_id))


@router.post("/devices/{device_id}/deactivate")
def deactivate_device(device_id: UUID, p: OrgAdmin, c: ContainerDep) -> dict[str, Any]:
    """Decommissioned: its key is refused (``device_inactive``) and it is no longer watched for heartbeats."""
    devices_svc.update_device(p, str(device_id), {"active": False}, uow=dispatch_uow(c), geo=geo(c))
    return _one(p, c, str(device_id))


@router.post("/devices/{device_id}/activate")
def activate_device(device_id: UUID, p: OrgAdmin, c: ContainerDep) -> dict[str, Any]:
    devices_svc.update_device(p, str(device_id), {"active": True}, uow=dispatch_uow(c), geo=geo(c))
    return _one(p, c, str(device_id))


@router.delete("/devices/{device_id}", status_code=204)
def delete_device(device_id: UUID, p: OrgAdmin, c: ContainerDep) -> Response:
    devices_svc.delete_device(p, str(device_id), uow=dispatch_uow(c))
    return Response(status_code=204)


@page_router.get("/admin/devices", response_class=HTMLResponse)
def devices_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    return admin_page(request, p, c, "devices", "admin/devices.html")
