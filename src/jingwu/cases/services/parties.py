"""Parties and access codes: add a party with contact preference and language; issue (and so re-issue) and
revoke a party's personal access code; the public lookup by case number and code, throttled, where a wrong
number and a wrong code take the same path (one keyed hash, one indexed read) and give the same answer."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jingwu.cases.domain import (
    LANGS,
    STATE_LABELS,
    Contact,
    PartyRole,
    State,
    code_hash,
    new_access_code,
)
from jingwu.cases.services.common import deadlines_of, ever_in_custody, open_case, settings, uow
from jingwu.platform import documents
from jingwu.platform.container import Container, Slot
from jingwu.platform.deadlines import open_deadlines
from jingwu.platform.domain import Principal
from jingwu.platform.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from jingwu.platform.throttle import LoginThrottle, ThrottlePolicy

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,20}$")
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9Xx]$")


@dataclass(frozen=True)
class AddParty:
    role: str
    name: str
    contact: str = "none"
    lang: str = "zh-CN"
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    address: str | None = None
    related_party_id: str | None = None  # suspect_family: the suspect


def _validate(cmd: AddParty) -> tuple[PartyRole, Contact]:
    try:
        role = PartyRole(cmd.role)
    except ValueError:
        raise InvalidInput(f"unknown party role {cmd.role!r}; roles: {', '.join(r.value for r in PartyRole)}",
                           code="invalid_role") from None
    try:
        contact = Contact(cmd.contact)
    except ValueError:
        raise InvalidInput("contact is sms, email or none", code="invalid_contact") from None
    if cmd.lang not in LANGS:
        raise InvalidInput("lang is zh-CN or en", code="invalid_lang")
    if not cmd.name.strip() or len(cmd.name) > 200:
        raise InvalidInput("a party's name has 1 to 200 characters", code="invalid_name")
    if cmd.phone and not PHONE.match(cmd.phone):
        raise InvalidInput("the phone number is not a phone number", code="invalid_phone")
    if cmd.email and not EMAIL.match(cmd.email):
        raise InvalidInput("the e-mail address is not an e-mail address", code="invalid_email")
    if cmd.id_number and not ID_NUMBER.match(cmd.id_number):
        raise InvalidInput("an ID number has 17 digits and a check character", code="invalid_id_number")
    if contact is Contact.SMS and not cmd.phone:
        raise InvalidInput("contact by SMS needs a phone number", code="invalid_contact")
    if contact is Contact.EMAIL and not cmd.email:
        raise InvalidInput("contact by e-mail needs an e-mail address", code="invalid_contact")
    if role is PartyRole.SUSPECT_FAMILY and not cmd.related_party_id:
        raise InvalidInput("a suspect's family member names the suspect (related_party_id)", code="invalid_role")
    return role, contact


def add_party(case_id: str, cmd: AddParty, p: Principal, *, c: Container,
              access_reason: str | None = None) -> str:
    role, contact = _validate(cmd)
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="party", write=True)
        if cmd.related_party_id:
            rel = u.cases.party(case_id, cmd.related_party_id)
            if rel["role"] != PartyRole.SUSPECT.value:
                raise InvalidInput("related_party_id must name a suspect of this case", code="invalid_role")
        pid = u.cases.add_party(case_id=case_id, role=role.value, name=cmd.name.strip(), id_number=cmd.id_number,
                                phone=cmd.phone, email=cmd.email, address=cmd.address, contact=contact.value,
                                lang=cmd.lang, related_party_id=cmd.related_party_id, created_at=u.clock.now())
        u.audit.write(actor=p.username, action="case.party.add", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], detail={"party_id": pid, "role": role.value})
        u.commit()
    return pid


def issue_code(case_id: str, party_id: str, p: Principal, *, c: Container,
               access_reason: str | None = None) -> dict[str, str]:
    """A new code for the party (any earlier one is revoked); shown once, stored only as a keyed hash. A
    suspect's family gets one only once the suspect was in custody (``not_in_custody``)."""
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="code", write=True)
        party = u.cases.party(case_id, party_id)
        if party["role"] == PartyRole.SUSPECT_FAMILY.value and \
                not ever_in_custody(u.cases.events(case_id), party["related_party_id"]):
            raise Conflict("a suspect's family gets an access code only after the suspect was detained or "
                           "arrested", code="not_in_custody")
        now = u.clock.now()
        revoked = u.cases.revoke_codes(party_id, now, p.username)
        code = new_access_code()
        u.cases.add_code(case_id=case_id, party_id=party_id, code_hash=code_hash(c.settings.secret_key,
                         case["number"], code), issued_at=now, issued_by=p.username)
        u.audit.write(actor=p.username, action="case.code.issue", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], detail={"party_id": party_id, "revoked": revoked})
        u.commit()
    return {"case_number": case["number"], "code": code}


def revoke_code(case_id: str, party_id: str, p: Principal, *, c: Container,
                access_reason: str | None = None) -> int:
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="code", write=True)
        u.cases.party(case_id, party_id)
        n = u.cases.revoke_codes(party_id, u.clock.now(), p.username)
        if n == 0:
            raise Conflict("this party has no active access code", code="no_active_code")
        u.audit.write(actor=p.username, action="case.code.revoke", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], detail={"party_id": party_id})
        u.commit()
    return n


# ------------------------------------------------------------------ the public lookup

def _throttle(c: Container) -> LoginThrottle:
    s = settings(c)
    return LoginThrottle(ThrottlePolicy(account_failures=s.public_failures, address_failures=s.public_address_failures,
                                        window=timedelta(minutes=s.public_window_minutes),
                                        first_lockout=timedelta(seconds=s.public_first_lockout_s),
                                        max_lockout=timedelta(seconds=s.public_max_lockout_s)))


PUBLIC_THROTTLE: Slot[LoginThrottle] = Slot("cases.public_throttle", _throttle)
NO_MATCH = "No case matches this case number and access code."


def public_lookup(case_number: str, code: str, *, address: str | None, c: Container) -> dict[str, Any]:
    number = case_number.strip().upper()[:64]
    throttle = c.get(PUBLIC_THROTTLE)
    now = c.clock.now()
    wait = throttle.retry_after(number, address, now)
    if wait > 0:
        raise TooManyRequests(f"Too many wrong lookups: try again in {int(wait) + 1} s.", retry_after=int(wait) + 1)
    h = code_hash(c.settings.secret_key, number, code)  # computed whatever the number: the same cost
    with uow(c) as u:
        hit = u.cases.by_code_hash(h)
        if hit is None or not hmac.compare_digest(hit["number"].encode(), number.encode()):
            u.rollback()
            throttle.failed(number, address, now)
            raise NotFound(NO_MATCH, code="no_match")
        view = _public_view(u, c, hit["case_id"], hit["party_id"])
        u.audit.write(actor="public", action="case.public_lookup", object_type="case", object_id=hit["case_id"],
                      detail={"party_role": view["your_role"]})
        u.commit()
    return view


def _public_view(u: Any, c: Container, case_id: str, party_id: str) -> dict[str, Any]:
    """What one party may see: no name, ID number, phone, address or reason of anyone; property descriptions
    and the decision redacted with every party's name and address."""
    case = u.cases.get(case_id)
    party = u.cases.party(case_id, party_id)
    parties = u.cases.parties(case_id)
    names = [x["name"] for x in parties]
    addresses = [x["address"] for x in parties if x["address"]]
    events = u.cases.events(case_id)
    nxt = next((d for d in open_deadlines(deadlines_of(case, events, c)) if d.rule.public), None)
    decision = u.cases.decision(case_id)
    return {
        "case_number": case["number"], "track": case["track"], "state": case["state"],
        "state_label": {"zh-CN": STATE_LABELS[State(case["state"])][0], "en": STATE_LABELS[State(case["state"])][1]},
        "your_role": party["role"],
        "unit": {"zh-CN": case["agency_name"], "en": case["agency_name_en"] or case["agency_name"]},
        "timeline": [{"at": t["at"], "state": t["to_state"],
                      "label": {"zh-CN": STATE_LABELS[State(t["to_state"])][0],
                                "en": STATE_LABELS[State(t["to_state"])][1]}} for t in u.cases.transitions(case_id)],
        "next_step": None if nxt is None else {"title": {"zh-CN": nxt.rule.title_zh, "en": nxt.rule.title_en},
                                               "due": nxt.due, "source": nxt.rule.source},
        "property": [{"category": x["category"], "quantity": x["quantity"], "status": x["status"],
                      "description": documents.redact(x["description"], names=names, addresses=addresses),
                      "seized_at": x["seized_at"], "updated_at": x["updated_at"]} for x in u.cases.property(case_id)],
        "accounts": [{"bank": x["bank"], "account": x["masked"], "amount": f"{x['amount_cents'] / 100:.2f}",
                      "currency": x["currency"], "status": x["status"], "frozen_at": x["frozen_at"],
                      "expires_at": x["expires_at"], "released_at": x["released_at"]}
                     for x in u.cases.accounts(case_id)],
        "decision_html": decision["public_html"] if decision else None,
    }
