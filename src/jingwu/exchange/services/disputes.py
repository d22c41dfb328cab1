"""Jurisdiction disputes between two agencies of this deployment (seed 001, item 15): raised by one side,
argued by both, decided by a legal officer of an agency above both (the superior's legal office), recorded
and audited for both sides. A decision needs an argument from each side first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from jingwu.exchange.services.common import actor_of, agency_paths, require_any
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

PARTY = (Permission.HANDLE_CASES, Permission.COMMAND)


@dataclass(frozen=True)
class NewDispute:
    agency_code: str
    other_agency_code: str
    subject: str
    question: str


def _agency(uow: SqlUnitOfWork, code: str) -> Any:
    a = uow.agencies.by_code(code)
    if a is None or not a.active:
        raise InvalidInput(f"agency {code!r} is not an active agency here", code="unknown_agency")
    return a


def raise_dispute(cmd: NewDispute, *, principal: Principal, uow: SqlUnitOfWork) -> dict[str, Any]:
    if not cmd.subject.strip() or not cmd.question.strip():
        raise InvalidInput("a dispute needs its subject (case or incident) and the question", code="invalid_dispute")
    with uow:
        ours, other = _agency(uow, cmd.agency_code), _agency(uow, cmd.other_agency_code)
        if ours.id == other.id:
            raise InvalidInput("a dispute needs two different agencies", code="invalid_dispute")
        require_any(principal, PARTY, ours.path)
        did = str(uuid.uuid4())
        now = uow.clock.now()
        repo(uow).add_dispute(id=did, agency_id=ours.id, other_agency_id=other.id, subject=cmd.subject.strip(),
                              question=cmd.question.strip(), status="open", raised_at=now,
                              raised_by=actor_of(principal))
        for ag in (ours.id, other.id):
            uow.audit.write(actor=actor_of(principal), action="exchange.dispute_raised", object_type="xc_dispute",
                            object_id=did, agency_id=ag, detail={"subject": cmd.subject.strip()})
        uow.commit()
        got = repo(uow).dispute(did)
    assert got is not None
    return got


def _get(uow: SqlUnitOfWork, dispute_id: str, *, lock: bool = False) -> dict[str, Any]:
    d = repo(uow).dispute(dispute_id, lock=lock)
    if d is None:
        raise NotFound(f"dispute {dispute_id} does not exist", code="dispute_not_found")
    return d


def argue(dispute_id: str, text: str, *, principal: Principal, uow: SqlUnitOfWork) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("an argument needs a text", code="invalid_text")
    with uow:
        d = _get(uow, dispute_id, lock=True)
        if d["status"] != "open":
            raise Conflict("the dispute is decided", code="dispute_decided")
        paths = agency_paths(uow)
        side = next((ag for ag in (d["agency_id"], d["other_agency_id"]) if principal.in_scope(paths[ag])), None)
        if side is None:
            raise Forbidden("only the two agencies in dispute argue it", code="not_a_party")
        require_any(principal, PARTY)
        repo(uow).add_argument(dispute_id=dispute_id, agency_id=side, at=uow.clock.now(),
                               actor=actor_of(principal), text=text.strip())
        for ag in (d["agency_id"], d["other_agency_id"]):
            uow.audit.write(actor=actor_of(principal), action="exchange.dispute_argued", object_type="xc_dispute",
                            object_id=dispute_id, agency_id=ag, detail={"side": side})
        uow.commit()
        return _get(uow, dispute_id)


def decide(dispute_id: str, competent_agency_code: str, reasoning: str, *, principal: Principal,
           uow: SqlUnitOfWork) -> dict[str, Any]:
    """By a legal officer (``review_cases``) of an agency above both parties and party to neither."""
    if not reasoning.strip():
        raise InvalidInput("a decision needs its reasoning", code="invalid_text")
    with uow:
        d = _get(uow, dispute_id, lock=True)
        if d["status"] != "open":
            raise Conflict("the dispute is decided", code="dispute_decided")
        paths = agency_paths(uow)
        parties = (d["agency_id"], d["other_agency_id"])
        require_any(principal, (Permission.REVIEW_CASES,))
        if not all(principal.in_scope(paths[ag]) for ag in parties) or principal.agency_id in parties:
            raise Forbidden("the legal office of an agency above both parties decides", code="not_superior")
        sides = {a["agency_id"] for a in d["arguments"]}
        if not set(parties) <= sides:
            raise Conflict("both sides must have argued before a decision", code="not_argued")
        competent = _agency(uow, competent_agency_code)
        if competent.id not in parties:
            raise InvalidInput("the competent agency is one of the two parties", code="invalid_decision")
        now = uow.clock.now()
        repo(uow).update_dispute(dispute_id, status="decided", decided_at=now, decided_by=actor_of(principal),
                                 competent_agency_id=competent.id, reasoning=reasoning.strip())
        for ag in parties:
            uow.audit.write(actor=actor_of(principal), action="exchange.dispute_decided", object_type="xc_dispute",
                            object_id=dispute_id, agency_id=ag,
                            detail={"competent_agency": competent.code, "reasoning": reasoning.strip()[:500]})
        uow.commit()
        return _get(uow, dispute_id)


def list_disputes(*, principal: Principal, uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    require_any(principal, (*PARTY, Permission.REVIEW_CASES))
    with uow:
        paths = agency_paths(uow)
        return [d for d in repo(uow).disputes()
                if principal.in_scope(paths[d["agency_id"]]) or principal.in_scope(paths[d["other_agency_id"]])]
