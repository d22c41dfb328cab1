"""Lifecycle use cases: open a case (optionally from an incident, with the incident's timeline), assign staff,
move it along its track (timed, by whom, with a reason), record dated events for the deadline rules, read the
case file and the deadline lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jingwu.cases.domain import State, Track, check_transition, parse_state, state_event
from jingwu.cases.services.common import deadlines_of, notify_parties, open_case, uow, zone
from jingwu.platform.container import Container
from jingwu.platform.deadlines import Deadline, DeadlineStatus, open_deadlines
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput, NotFound

MAX_TIMELINE = 500


@dataclass(frozen=True)
class OpenCase:
    track: str
    title: str
    summary: str = ""
    agency_code: str | None = None  # default: the user's agency
    investigators: tuple[str, ...] = ()
    legal_officer: str | None = None
    incident_id: str | None = None
    incident_timeline: list[dict[str, Any]] = field(default_factory=list)
    accepted_at: datetime | None = None
    reason: str = "受理"


def _timeline(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    if len(items) > MAX_TIMELINE:
        raise InvalidInput(f"an incident timeline has at most {MAX_TIMELINE} entries", code="invalid_timeline")
    out = []
    for i, it in enumerate(items):
        at, what = it.get("at"), it.get("what") or it.get("kind") or it.get("state") or it.get("event")
        if not at or not what:
            raise InvalidInput(f"incident timeline entry {i} needs 'at' and 'what'", code="invalid_timeline")
        try:
            t = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"incident timeline entry {i}: 'at' is not an ISO time", code="invalid_timeline") \
                from None
        if t.tzinfo is None:
            raise InvalidInput(f"incident timeline entry {i}: 'at' needs a time zone", code="invalid_timeline")
        out.append({"at": t.isoformat(), "what": str(what)[:200], "actor": str(it.get("actor") or "")[:200]})
    return sorted(out, key=lambda x: x["at"])


def open_new_case(cmd: OpenCase, p: Principal, *, c: Container) -> dict[str, Any]:
    p.require(Permission.HANDLE_CASES)
    try:
        track = Track(cmd.track)
    except ValueError:
        raise InvalidInput(f"unknown track {cmd.track!r}: criminal or administrative", code="invalid_track") from None
    title = cmd.title.strip()
    if not title or len(title) > 200:
        raise InvalidInput("a case title has 1 to 200 characters", code="invalid_title")
    timeline = _timeline(cmd.incident_timeline) if cmd.incident_timeline else None
    if timeline and not cmd.incident_id:
        raise InvalidInput("an incident timeline comes with its incident_id", code="invalid_timeline")
    with uow(c) as u:
        now = u.clock.now()
        accepted = cmd.accepted_at or now
        if accepted.tzinfo is None or accepted > now + timedelta(minutes=5):
            raise InvalidInput("accepted_at is a past time with a time zone", code="invalid_time")
        agency = u.agencies.by_code(cmd.agency_code) if cmd.agency_code else u.agencies.get(p.agency_id)
        if agency is None:
            raise NotFound(f"no agency with code {cmd.agency_code!r}", code="unknown_agency")
        p.require(Permission.HANDLE_CASES, agency.path)
        staff = [(x.strip(), "investigator") for x in (cmd.investigators or (p.username,)) if x.strip()]
        if cmd.legal_officer:
            staff.append((cmd.legal_officer.strip(), "legal_officer"))
        for name, _duty in staff:
            if u.users.by_username(name) is None:
                raise InvalidInput(f"no user {name!r} to assign", code="unknown_user")
        number = u.cases.next_number(agency.id, agency.code, accepted.astimezone(zone(c)).year)
        cid = u.cases.add(number=number, track=track.value, state=State.ACCEPTED.value, title=title,
                          summary=cmd.summary.strip()[:10000], agency_id=agency.id, incident_id=cmd.incident_id,
                          incident_timeline=timeline, created_at=now, created_by=p.username, updated_at=now)
        for name, duty in staff:
            u.cases.assign(cid, name, duty, now)
        reason = cmd.reason.strip() or "受理"
        u.cases.add_transition(case_id=cid, from_state=None, to_state=State.ACCEPTED.value, at=accepted,
                               actor=p.username, reason=reason)
        u.cases.add_event(case_id=cid, event=state_event(State.ACCEPTED), at=accepted, recorded_at=now,
                          actor=p.username, subject=None, reason=reason)
        u.audit.write(actor=p.username, action="case.open", object_type="case", object_id=cid, agency_id=agency.id,
                      detail={"number": number, "track": track.value, "incident_id": cmd.incident_id})
        u.commit()
    return {"id": cid, "number": number}


def transition(case_id: str, target: str, reason: str, p: Principal, *, c: Container,
               at: datetime | None = None, access_reason: str | None = None) -> dict[str, Any]:
    to = parse_state(target)
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="transition", write=True)
        r = check_transition(Track(case["track"]), State(case["state"]), to, reason)
        now = u.clock.now()
        when = at or now
        if when.tzinfo is None or when > now + timedelta(minutes=5):
            raise InvalidInput("the time of a transition is a past time with a time zone", code="invalid_time")
        last = u.cases.transitions(case_id)[-1]["at"]
        if when < last:
            raise InvalidInput("a transition cannot be dated before the previous one", code="invalid_time")
        u.cases.add_transition(case_id=case_id, from_state=case["state"], to_state=to.value, at=when,
                               actor=p.username, reason=r)
        u.cases.add_event(case_id=case_id, event=state_event(to), at=when, recorded_at=now, actor=p.username,
                          subject=None, reason=r)
        u.cases.set_state(case_id, to.value, now)
        u.audit.write(actor=p.username, action="case.transition", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], reason=r, detail={"from": case["state"], "to": to.value})
        notify_parties(u, c, case, key=f"state:{to.value}:{when.isoformat()}", status=to.value, at=when)
        u.commit()
    return {"id": case_id, "state": to.value}


def record_event(case_id: str, event: str, p: Principal, *, c: Container, at: datetime | None = None,
                 subject: str | None = None, reason: str = "", access_reason: str | None = None) -> str:
    """A dated event the deadline rules read (detention, family notified, extension approved, ...). State events
    come only from transitions."""
    from jingwu.cases.services.common import book

    if event.startswith("case."):
        raise InvalidInput("state events are recorded by transitions", code="unknown_event")
    if not book().knows(event):
        raise InvalidInput(f"unknown event {event!r}; GET /api/v1/cases/rules lists the events",
                           code="unknown_event")
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        open_case(u, p, case, reason=access_reason, action="event", write=True)
        now = u.clock.now()
        when = at or now
        if when.tzinfo is None or when > now + timedelta(minutes=5):
            raise InvalidInput("the time of an event is a past time with a time zone", code="invalid_time")
        if subject is not None:
            u.cases.party(case_id, subject)
        eid = u.cases.add_event(case_id=case_id, event=event, at=when, recorded_at=now, actor=p.username,
                                subject=subject, reason=reason.strip()[:2000])
        u.audit.write(actor=p.username, action="case.event", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], reason=reason.strip()[:1000] or None,
                      detail={"event": event, "at": when.isoformat(), "subject": subject})
        u.commit()
    return eid


def assign(case_id: str, username: str, duty: str, p: Principal, *, c: Container) -> None:
    if duty not in ("investigator", "legal_officer"):
        raise InvalidInput("duty is investigator or legal_officer", code="invalid_duty")
    if not p.can(Permission.REVIEW_CASES):
        raise Forbidden("Assigning staff needs the review_cases permission.", code="missing_role")
    with uow(c) as u:
        case = u.cases.get(case_id, lock=True)
        p.require(Permission.REVIEW_CASES, case["agency_path"])
        if u.users.by_username(username) is None:
            raise InvalidInput(f"no user {username!r} to assign", code="unknown_user")
        u.cases.assign(case_id, username, duty, u.clock.now())
        u.audit.write(actor=p.username, action="case.assign", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], detail={"username": username, "duty": duty})
        u.commit()


def deadline_row(d: Deadline, lang: str = "zh-CN") -> dict[str, Any]:
    return {"rule": d.rule.name, "title": d.rule.title_zh if lang == "zh-CN" else d.rule.title_en,
            "title_zh": d.rule.title_zh, "title_en": d.rule.title_en, "source": d.rule.source,
            "started_at": d.started_at, "due": d.due, "status": d.status.value, "subject": d.subject,
            "done_at": d.done_at, "extended": d.extended, "public": d.rule.public}


def case_file(case_id: str, p: Principal, *, c: Container, reason: str | None = None) -> dict[str, Any]:
    """The whole file for staff: its personal data is read here, so the read is audited."""
    with uow(c) as u:
        case = u.cases.get(case_id)
        access = open_case(u, p, case, reason=reason, action="open")
        events = u.cases.events(case_id)
        parties = u.cases.parties(case_id)
        out: dict[str, Any] = {
            "case": case, "assigned": access.assigned, "assignments": u.cases.assignments(case_id),
            "transitions": u.cases.transitions(case_id), "events": events,
            "deadlines": deadlines_of(case, events, c), "parties": parties,
            "codes": u.cases.codes(case_id), "property": u.cases.property(case_id),
            "accounts": u.cases.accounts(case_id), "register_events": u.cases.register_events(case_id),
            "decision": u.cases.decision(case_id),
        }
        u.audit.write(actor=p.username, action="case.read", object_type="case", object_id=case_id,
                      agency_id=case["agency_id"], reason=(reason or "").strip()[:1000] or None,
                      detail={"parties": len(parties)})
        u.commit()
    return out


def deadline_list(p: Principal, *, c: Container, mine: bool, incident_id: str | None = None) -> list[dict[str, Any]]:
    """Open cases with their open deadlines, worst first: the investigator's (assigned to me) or the supervisor's
    (every case in scope). No personal data: numbers, titles, states, deadlines."""
    if mine:
        p.require(Permission.HANDLE_CASES)
    elif not (p.can(Permission.REVIEW_CASES) or p.can(Permission.HANDLE_CASES)):
        raise Forbidden("Your roles do not allow case lists.", code="missing_role")
    with uow(c) as u:
        rows = u.cases.in_subtree(p.agency_path, open_only=incident_id is None, incident_id=incident_id,
                                  username=p.username if mine else None)
        events = u.cases.events_of([r["id"] for r in rows])
        staff = u.cases.assignments_of([r["id"] for r in rows])
    now = c.clock.now()
    rank = {DeadlineStatus.OVERDUE: 0, DeadlineStatus.DUE_SOON: 1, DeadlineStatus.OPEN: 2}
    out = []
    for r in rows:
        ds = open_deadlines(deadlines_of(r, events[r["id"]], c, now))
        ds.sort(key=lambda d: (rank[d.status], d.due))
        out.append({"id": r["id"], "number": r["number"], "title": r["title"], "track": r["track"],
                    "state": r["state"], "agency": r["agency_name"], "staff": staff.get(r["id"], []),
                    "incident_id": r["incident_id"], "deadlines": ds,
                    "worst": ds[0].status.value if ds else None, "next_due": ds[0].due if ds else None})
    out.sort(key=lambda x: (rank.get(DeadlineStatus(x["worst"]), 3) if x["worst"] else 3,
                            x["next_due"] or datetime.max.replace(tzinfo=now.tzinfo)))
    return out
