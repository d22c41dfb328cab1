"""Positions and the SMS location link: AVL positions of units (one or many), the one-time
link a caller opens to share a position, and moving the incident there."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jingwu.dispatch.domain import OPEN_STATUSES, Channel, LocationStatus
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import AgencyHome, load_incident, may_report, require_incident
from jingwu.dispatch.services.intake import emit_recorded
from jingwu.dispatch.services.sanity import POSITION_REJECTS, Sanity
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput, NotAuthenticated


@dataclass(frozen=True)
class Position:
    lon: float
    lat: float
    at: datetime


def post_positions(p: Principal | None, unit_id: str, positions: list[Position], *,
                   uow: DispatchUnitOfWork, sanity: Sanity | None = None) -> int:
    """Latest position of a unit from a batch (AVL). ``p`` None = trusted internal source (MQTT bridge).

    With ``sanity``: a batch holding a position from the future, from (0, 0) or far outside the served area
    is refused whole (422 with the first problem's code); each refused position is stored in position_rejects
    and counted. A position older than the unit's latest never replaces it (ignored: no history is kept)."""
    for q in positions:
        if not (math.isfinite(q.lon) and math.isfinite(q.lat) and -180 <= q.lon <= 180 and -90 <= q.lat <= 90):
            raise InvalidInput(f"Bad coordinate lon={q.lon}, lat={q.lat}.", code="invalid_coordinate")
        if q.at.tzinfo is None:
            raise InvalidInput("Position times need a time zone.", code="invalid_time")
        if not 1900 <= q.at.year <= 9998:  # beyond: no UTC conversion (the sanity check refuses the future)
            raise InvalidInput(f"Position time {q.at.isoformat()} is out of range.", code="invalid_time")
    if not positions:
        return 0
    latest = max(positions, key=lambda q: q.at)
    with uow:
        unit = uow.units.get(unit_id)  # 404 when the unit does not exist
        if p is not None:
            may_report(uow, p, unit)
        if sanity is not None:
            now = uow.clock.now()
            bad = [(q, code) for q in positions if (code := sanity.position_problem(q.lon, q.lat, q.at, now))]
            if bad:
                actor = p.username if p is not None else "system:avl"
                uow.position_rejects.add_many([{"unit_id": unit_id, "reason": code, "lon": q.lon, "lat": q.lat,
                                                "reported_at": q.at, "received_at": now, "actor": actor}
                                               for q, code in bad])
                uow.commit()
                for _q, code in bad:
                    POSITION_REJECTS.labels(code).inc()
                q, code = bad[0]
                raise InvalidInput(f"Position refused ({code}): lon={q.lon}, lat={q.lat}, at={q.at.isoformat()}; "
                                   f"{len(bad)} of {len(positions)} in the batch.", code=code)
        uow.units.set_positions([(unit_id, latest.lon, latest.lat, latest.at)])
        uow.commit()
    return len(positions)


def post_positions_bulk(rows: list[tuple[str, float, float, datetime]], *, uow: DispatchUnitOfWork,
                        announce: bool = False) -> int:
    """Many units' latest positions in one transaction; ``announce`` tells live boards to redraw."""
    with uow:
        n = uow.units.set_positions(rows)
        if announce and rows:
            uow.emit("jingwu.dispatch.units_moved", {"count": len(rows)})
        uow.commit()
    return n


# ------------------------------------------------------------------ SMS location link

LINK_TTL = timedelta(minutes=30)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_location_link(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork) -> tuple[str, datetime]:
    """A one-time token for the caller's browser to send its position (sent by SMS)."""
    token = secrets.token_urlsafe(16)
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        now = uow.clock.now()
        uow.links.add(_token_hash(token), inc.id, now, now + LINK_TTL)
        uow.incidents.add_event(inc.id, at=now, kind="location_link_sent", actor=p.username)
        uow.audit.write(actor=p.username, action="location_link_created", object_type="incident",
                        object_id=inc.id, agency_id=inc.agency_id)
        uow.commit()
    return token, now + LINK_TTL


def _place_incident(uow: DispatchUnitOfWork, inc: IncidentRow, lon: float, lat: float, accuracy_m: float | None,
                    geo: Geo, **extra: object) -> tuple[str, str]:
    """Move an incident to a position and classify it (Geo.place): located → snapped, its town and station;
    outside the area → stored unsnapped, owned by the city bureau of its agency; unlocated (off the network
    inside the area) → the jurisdiction's station, unsnapped. Returns (location status, agency id)."""
    pl = geo.place(lon, lat)
    if pl.status == LocationStatus.OUTSIDE_AREA:
        agency = AgencyHome(uow).receiving(inc.agency_id, city=True)
    else:
        agency = pl.station or inc.agency_id
    uow.incidents.update(inc.id, lon=lon, lat=lat, accuracy_m=accuracy_m,
                         snapped_lon=pl.snap.snapped_lon if pl.snap else None,
                         snapped_lat=pl.snap.snapped_lat if pl.snap else None,
                         town_id=pl.town.id if pl.town else None, agency_id=agency, location_status=pl.status,
                         **extra)
    return pl.status, agency


def share_location(token: str, lon: float, lat: float, accuracy_m: float | None, *, uow: DispatchUnitOfWork,
                   geo: Geo) -> str:
    """The caller's browser posts its position: the incident moves there (public, token-authorised). A position
    outside the served area is stored and flagged ``outside_area``, never refused."""
    with uow:
        now = uow.clock.now()
        incident_id = uow.links.use(_token_hash(token), now)
        if incident_id is None:
            raise NotAuthenticated("This location link is unknown, used or expired.", code="invalid_link")
        inc = require_incident(uow, incident_id)
        status, station = _place_incident(uow, inc, lon, lat, accuracy_m, geo,
                                          channel=Channel.SMS_LINK.value if inc.lon is None else inc.channel)
        uow.incidents.add_event(inc.id, at=now, kind="location_shared", actor="caller",
                                detail={"accuracy_m": accuracy_m, "location_status": status})
        uow.audit.write(actor="caller", action="location_shared", object_type="incident", object_id=inc.id,
                        agency_id=station, detail={"location_status": status})
        emit_recorded(uow, require_incident(uow, inc.id))
        uow.emit("jingwu.dispatch.incident_updated", {"incident_id": inc.id, "agency_id": station})
        uow.commit()
    return incident_id


def locate_incident(p: Principal, incident_id: str, lon: float, lat: float, *, uow: DispatchUnitOfWork, geo: Geo,
                    note: str | None = None) -> tuple[str, str]:
    """A call-taker sets an open incident's position by hand (map click or typed coordinates): located,
    unlocated or outside_area as for any position. Returns (location status, agency id)."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"Bad coordinate lon={lon}, lat={lat}.", code="invalid_coordinate")
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        if inc.status not in {s.value for s in OPEN_STATUSES}:
            raise Conflict(f"Incident is {inc.status}; only an open incident can be located.", code="incident_closed")
        now = uow.clock.now()
        before = {"lon": inc.lon, "lat": inc.lat, "location_status": inc.location_status}
        status, agency = _place_incident(uow, inc, lon, lat, None, geo)
        uow.incidents.add_event(inc.id, at=now, kind="located_manually", actor=p.username,
                                detail={"lon": lon, "lat": lat, "location_status": status, "note": note,
                                        "before": before})
        uow.audit.write(actor=p.username, action="incident_located", object_type="incident", object_id=inc.id,
                        agency_id=agency, reason=note,
                        detail={"lon": lon, "lat": lat, "location_status": status, "before": before})
        emit_recorded(uow, require_incident(uow, inc.id))
        uow.emit("jingwu.dispatch.incident_updated", {"incident_id": inc.id, "agency_id": agency})
        uow.commit()
    return status, agency
