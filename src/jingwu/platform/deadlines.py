"""A small rules engine for legal time limits (the smart station's reminders): deadline rules registered by
name, each naming the event that starts it, its period, the events that complete it, the extensions that
lengthen it and its legal source; evaluated against the events recorded for one subject (a case).

Standard library only. Any feature may register events and rules in a ``RuleBook`` (the cases feature
registers the legal table in ``jingwu.cases.domain``); a rule naming an event the book does not know is
refused at registration (``UnknownEvent``, code ``unknown_event``), so a typo never becomes a silent rule.

Counting (CPL Art. 105; Admin Rules Art. 35): the starting hour or day is not counted; a period in days or
months ends at the end of its last day in the deployment's zone; when that day is a rest day the period ends
at the end of the next working day, except for rules marked ``custody`` (the period runs to the day).
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from jingwu.platform.errors import Conflict, InvalidInput


class UnknownEvent(InvalidInput):
    code = "unknown_event"


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True)
class Period:
    n: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.n < 0:
            raise InvalidInput("a period is not negative")

    def label(self, lang: str = "zh-CN") -> str:
        zh = {Unit.HOURS: "小时", Unit.DAYS: "日", Unit.MONTHS: "个月"}
        return f"{self.n}{zh[self.unit]}" if lang == "zh-CN" else f"{self.n} {self.unit.value}"


def hours(n: int) -> Period:
    return Period(n, Unit.HOURS)


def days(n: int) -> Period:
    return Period(n, Unit.DAYS)


def months(n: int) -> Period:
    return Period(n, Unit.MONTHS)


@dataclass(frozen=True)
class Extension:
    """An event that lengthens a running deadline: to ``total`` from the start, or by ``add`` at most
    ``max_times`` times (PSAPL-2025 Art. 118: +30 days, two times at most)."""

    event: str
    add: Period | None = None
    total: Period | None = None
    max_times: int = 1


@dataclass(frozen=True)
class DeadlineRule:
    name: str
    event: str  # the event that starts the period
    period: Period
    done_by: tuple[str, ...]  # events that complete it
    title_zh: str
    title_en: str
    source: str  # legal source, e.g. "CPL Art. 85; Criminal Rules Art. 127"
    track: str | None = None  # applies to one case track only ("criminal" / "administrative"), None: both
    custody: bool = False  # the person is in custody: no roll-over past rest days
    extensions: tuple[Extension, ...] = ()
    warn: Period | None = None  # "due soon" this long before the due time (default by unit)
    public: bool = False  # shown to the parties as the next step
    effective_from: date | None = None  # the starting event's local date must be on or after
    effective_until: date | None = None  # ... and on or before (versions of a law)

    def warn_period(self) -> Period:
        if self.warn is not None:
            return self.warn
        return {Unit.HOURS: hours(max(1, self.period.n // 4)), Unit.DAYS: days(1),
                Unit.MONTHS: days(7)}[self.period.unit]


@dataclass(frozen=True)
class Occurrence:
    """One recorded event of a subject."""

    event: str
    at: datetime  # timezone-aware
    subject: str | None = None  # e.g. the party it concerns; a completion must name the same subject


class DeadlineStatus(StrEnum):
    OPEN = "open"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE = "done"
    DONE_LATE = "done_late"


@dataclass(frozen=True)
class Deadline:
    rule: DeadlineRule
    started_at: datetime
    due: datetime
    subject: str | None
    status: DeadlineStatus
    done_at: datetime | None = None
    extended: int = 0

    @property
    def key(self) -> str:
        return f"{self.rule.name}:{self.subject or '-'}:{self.started_at.isoformat()}"


@dataclass(frozen=True)
class WorkCalendar:
    """Rest days: weekends plus ``holidays``, minus ``workdays`` (adjusted working weekends, 调休)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_rest_day(self, d: date) -> bool:
        if d in self.workdays:
            return False
        return d.weekday() >= 5 or d in self.holidays

    def next_working_day(self, d: date) -> date:
        while self.is_rest_day(d):
            d += timedelta(days=1)
        return d


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_period(start: datetime, p: Period, tz: ZoneInfo, cal: WorkCalendar, *, custody: bool) -> datetime:
    """The due time of a period starting at ``start`` (see the module docstring for the counting rule)."""
    if p.unit is Unit.HOURS:
        return start + timedelta(hours=p.n)
    local = start.astimezone(tz).date()
    last = local + timedelta(days=p.n) if p.unit is Unit.DAYS else _add_months(local, p.n)
    if not custody:
        last = cal.next_working_day(last)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) - timedelta(microseconds=1)
    return end


class RuleBook:
    """Events and deadline rules registered by name (thread-safe; a name is registered once)."""

    def __init__(self) -> None:
        self._events: dict[str, str] = {}
        self._rules: dict[str, DeadlineRule] = {}
        self._lock = threading.Lock()

    def register_event(self, name: str, description: str = "") -> None:
        if not name or name != name.strip():
            raise InvalidInput(f"an event name is a non-empty word: {name!r}", code="invalid_event")
        with self._lock:
            self._events.setdefault(name, description)

    def knows(self, event: str) -> bool:
        return event in self._events

    def events(self) -> dict[str, str]:
        return dict(self._events)

    def register(self, rule: DeadlineRule) -> None:
        """Add a rule; every event it names must be registered first (``unknown_event``)."""
        named = [rule.event, *rule.done_by, *(x.event for x in rule.extensions)]
        unknown = [e for e in named if e not in self._events]
        if unknown:
            raise UnknownEvent(f"deadline rule {rule.name!r} names unknown event(s): {', '.join(unknown)}; "
                               "register the event first")
        if not rule.done_by:
            raise InvalidInput(f"deadline rule {rule.name!r} names no event that completes it", code="invalid_rule")
        for x in rule.extensions:
            if (x.add is None) == (x.total is None) or x.max_times < 1:
                raise InvalidInput(f"extension {x.event!r} of {rule.name!r} needs either add or total, "
                                   "and max_times >= 1", code="invalid_rule")
        with self._lock:
            old = self._rules.get(rule.name)
            if old is not None and old != rule:
                raise Conflict(f"a different deadline rule named {rule.name!r} is already registered",
                               code="rule_exists")
            self._rules[rule.name] = rule

    def rules(self, track: str | None = None) -> list[DeadlineRule]:
        return [r for r in self._rules.values() if track is None or r.track in (None, track)]

    def rule(self, name: str) -> DeadlineRule:
        return self._rules[name]

    def evaluate(self, occurrences: Sequence[Occurrence], *, track: str | None, now: datetime, tz: ZoneInfo,
                 cal: WorkCalendar) -> list[Deadline]:
        """Every deadline the events start, with its due time and status at ``now``, earliest due first."""
        occ = sorted(occurrences, key=lambda o: o.at)
        out: list[Deadline] = []
        for rule in self.rules(track):
            for start in (o for o in occ if o.event == rule.event):
                day = start.at.astimezone(tz).date()
                if (rule.effective_from and day < rule.effective_from) or \
                        (rule.effective_until and day > rule.effective_until):
                    continue
                out.append(_one(rule, start, occ, now=now, tz=tz, cal=cal))
        return sorted(out, key=lambda d: d.due)


def _matches(o: Occurrence, start: Occurrence) -> bool:
    return o.at >= start.at and (start.subject is None or o.subject in (None, start.subject))


def _one(rule: DeadlineRule, start: Occurrence, occ: Sequence[Occurrence], *, now: datetime, tz: ZoneInfo,
         cal: WorkCalendar) -> Deadline:
    done = next((o for o in occ if o.event in rule.done_by and _matches(o, start)), None)
    period_total: Period | None = None
    adds: list[Period] = []
    extended = 0
    for x in rule.extensions:
        hits = [o for o in occ if o.event == x.event and _matches(o, start)
                and (done is None or o.at <= done.at)][: x.max_times]
        for _ in hits:
            extended += 1
            if x.total is not None:
                period_total = x.total if period_total is None or _longer(x.total, period_total) else period_total
            elif x.add is not None:
                adds.append(x.add)
    due = add_period(start.at, period_total or rule.period, tz, cal, custody=rule.custody)
    for a in adds:  # each extension runs on from the end of the previous period
        due = add_period(due, a, tz, cal, custody=rule.custody)
    if done is not None:
        status = DeadlineStatus.DONE if done.at <= due else DeadlineStatus.DONE_LATE
    elif now > due:
        status = DeadlineStatus.OVERDUE
    else:
        w = rule.warn_period()
        soon_from = due - timedelta(hours=w.n * {Unit.HOURS: 1, Unit.DAYS: 24, Unit.MONTHS: 24 * 30}[w.unit])
        status = DeadlineStatus.DUE_SOON if now >= soon_from else DeadlineStatus.OPEN
    return Deadline(rule=rule, started_at=start.at, due=due, subject=start.subject, status=status,
                    done_at=done.at if done else None, extended=extended)


def _longer(a: Period, b: Period) -> bool:
    scale = {Unit.HOURS: 1, Unit.DAYS: 24, Unit.MONTHS: 24 * 30}
    return a.n * scale[a.unit] > b.n * scale[b.unit]


def open_deadlines(items: Iterable[Deadline]) -> list[Deadline]:
    return [d for d in items if d.status in (DeadlineStatus.OPEN, DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE)]


BOOK = RuleBook()  # the process's rule book: features register their events and rules here at import
