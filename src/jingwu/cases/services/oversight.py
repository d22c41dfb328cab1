"""Oversight: the weekly interference report (every entry of a week within the supervisor's subtree) and the
reminder run that evaluates the deadline rules of every open case and pushes one reminder per deadline and level
(due soon, overdue) to the staff assigned to the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from jingwu.cases.services.common import deadlines_of, uow, zone
from jingwu.platform import notify
from jingwu.platform.container import Container
from jingwu.platform.deadlines import DeadlineStatus
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput


def week_bounds(week: str | None, c: Container) -> tuple[date, datetime, datetime]:
    """Monday of an ISO week ``YYYY-Www`` (default: the last complete week) and its local bounds in UTC."""
    tz = zone(c)
    if week:
        try:
            monday = date.fromisocalendar(int(week[:4]), int(week.split("W")[1]), 1)
        except (ValueError, IndexError):
            raise InvalidInput(f"week {week!r} is not an ISO week like 2026-W05", code="invalid_week") from None
    else:
        today = c.clock.now().astimezone(tz).date()
        monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    return monday, start, start + timedelta(days=7)


def interference_report(p: Principal | None, *, c: Container, week: str | None = None,
                        agency_path: str = "/") -> dict[str, Any]:
    """Entries of the week; ``p`` None only for the command line (an operator on the server)."""
    if p is not None:
        if not (p.can(Permission.REVIEW_CASES) or p.can(Permission.READ_AUDIT)):
            raise Forbidden("The interference report is for supervisors and auditors.", code="missing_role")
        agency_path = p.agency_path
    monday, start, end = week_bounds(week, c)
    with uow(c) as u:
        rows = u.cases.interference(agency_path, start, end)
        if p is not None:
            u.audit.write(actor=p.username, action="case.interference.report", object_type="case_interference",
                          agency_id=p.agency_id, detail={"week": monday.isoformat(), "entries": len(rows)})
            u.commit()
    by_user: dict[str, int] = {}
    for r in rows:
        by_user[r["username"]] = by_user.get(r["username"], 0) + 1
    iso = monday.isocalendar()
    return {"week": f"{iso.year}-W{iso.week:02d}", "from": start, "to": end, "entries": rows,
            "by_user": sorted(by_user.items(), key=lambda kv: -kv[1])}


@dataclass(frozen=True)
class ReminderRun:
    cases: int
    reminders: int


def run_reminders(*, c: Container) -> ReminderRun:
    """Evaluate every open case; queue one reminder per (deadline, level) to each assigned staff member (the
    platform outbox channel, addressed by username) and remember it, so a later run does not repeat it."""
    now = c.clock.now()
    tz = zone(c)
    sent = 0
    with uow(c) as u:
        ids = u.cases.open_case_ids()
        events = u.cases.events_of(ids)
        staff = u.cases.assignments_of(ids)
        for cid in ids:
            case = u.cases.get(cid)
            todo = [d for d in deadlines_of(case, events[cid], c, now)
                    if d.status in (DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE)]
            keys = {f"{cid}:{d.key}:{d.status.value}"[:200]: d for d in todo}
            done = u.cases.reminded(list(keys))
            for key, d in keys.items():
                if key in done:
                    continue
                for username in staff.get(cid, []):
                    notify.enqueue(u, notify.NotificationRequest(
                        channel="outbox", address=username, template="cases.deadline_reminder", lang="zh-CN",
                        params={"case_number": case["number"], "rule": d.rule.title_zh,
                                "level": "即将到期" if d.status is DeadlineStatus.DUE_SOON else "已超期",
                                "due": d.due.astimezone(tz).strftime("%Y-%m-%d %H:%M"), "source": d.rule.source},
                        dedupe_key=f"reminder:{key}:{username}", ref=case["number"], due_by=d.due))
                u.cases.add_reminder(key=key, case_id=cid, rule=d.rule.name, level=d.status.value, at=now)
                sent += 1
        u.commit()
    return ReminderRun(len(ids), sent)
