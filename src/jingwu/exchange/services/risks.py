"""The shared risk register (seed 001 item 6): place-based risks (hazardous-materials sites, disputes over
major projects, border hot spots) owned by an agency and a named owner, followed up with dated entries and a
next review; overdue reviews are listed; a risk is shared with partners under an agreement like any
record (only the agreed fields leave)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jingwu.exchange.services import agreements
from jingwu.exchange.services.common import Federation, actor_of, parse_time, require_any
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

KINDS = ("hazmat_site", "project_dispute", "border_hotspot", "other")
LEVELS = ("low", "medium", "high", "critical")
STATUSES = ("open", "mitigating", "closed")
WORK = (Permission.COMMAND, Permission.ANALYSE, Permission.HANDLE_CASES)


@dataclass(frozen=True)
class NewRisk:
    agency_code: str
    kind: str
    title: str
    place: str
    level: str
    owner: str
    lon: float | None = None
    lat: float | None = None
    next_review: datetime | None = None


def _check(kind: str | None, level: str | None, status: str | None = None) -> None:
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", code="invalid_kind")
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", code="invalid_level")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")


def register(cmd: NewRisk, *, principal: Principal, uow: SqlUnitOfWork) -> dict[str, Any]:
    _check(cmd.kind, cmd.level)
    if not cmd.title.strip() or not cmd.place.strip() or not cmd.owner.strip():
        raise InvalidInput("a risk needs a title, a place and an owner", code="invalid_risk")
    if (cmd.lon is None) != (cmd.lat is None) or (
            cmd.lon is not None and not (-180 <= cmd.lon <= 180 and -90 <= (cmd.lat or 0) <= 90)):
        raise InvalidInput("lon and lat go together, in range", code="invalid_risk")
    with uow:
        ag = uow.agencies.by_code(cmd.agency_code)
        if ag is None:
            raise InvalidInput(f"agency {cmd.agency_code!r} does not exist", code="unknown_agency")
        require_any(principal, WORK, ag.path)
        rid = str(uuid.uuid4())
        now = uow.clock.now()
        nr = parse_time(cmd.next_review, "next_review") if cmd.next_review else None
        repo(uow).add_risk(id=rid, agency_id=ag.id, kind=cmd.kind, title=cmd.title.strip(), place=cmd.place.strip(),
                           lon=cmd.lon, lat=cmd.lat, level=cmd.level, owner=cmd.owner.strip(), status="open",
                           next_review=nr, created_at=now, created_by=actor_of(principal))
        uow.audit.write(actor=actor_of(principal), action="exchange.risk_registered", object_type="xc_risk",
                        object_id=rid, agency_id=ag.id, detail={"kind": cmd.kind, "level": cmd.level})
        uow.commit()
        got = repo(uow).risk(rid)
    assert got is not None
    return got


def follow_up(risk_id: str, text: str, *, principal: Principal, uow: SqlUnitOfWork, status: str | None = None,
              level: str | None = None, next_review: datetime | None = None) -> dict[str, Any]:
    _check(None, level, status)
    if not text.strip():
        raise InvalidInput("a follow-up needs a text", code="invalid_text")
    with uow:
        r = repo(uow).risk(risk_id, lock=True)
        if r is None:
            raise NotFound(f"risk {risk_id} does not exist", code="risk_not_found")
        require_any(principal, WORK, uow.agencies.get(r["agency_id"]).path)
        if r["status"] == "closed":
            raise Conflict("the risk is closed", code="risk_closed")
        now = uow.clock.now()
        values: dict[str, Any] = {}
        if status:
            values["status"] = status
        if level:
            values["level"] = level
        if next_review:
            values["next_review"] = parse_time(next_review, "next_review")
        if values:
            repo(uow).update_risk(risk_id, **values)
        repo(uow).add_followup(risk_id=risk_id, at=now, actor=actor_of(principal), text=text.strip(),
                               status=status or r["status"])
        uow.audit.write(actor=actor_of(principal), action="exchange.risk_followed_up", object_type="xc_risk",
                        object_id=risk_id, agency_id=r["agency_id"], detail={"status": status, "level": level})
        uow.commit()
        got = repo(uow).risk(risk_id)
    assert got is not None
    return got


def register_view(*, principal: Principal, uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    """The register of the caller's scope, each risk with ``review_overdue``."""
    require_any(principal, WORK)
    with uow:
        ids = {a.id for a in uow.agencies.in_subtree(principal.agency_path)}
        now = uow.clock.now()
        return [{**r, "review_overdue": bool(r["status"] != "closed" and r["next_review"] and r["next_review"] < now)}
                for r in repo(uow).risks(ids)]


def share(risk_id: str, agreement_id: str, *, principal: Principal, uow: SqlUnitOfWork,
          fed: Federation) -> agreements.Shared:
    with uow:
        r = repo(uow).risk(risk_id)
    if r is None:
        raise NotFound(f"risk {risk_id} does not exist", code="risk_not_found")
    last = r["followups"][-1]["text"] if r["followups"] else None
    record = {"id": r["id"], "kind": r["kind"], "title": r["title"], "place": r["place"], "lon": r["lon"],
              "lat": r["lat"], "level": r["level"], "owner": r["owner"], "follow_up": last, "status": r["status"]}
    return agreements.share(agreement_id, "risk", record, principal=principal, uow=uow, fed=fed)
