"""What every cases use case shares: the unit of work, the rule book with the legal table, the work calendar,
the access check (assigned staff, or a stated reason written to the interference register and the audit log),
the deadline evaluation of one case and the notifications to its parties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.cases.domain import CUSTODY_EVENTS, STATE_LABELS, Contact, PartyRole, State, register_case_rules
from jingwu.cases.settings import CasesSettings
from jingwu.cases.store import CasesUnitOfWork
from jingwu.platform import notify
from jingwu.platform.container import Container
from jingwu.platform.deadlines import BOOK, Deadline, Occurrence, RuleBook, WorkCalendar
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Forbidden

register_case_rules(BOOK)

notify.register_template(
    "cases.status_changed",
    zh=("案件进展通知 {{ case_number }}", "您关注的案件 {{ case_number }} 有新进展：{{ status }}（{{ at }}）。"
        "请凭案件编号和查询码在公安机关案件查询页面查看。"),
    en=("Case update {{ case_number }}", "Case {{ case_number }} has an update: {{ status }} ({{ at }}). "
        "Look it up with the case number and your access code on the public case page."),
)
notify.register_template(
    "cases.deadline_reminder",
    zh=("办案期限提醒 {{ case_number }}",
        "案件 {{ case_number }}：{{ rule }} {{ level }}，期限 {{ due }}（{{ source }}）。"),
    en=("Deadline reminder {{ case_number }}", "Case {{ case_number }}: {{ rule }} is {{ level }}, due {{ due }} "
        "({{ source }})."),
)


def uow(c: Container) -> CasesUnitOfWork:
    return CasesUnitOfWork(c.session_factory, c.clock, after_commit=c.relay.kick if c.relay else None)


def settings(c: Container) -> CasesSettings:
    return c.settings.section(CasesSettings)


def zone(c: Container) -> ZoneInfo:
    return ZoneInfo(c.settings.timezone)


def work_calendar(c: Container) -> WorkCalendar:
    s = settings(c)
    return WorkCalendar(holidays=frozenset(s.holidays), workdays=frozenset(s.workdays))


def book() -> RuleBook:
    return BOOK


def occurrences(events: list[dict[str, Any]]) -> list[Occurrence]:
    return [Occurrence(e["event"], e["at"], e["subject"]) for e in events]


def deadlines_of(case: dict[str, Any], events: list[dict[str, Any]], c: Container,
                 now: datetime | None = None) -> list[Deadline]:
    return book().evaluate(occurrences(events), track=case["track"], now=now or c.clock.now(), tz=zone(c),
                           cal=work_calendar(c))


def in_custody(events: list[dict[str, Any]], suspect_id: str | None = None) -> bool:
    """A suspect (this one, or any) was detained or arrested and not released since."""
    state = False
    for e in sorted(events, key=lambda e: e["at"]):
        if suspect_id and e["subject"] not in (None, suspect_id):
            continue
        if e["event"] in CUSTODY_EVENTS:
            state = True
        elif e["event"] == "suspect.released":
            state = False if suspect_id else state
    return state


def ever_in_custody(events: list[dict[str, Any]], suspect_id: str | None) -> bool:
    return any(e["event"] in CUSTODY_EVENTS and (suspect_id is None or e["subject"] in (None, suspect_id))
               for e in events)


@dataclass(frozen=True)
class Access:
    assigned: bool
    interference: bool


def open_case(u: CasesUnitOfWork, p: Principal, case: dict[str, Any], *, reason: str | None, action: str,
              write: bool = False) -> Access:
    """Check that ``p`` may open the case: case permission in scope; staff not assigned to it must state a
    reason (``reason_required``), which goes to the interference register and the hash-chained audit log."""
    if not (p.can(Permission.HANDLE_CASES) or p.can(Permission.REVIEW_CASES)):
        raise Forbidden("Your roles do not allow opening cases.", code="missing_role")
    p.require(Permission.HANDLE_CASES if write else
              (Permission.HANDLE_CASES if p.can(Permission.HANDLE_CASES) else Permission.REVIEW_CASES),
              case["agency_path"])
    assigned = any(a["username"] == p.username for a in u.cases.assignments(case["id"]))
    if assigned:
        return Access(True, False)
    r = (reason or "").strip()
    if not r:
        raise Forbidden("You are not assigned to this case: state why you open it (reason), it is recorded in "
                        "the interference register.", code="reason_required")
    seq = u.audit.write(actor=p.username, action=f"case.interference.{action}", object_type="case",
                        object_id=case["id"], agency_id=p.agency_id, reason=r[:1000],
                        detail={"case_number": case["number"]})
    u.cases.add_interference(case_id=case["id"], at=u.clock.now(), username=p.username, user_agency_id=p.agency_id,
                             action=action, reason=r[:1000], audit_seq=seq)
    return Access(False, True)


def status_label(state: str, lang: str) -> str:
    zh, en = STATE_LABELS[State(state)]
    return zh if lang == "zh-CN" else en


def notify_parties(u: CasesUnitOfWork, c: Container, case: dict[str, Any], *, key: str, status: str,
                   at: datetime) -> int:
    """Queue a notice of a public change to every party that asked for one (dedupe key per case, event and
    party); the suspect's family only once the suspect was in custody. Returns how many were queued."""
    events = u.cases.events(case["id"])
    n = 0
    due_by = at + timedelta(minutes=settings(c).notify_within_minutes)
    for party in u.cases.parties(case["id"]):
        if party["contact"] == Contact.NONE.value:
            continue
        if party["role"] == PartyRole.SUSPECT_FAMILY.value and not ever_in_custody(events, party["related_party_id"]):
            continue
        address = party["phone"] if party["contact"] == Contact.SMS.value else party["email"]
        if not address:
            continue
        local = at.astimezone(zone(c)).strftime("%Y-%m-%d %H:%M")
        notify.enqueue(u, notify.NotificationRequest(
            channel=party["contact"], address=address, template="cases.status_changed", lang=party["lang"],
            params={"case_number": case["number"], "status": status_label(status, party["lang"])
                    if status in State.__members__.values() else status, "at": local},
            dedupe_key=f"case:{case['id']}:{key}:{party['id']}", ref=case["number"], due_by=due_by))
        n += 1
    return n
