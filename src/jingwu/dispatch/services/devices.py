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
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, NotAuthenticated, NotFound


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
                        object_id=did, agency_id=agency_id, detail={"code": code})
        uow.commit()
    return did, key


def _device(uow: DispatchUnitOfWork, code: str, key: str | None) -> Any:
    dev = uow.devices.by_code(code)
    if dev is None:
        raise NotFound(f"Alarm device '{code}' is not registered.", code="unknown_device")
    if key is not None and not hmac.compare_digest(dev.key_hash, _key_hash(key)):
        raise NotAuthenticated("Wrong device key.", code="invalid_device_key")
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

