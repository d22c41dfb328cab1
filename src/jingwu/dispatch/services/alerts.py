"""Alerts: the periodic timer check (unacknowledged dispatch, silent unit on scene, offline alarm
device) and a dispatcher resolving an alert."""

from __future__ import annotations

from jingwu.dispatch.domain import ACK_TIMEOUT, CONTACT_TIMEOUT, device_online
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import NotFound


def check_timers(*, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue) -> list[int]:
    """Raise alerts: unacknowledged dispatches (with the next unit suggested), silent units on scene,
    alarm devices without heartbeat. Idempotent: an open alert is not raised twice."""
    raised: list[int] = []
    with uow:
        now = uow.clock.now()
        for a in uow.assignments.overdue_ack(now - ACK_TIMEOUT):
            unit = uow.units.get(a.unit_id)
            inc = uow.incidents.get(a.incident_id)
            if inc is None:
                continue
            aid = uow.alerts.raise_once(
                kind="ack_timeout", agency_id=inc.agency_id, incident_id=inc.id, unit_id=unit.id, at=now,
                message=f"{unit.call_sign} 未在 {int(ACK_TIMEOUT.total_seconds())} 秒内签收",
                detail={"call_sign": unit.call_sign})
            if aid:
                raised.append(aid)
        for a in uow.assignments.on_scene():
            unit = uow.units.get(a.unit_id)
            last = unit.last_contact_at or a.on_scene_at
            if last is not None and now - last > CONTACT_TIMEOUT:
                aid = uow.alerts.raise_once(
                    kind="officer_safety", agency_id=unit.agency_id, incident_id=a.incident_id, unit_id=unit.id,
                    at=now, message=f"{unit.call_sign} 到场后 {int(CONTACT_TIMEOUT.total_seconds() // 60)} 分钟无联系",
                    detail={"call_sign": unit.call_sign, "last_contact": last.isoformat()})
                if aid:
                    raised.append(aid)
        for d in uow.devices.all():
            if d.active and not device_online(d.last_heartbeat_at, d.heartbeat_seconds, now):
                aid = uow.alerts.raise_once(kind="device_offline", agency_id=d.agency_id, device_id=d.id, at=now,
                                            message=f"一键报警装置 {d.code} 离线", detail={"code": d.code})
                if aid:
                    raised.append(aid)
        if raised:
            uow.emit("jingwu.dispatch.alerts", {"count": len(raised)})
        uow.commit()
    return raised


def resolve_alert(p: Principal, alert_id: int, *, uow: DispatchUnitOfWork) -> None:
    """A dispatcher closes an alert in their scope; unknown or already resolved -> 404, nothing written."""
    with uow:
        found = uow.alerts.open_one(alert_id)
        if found is None:
            raise NotFound("No open alert with this id.")
        alert, path = found
        p.require(Permission.DISPATCH, path)
        now = uow.clock.now()
        uow.alerts.resolve(kind=alert.kind, alert_id=alert_id, at=now, by=p.username)
        uow.audit.write(actor=p.username, action="alert_resolved", object_type="alert", object_id=str(alert_id),
                        agency_id=alert.agency_id, detail={"kind": alert.kind})
        uow.emit("jingwu.dispatch.alerts", {"resolved": alert_id})
        uow.commit()

