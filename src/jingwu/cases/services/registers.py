"""Registers and decisions: seized property (intake, storage place, transfers, found unrelated, return or
disposal) and frozen accounts (masked numbers, amounts, dates, release), each change on the item's own
append-only timeline, in the audit log and noticed to the parties; penalty decisions rendered from a template
(HTML, the public version redacted) together with the move to the ``decision`` state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jingwu.cases.domain import (
    AccountStatus,
    PartyRole,
    PropertyStatus,
    State,
    Track,
    check_transition,
    mask_account,
    property_next,
    state_event,
    valid_account,
)
from jingwu.cases.services.common import notify_parties, open_case, settings, uow, zone
from jingwu.platform import documents
from jingwu.platform.container import Container
from jingwu.platform.domain import Principal
from jingwu.platform.errors import Conflict, InvalidInput


def _when(at: datetime | None, now: datetime) -> datetime:
    when = at or now
    if when.tzinfo is None or when > now + timedelta(minutes=5):
        raise InvalidInput("a register time is a past time with a time zone", code="invalid_time")
    return when


def _text(value: str, what: str, limit: int) -> str:
    v = value.strip()
    if not v or len(v) > limit:
        raise InvalidInput(f"{what} has 1 to {limit} characters", code="invalid_input")
    return v


@dataclass(frozen=True)
class Intake:
    description: str
    category: str
    storage_place: str
    quantity: int = 1
    owner_party_id: str | None = None
    seized_at: datetime | None = None


def intake_property(case_id: str, cmd: Intake, p: Principal, *, c: Container,
                    access_reason: str | None = None) -> str:
    desc = _text(cmd.description, "a description", 400)
    cat = _text(cmd.category, "a category", 64)
    place = _text(cmd.storage_place, "a storage place", 200)
    if not 1 <= cmd.quantity <= 1_000_000:
        raise InvalidInput("quantity is 1 to 1,000,000", code="invalid_input")
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="register", write=True)
        if cmd.owner_party_id:
            u.cases.party(case_id, cmd.owner_party_id)
        now = u.clock.now()
        at = _when(cmd.seized_at, now)
        iid = u.cases.add_property(case_id=case_id, description=desc, category=cat, quantity=cmd.quantity,
                                   owner_party_id=cmd.owner_party_id, storage_place=place,
                                   status=PropertyStatus.IN_CUSTODY.value, seized_at=at, updated_at=now)
        u.cases.add_register_event(case_id=case_id, register="property", item_id=iid, action="intake", at=at,
                                   actor=p.username, storage_place=place, note="")
        u.audit.write(actor=p.username, action="case.property.intake", object_type="case_property", object_id=iid,
                      agency_id=case["agency_id"], detail={"case_id": case_id, "category": cat})
        notify_parties(u, c, case, key=f"property:{iid}:intake", status="涉案财物登记 / property registered", at=at)
        u.commit()
    return iid


def property_action(case_id: str, item_id: str, action: str, p: Principal, *, c: Container, note: str = "",
                    storage_place: str | None = None, at: datetime | None = None,
                    access_reason: str | None = None) -> str:
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="register", write=True)
        item = u.cases.property_item(case_id, item_id)
        after = property_next(PropertyStatus(item["status"]), action)
        place = storage_place.strip() if storage_place and storage_place.strip() else None
        if action in ("transfer", "store") and not place:
            raise InvalidInput(f"the action {action!r} names the new storage place", code="invalid_input")
        now = u.clock.now()
        when = _when(at, now)
        u.cases.update_property(item_id, status=after.value, updated_at=now,
                                **({"storage_place": place[:200]} if place else {}))
        u.cases.add_register_event(case_id=case_id, register="property", item_id=item_id, action=action, at=when,
                                   actor=p.username, storage_place=place, note=note.strip()[:2000])
        if action in ("found_unrelated", "return"):
            u.cases.add_event(case_id=case_id, event="property.found_unrelated" if action == "found_unrelated"
                              else "property.returned", at=when, recorded_at=now, actor=p.username, subject=item_id,
                              reason=note.strip()[:2000])
        u.audit.write(actor=p.username, action=f"case.property.{action}", object_type="case_property",
                      object_id=item_id, agency_id=case["agency_id"], reason=note.strip()[:1000] or None,
                      detail={"case_id": case_id, "status": after.value})
        notify_parties(u, c, case, key=f"property:{item_id}:{action}:{when.isoformat()}",
                       status=f"涉案财物状态：{after.value} / property {after.value}", at=when)
        u.commit()
    return after.value


@dataclass(frozen=True)
class Freeze:
    bank: str
    number: str
    amount: str  # decimal yuan, e.g. "12000.50"
    currency: str = "CNY"
    holder_party_id: str | None = None
    frozen_at: datetime | None = None
    expires_at: datetime | None = None


def _cents(amount: str) -> int:
    try:
        d = Decimal(amount)
    except InvalidOperation:
        raise InvalidInput(f"amount {amount!r} is not a number", code="invalid_amount") from None
    if not d.is_finite() or d < 0 or d > Decimal("1e13") or d != d.quantize(Decimal("0.01")):
        raise InvalidInput("an amount is 0 or more with at most 2 decimals", code="invalid_amount")
    return int(d * 100)


def freeze_account(case_id: str, cmd: Freeze, p: Principal, *, c: Container,
                   access_reason: str | None = None) -> str:
    bank = _text(cmd.bank, "a bank name", 120)
    number = valid_account(cmd.number)
    cents = _cents(cmd.amount)
    if len(cmd.currency) != 3 or not cmd.currency.isalpha():
        raise InvalidInput("currency is a 3-letter code", code="invalid_input")
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="register", write=True)
        if cmd.holder_party_id:
            u.cases.party(case_id, cmd.holder_party_id)
        now = u.clock.now()
        at = _when(cmd.frozen_at, now)
        if cmd.expires_at is not None and (cmd.expires_at.tzinfo is None or cmd.expires_at <= at):
            raise InvalidInput("expires_at is after frozen_at, with a time zone", code="invalid_time")
        aid = u.cases.add_account(case_id=case_id, bank=bank, number=number, masked=mask_account(number),
                                  amount_cents=cents, currency=cmd.currency.upper(),
                                  holder_party_id=cmd.holder_party_id,
                                  status=AccountStatus.FROZEN.value, frozen_at=at, expires_at=cmd.expires_at,
                                  released_at=None)
        u.cases.add_register_event(case_id=case_id, register="account", item_id=aid, action="freeze", at=at,
                                   actor=p.username, storage_place=None, note="")
        u.audit.write(actor=p.username, action="case.account.freeze", object_type="case_account", object_id=aid,
                      agency_id=case["agency_id"], detail={"case_id": case_id, "masked": mask_account(number)})
        notify_parties(u, c, case, key=f"account:{aid}:freeze", status="账户冻结 / account frozen", at=at)
        u.commit()
    return aid


def account_action(case_id: str, item_id: str, action: str, p: Principal, *, c: Container, note: str = "",
                   at: datetime | None = None, access_reason: str | None = None) -> str:
    if action not in ("release", "found_unrelated"):
        raise InvalidInput("account actions: release, found_unrelated", code="invalid_action")
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="register", write=True)
        acc = u.cases.account(case_id, item_id)
        if acc["status"] != AccountStatus.FROZEN.value:
            raise Conflict("this account is already released", code="illegal_transition")
        now = u.clock.now()
        when = _when(at, now)
        if action == "release":
            u.cases.update_account(item_id, status=AccountStatus.RELEASED.value, released_at=when)
        u.cases.add_register_event(case_id=case_id, register="account", item_id=item_id, action=action, at=when,
                                   actor=p.username, storage_place=None, note=note.strip()[:2000])
        u.cases.add_event(case_id=case_id, event="account.released" if action == "release"
                          else "account.found_unrelated", at=when, recorded_at=now, actor=p.username,
                          subject=item_id, reason=note.strip()[:2000])
        u.audit.write(actor=p.username, action=f"case.account.{action}", object_type="case_account",
                      object_id=item_id, agency_id=case["agency_id"], reason=note.strip()[:1000] or None,
                      detail={"case_id": case_id})
        if action == "release":
            notify_parties(u, c, case, key=f"account:{item_id}:release", status="账户解冻 / account released", at=when)
        u.commit()
    return AccountStatus.RELEASED.value if action == "release" else AccountStatus.FROZEN.value


# ------------------------------------------------------------------ penalty decisions

DECISION_FIELDS = ("case_number", "agency", "offender_name", "offender_id_number", "offender_address",
                   "offender_phone", "facts", "legal_basis", "penalty", "fine_yuan", "decided_at", "remedies")
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "penalty_decision.html"


@dataclass(frozen=True)
class Decide:
    offender_party_id: str
    facts: str
    legal_basis: str
    penalty: str
    reason: str
    fine_yuan: str | None = None
    remedies: str = ""
    template: str | None = None  # a custom Jinja2 template for this decision (fields from DECISION_FIELDS)
    extra: dict[str, str] = field(default_factory=dict)


def decision_template(c: Container) -> str:
    path = settings(c).decision_template or DEFAULT_TEMPLATE
    return Path(path).read_text(encoding="utf-8")


def decide(case_id: str, cmd: Decide, p: Principal, *, c: Container,
           access_reason: str | None = None) -> dict[str, Any]:
    """Render the penalty decision (internal and redacted public HTML), move the case to ``decision`` and record
    a fine, all in one transaction: a template with an unknown field writes nothing."""
    facts = _text(cmd.facts, "the facts", 10000)
    basis = _text(cmd.legal_basis, "the legal basis", 2000)
    penalty = _text(cmd.penalty, "the penalty", 2000)
    fine_cents = _cents(cmd.fine_yuan) if cmd.fine_yuan else None
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="decision", write=True)
        if case["track"] != Track.ADMINISTRATIVE.value:
            raise Conflict("penalty decisions belong to administrative cases", code="illegal_transition")
        r = check_transition(Track.ADMINISTRATIVE, State(case["state"]), State.DECISION, cmd.reason)
        offender = u.cases.party(case_id, cmd.offender_party_id)
        if offender["role"] != PartyRole.SUSPECT.value:
            raise InvalidInput("the offender is a suspect of this case", code="invalid_role")
        now = u.clock.now()
        fields = {"case_number": case["number"], "agency": case["agency_name"], "offender_name": offender["name"],
                  "offender_id_number": offender["id_number"] or "", "offender_address": offender["address"] or "",
                  "offender_phone": offender["phone"] or "", "facts": facts, "legal_basis": basis, "penalty": penalty,
                  "fine_yuan": f"{fine_cents / 100:.2f}" if fine_cents is not None else "",
                  "decided_at": now.astimezone(zone(c)).strftime("%Y-%m-%d"), "remedies": cmd.remedies.strip()}
        html = documents.render(cmd.template if cmd.template is not None else decision_template(c), fields,
                                allowed=DECISION_FIELDS)
        parties = u.cases.parties(case_id)
        public = documents.redact(html, names=[x["name"] for x in parties],
                                  addresses=[x["address"] for x in parties if x["address"]])
        u.cases.add_decision(case_id=case_id, at=now, actor=p.username,
                             fields=json.dumps({k: v for k, v in fields.items() if not k.startswith("offender_")},
                                               ensure_ascii=False), html=html, public_html=public)
        u.cases.add_transition(case_id=case_id, from_state=case["state"], to_state=State.DECISION.value, at=now,
                               actor=p.username, reason=r)
        u.cases.add_event(case_id=case_id, event=state_event(State.DECISION), at=now, recorded_at=now,
                          actor=p.username, subject=None, reason=r)
        if fine_cents:
            u.cases.add_event(case_id=case_id, event="fine.imposed", at=now, recorded_at=now, actor=p.username,
                              subject=offender["id"], reason=f"{fine_cents / 100:.2f}")
        u.cases.set_state(case_id, State.DECISION.value, now)
        u.audit.write(actor=p.username, action="case.decision", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], reason=r, detail={"fine_cents": fine_cents})
        notify_parties(u, c, case, key="decision", status=State.DECISION.value, at=now)
        u.commit()
    return {"id": case_id, "state": State.DECISION.value}


def decision_html(case_id: str, p: Principal, *, c: Container, public: bool,
                  access_reason: str | None = None) -> str:
    from jingwu.platform.errors import NotFound

    with uow(c) as u:
        case = u.cases.get(case_id)
        open_case(u, p, case, reason=access_reason, action="decision_read")
        d = u.cases.decision(case_id)
        if d is None:
            raise NotFound("this case has no penalty decision", code="no_decision")
        u.audit.write(actor=p.username, action="case.decision.read", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], detail={"public": public})
        u.commit()
    return str(d["public_html"] if public else d["html"])
