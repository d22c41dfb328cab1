"""Alarm devices: register a street alarm button, turn a press into a P1 call, record heartbeats."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from jingwu.dispatch.domain import Channel
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.services.intake import IntakeResult, ReceiveCall, receive_call
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.admin import ORG_CHANGED, refuse_nulls
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def register_device(p: Principal | None, *, code: str, name: str, lon: float, lat: float, agency_id: str,
                    uow: DispatchUnitOfWork, geo: Geo, heartbeat_seconds: int = 60) -> tuple[str, str]:
    """Register an alarm button at a fixed position; returns (device id, device key shown once)."""
    geo.snap(lon, lat)
    key = secrets.token_urlsafe(18)
    with uow:
        agency = uow.agencies.get(agency_id)
        if p is not None:
            p.require(Permission.MANAGE_ORG, agency.path)
        if uow.devices.by_code(code) is not None:
            raise Conflict(f"Device code '{code}' exists.", code="device_code_taken")
        did = uow.devices.add(code=code, name=name, lon=lon, lat=lat, agency_id=agency_id, key_hash=_key_hash(key),
                              heartbeat_seconds=heartbeat_seconds, at=uow.clock.now())
        uow.audit.write(actor=p.username if p else "cli", action="device_registered", object_type="alarm_device",
                        object_id=did, agency_id=agency_id,
                        detail={"code": code, "after": {"code": code, "name": name, "lon": lon, "lat": lat,
                                                        "agency_id": agency_id,
                                                        "heartbeat_seconds": heartbeat_seconds}})
        uow.emit(ORG_CHANGED, {"entity": "alarm_device", "id": did, "agency_id": agency_id})
        uow.commit()
    return did, key


DEVICE_FIELDS = ("name", "lon", "lat", "agency_id", "heartbeat_seconds", "active")


def _values(d: Any) -> dict[str, Any]:
    return {"name": d.name, "lon": d.lon, "lat": d.lat, "agency_id": d.agency_id,
            "heartbeat_seconds": d.heartbeat_seconds, "active": d.active}


def update_device(p: Principal, device_id: str, changes: dict[str, Any], *, uow: DispatchUnitOfWork,
                  geo: Geo) -> Any:
    """Change an alarm device's name, fixed position (it must snap to the road network, as at registration),
    agency (scope on both), heartbeat interval or ``active`` flag (an inactive device's key is refused and it
    is no longer watched for heartbeats). Audited with the before and after values."""
    unknown = set(changes) - set(DEVICE_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {sorted(unknown)} of an alarm device; changeable: {list(DEVICE_FIELDS)}.",
                           code="invalid_input")
    refuse_nulls(changes, frozenset(), "an alarm device")
    values = {k: v for k, v in changes.items() if k != "agency_id"}
    if "name" in values and not str(values["name"] or "").strip():
        raise InvalidInput("name is required.", code="missing_field")
    with uow:
        d = uow.devices.get(device_id)
        p.require(Permission.MANAGE_ORG, uow.agencies.get(d.agency_id).path)
        if "lon" in values or "lat" in values:
            lon, lat = values.get("lon", d.lon), values.get("lat", d.lat)
            if lon is None or lat is None:
                raise InvalidInput("An alarm device needs both lon and lat.", code="invalid_position")
            geo.snap(lon, lat)
        if "agency_id" in changes and changes["agency_id"] != d.agency_id:
            target = uow.agencies.get(str(changes["agency_id"]))
            p.require(Permission.MANAGE_ORG, target.path)
            values["agency_id"] = target.id
        before = _values(d)
        uow.devices.update(device_id, values)
        after = uow.devices.get(device_id)
        diff = {k: {"before": before[k], "after": v} for k, v in _values(after).items() if before[k] != v}
        if diff:
            action = ("device_deactivated" if diff.get("active", {}).get("after") is False else
                      "device_activated" if diff.get("active", {}).get("after") is True else "device_updated")
            uow.audit.write(actor=p.username, action=action, object_type="alarm_device", object_id=device_id,
                            agency_id=after.agency_id, detail=diff)
            uow.emit(ORG_CHANGED, {"entity": "alarm_device", "id": device_id, "agency_id": after.agency_id})
        uow.commit()
        return after


def delete_device(p: Principal, device_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Remove a device no incident or alert refers to; otherwise 409 ``in_use`` (deactivate it instead)."""
    with uow:
        d = uow.devices.get(device_id)
        p.require(Permission.MANAGE_ORG, uow.agencies.get(d.agency_id).path)
        refs = uow.devices.references(device_id)
        if refs:
            uses = ", ".join(f"{n} {t}" for t, n in sorted(refs.items()))
            raise Conflict(f"Alarm device '{d.code}' is in use ({uses}); deactivate it instead.", code="in_use")
        uow.devices.delete(device_id)
        uow.audit.write(actor=p.username, action="device_deleted", object_type="alarm_device", object_id=device_id,
                        agency_id=d.agency_id, detail={"before": {"code": d.code, **_values(d)}})
        uow.emit(ORG_CHANGED, {"entity": "alarm_device", "id": device_id, "agency_id": d.agency_id})
        uow.commit()


def _device(uow: DispatchUnitOfWork, code: str, key: str | None) -> Any:
    dev = uow.devices.by_code(code)
    if dev is None:
        raise NotFound(f"Alarm device '{code}' is not registered.", code="unknown_device")
    if key is not None and not hmac.compare_digest(dev.key_hash, _key_hash(key)):
        raise NotAuthenticated("Wrong device key.", code="invalid_device_key")
    if not dev.active:
        raise Forbidden(f"Alarm device '{code}' is deactivated.", code="device_inactive")
    return dev


def device_alarm(code: str, key: str | None, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue,
                 event_id: str | None = None) -> IntakeResult:
    """A pressed alarm button becomes a P1 incident at the device's fixed position.

    ``key`` None means the message came over MQTT (the broker authenticates devices).
    ``event_id`` (device message id) makes retries idempotent.
    """
    with uow:
        dev = _device(uow, code, key)
        uow.devices.heartbeat(dev.id, uow.clock.now())
        uow.commit()
    return receive_call(ReceiveCall(channel=Channel.ALARM.value, type_code="130100", lon=dev.lon, lat=dev.lat,
                                    accuracy_m=0.0, address=dev.name, summary=f"一键报警 {dev.code}",
                                    device_id=dev.id,
                                    idempotency_key=f"alarm:{dev.code}:{event_id}" if event_id else None),
                        uow=uow, geo=geo, cat=cat, actor=f"device:{dev.code}", actor_agency_id=dev.agency_id)


def device_heartbeat(code: str, key: str | None, *, uow: DispatchUnitOfWork) -> None:
    with uow:
        dev = _device(uow, code, key)
        now = uow.clock.now()
        uow.devices.heartbeat(dev.id, now)
        uow.alerts.resolve(kind="device_offline", at=now, by=f"device:{code}", device_id=dev.id)
        uow.commit()

