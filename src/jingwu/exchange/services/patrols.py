"""Joint patrols and shared checkpoints (seed 001 item 7): planned by one side under an agreement whose terms
carry ``joint_patrol`` both ways, confirmed by the other side with its units; each step travels as a shared
``joint_patrol`` record (only the agreed fields), so both sides see the plan with the agreed fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.services import agreements
from jingwu.exchange.services.common import Federation, agency_paths, agreement_or_404, parse_time, require_any
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

PLAN = (Permission.COMMAND, Permission.DISPATCH)


@dataclass(frozen=True)
class NewPatrol:
    agreement_id: str
    kind: str
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    units: int
    lon: float | None = None
    lat: float | None = None


def _record(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": p["id"], "kind": p["kind"], "title": p["title"], "place": p["place"], "lon": p["lon"],
            "lat": p["lat"], "starts_at": envelope.utc_text(p["starts_at"]), "ends_at": envelope.utc_text(p["ends_at"]),
            "units": p["units"], "partner_units": p["partner_units"], "status": p["status"]}


def plan(cmd: NewPatrol, *, principal: Principal, uow: SqlUnitOfWork, fed: Federation) -> dict[str, Any]:
    if cmd.kind not in ("patrol", "checkpoint"):
        raise InvalidInput("kind is patrol or checkpoint", code="invalid_kind")
    start, end = parse_time(cmd.starts_at, "starts_at"), parse_time(cmd.ends_at, "ends_at")
    if end <= start:
        raise InvalidInput("ends_at must be after starts_at", code="invalid_window")
    if cmd.units < 1 or not cmd.title.strip() or not cmd.place.strip():
        raise InvalidInput("a joint patrol needs a title, a place and at least one unit", code="invalid_patrol")
    pid = str(uuid.uuid4())
    with uow:
        a = agreement_or_404(uow, cmd.agreement_id)
        paths = agency_paths(uow)
        if not principal.in_scope(paths[a.agency_id]):
            raise Forbidden("plan joint patrols from your own side of the agreement", code="out_of_scope")
        require_any(principal, PLAN)
        if "joint_patrol" not in a.outgoing or "joint_patrol" not in a.incoming:
            raise Conflict("the agreement does not carry joint patrols both ways", code="not_in_agreement")
        repo(uow).add_patrol(id=pid, agreement_id=a.id, agency_id=a.agency_id, planned_here=True, kind=cmd.kind,
                             title=cmd.title.strip(), place=cmd.place.strip(), lon=cmd.lon, lat=cmd.lat,
                             starts_at=start, ends_at=end, units=cmd.units, partner_units=None, status="proposed",
                             updated_at=uow.clock.now())
        uow.commit()
        p = repo(uow).patrol(pid)
    assert p is not None
    agreements.share(a.id, "joint_patrol", _record(p), principal=principal, uow=uow, fed=fed)
    return p


def confirm(patrol_id: str, units: int, *, principal: Principal, uow: SqlUnitOfWork,
            fed: Federation) -> dict[str, Any]:
    """The partner side confirms with its units; for a local partner the same row is updated."""
    if units < 1:
        raise InvalidInput("confirm with at least one unit", code="invalid_patrol")
    with uow:
        p = repo(uow).patrol(patrol_id)
        if p is None:
            raise NotFound(f"joint patrol {patrol_id} does not exist", code="patrol_not_found")
        a = agreement_or_404(uow, p["agreement_id"])
        paths = agency_paths(uow)
        partner_side = (not p["planned_here"] and principal.in_scope(paths[a.agency_id])) or (
            p["planned_here"] and a.partner_agency_id is not None and principal.in_scope(paths[a.partner_agency_id]))
        if not partner_side:
            raise Forbidden("the other side confirms a joint patrol", code="not_partner_side")
        require_any(principal, PLAN)
        if p["status"] != "proposed":
            raise Conflict(f"joint patrol is {p['status']}", code="patrol_not_proposed")
        repo(uow).update_patrol(patrol_id, partner_units=units, status="agreed", updated_at=uow.clock.now())
        uow.commit()
        p = repo(uow).patrol(patrol_id)
    assert p is not None
    if a.peer_id:  # tell the proposer
        agreements.share(a.id, "joint_patrol", _record(p), principal=principal, uow=uow, fed=fed)
    return p


def list_patrols(*, principal: Principal, uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    visible = agreements.list_agreements(principal=principal, uow=uow)
    with uow:
        return repo(uow).patrols({a.id for a in visible})


def apply_received(uow: SqlUnitOfWork, agreement: Any, rec: dict[str, Any]) -> None:
    """A ``joint_patrol`` record from a peer: a new plan, or the confirmation of ours (in the apply transaction)."""
    pid = str(rec["id"])
    r = repo(uow)
    p = r.patrol(pid)
    now = uow.clock.now()
    if p is None:
        r.add_patrol(id=pid, agreement_id=agreement.id, agency_id=agreement.agency_id, planned_here=False,
                     kind=str(rec.get("kind") or "patrol"), title=str(rec.get("title") or ""),
                     place=str(rec.get("place") or ""), lon=rec.get("lon"), lat=rec.get("lat"),
                     starts_at=parse_time(rec["starts_at"], "starts_at"), ends_at=parse_time(rec["ends_at"], "ends_at"),
                     units=rec.get("units"), partner_units=None, status=str(rec["status"]), updated_at=now)
    elif p["agreement_id"] == agreement.id and p["planned_here"]:
        r.update_patrol(pid, partner_units=rec.get("partner_units"), status=str(rec["status"]), updated_at=now)
    else:
        raise Conflict("joint patrol id belongs to another agreement", code="invalid_payload")
