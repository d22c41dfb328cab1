"""The deadline rules engine and the legal table: counting (start not counted, end of the last local day,
roll-over past rest days except in custody), extensions, law versions, statuses, and registration refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jingwu.cases.domain import RULES, register_case_rules
from jingwu.platform.deadlines import (
    BOOK,
    DeadlineRule,
    DeadlineStatus,
    Occurrence,
    RuleBook,
    UnknownEvent,
    WorkCalendar,
    days,
    hours,
)
from jingwu.platform.errors import Conflict

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}))


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=TZ)


def book() -> RuleBook:
    return register_case_rules(RuleBook())


def due(rule: str, occ: list[Occurrence], track: str, now: datetime | None = None) -> datetime:
    ds = [d for d in book().evaluate(occ, track=track, now=now or occ[0].at, tz=TZ, cal=CAL) if d.rule.name == rule]
    assert len(ds) == 1, ds
    return ds[0].due


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=TZ)


def test_filing_review_three_days_start_not_counted_and_rolled_past_rest_days() -> None:
    # accepted Tuesday 2026-03-03 → 3 days → Friday 03-06, end of day
    assert due("crim.filing_review", [Occurrence("case.accepted", at(2026, 3, 3))], "criminal") == end_of(2026, 3, 6)
    # accepted Wednesday 03-04 → Saturday 03-07 is a rest day → Monday 03-09
    assert due("crim.filing_review", [Occurrence("case.accepted", at(2026, 3, 4))], "criminal") == end_of(2026, 3, 9)
    # accepted 2026-09-28 → 10-01 is a configured holiday, 10-02 too, 10-03/04 weekend → 10-05
    assert due("crim.filing_review", [Occurrence("case.accepted", at(2026, 9, 28))], "criminal") == end_of(2026, 10, 5)


def test_filing_review_extensions_to_7_and_30_days() -> None:
    occ = [Occurrence("case.accepted", at(2026, 3, 2)), Occurrence("filing_review.extended_7", at(2026, 3, 3))]
    assert due("crim.filing_review", occ, "criminal") == end_of(2026, 3, 9)
    occ.append(Occurrence("filing_review.extended_30", at(2026, 3, 6)))
    assert due("crim.filing_review", occ, "criminal") == end_of(2026, 4, 1)


def test_custody_periods_do_not_roll_over_rest_days() -> None:
    # detained Wednesday 03-04 10:00: arrest request due Saturday 03-07 (custody: no roll-over)
    occ = [Occurrence("suspect.detained", at(2026, 3, 4), "p1")]
    assert due("crim.arrest_request", occ, "criminal") == end_of(2026, 3, 7)
    assert due("crim.family_notice_detention", occ, "criminal") == at(2026, 3, 5)
    occ.append(Occurrence("arrest_request.extended", at(2026, 3, 5), "p1"))
    assert due("crim.arrest_request", occ, "criminal") == end_of(2026, 3, 11)


def test_custody_months_and_extensions() -> None:
    occ = [Occurrence("suspect.arrested", at(2026, 1, 31), "p1")]
    assert due("crim.custody", occ, "criminal") == end_of(2026, 3, 31)
    occ.append(Occurrence("custody.extended_1", at(2026, 3, 20), "p1"))
    assert due("crim.custody", occ, "criminal") == end_of(2026, 4, 30)


def test_administrative_handling_period_two_extensions_at_most() -> None:
    occ = [Occurrence("case.accepted", at(2026, 2, 1)), Occurrence("case.investigating", at(2026, 2, 2))]
    base = due("adm.handling_2025", occ, "administrative")
    assert base == end_of(2026, 3, 4)
    for k in range(3):
        occ.append(Occurrence("handling.extended", at(2026, 2, 20 + k)))
    # two extensions of 30 days counted, the third ignored (PSAPL-2025 Art. 118)
    assert due("adm.handling_2025", occ, "administrative") == end_of(2026, 5, 4)


def test_law_version_by_date_of_the_starting_event() -> None:
    old = [Occurrence("case.accepted", at(2025, 12, 10)), Occurrence("case.investigating", at(2025, 12, 11))]
    names = {d.rule.name for d in book().evaluate(old, track="administrative", now=at(2025, 12, 12), tz=TZ, cal=CAL)}
    assert "adm.handling_2012" in names and "adm.handling_2025" not in names
    new = [Occurrence("case.accepted", at(2026, 1, 10)), Occurrence("case.investigating", at(2026, 1, 11))]
    names = {d.rule.name for d in book().evaluate(new, track="administrative", now=at(2026, 1, 12), tz=TZ, cal=CAL)}
    assert "adm.handling_2025" in names and "adm.handling_2012" not in names


def test_statuses_open_due_soon_overdue_done_late() -> None:
    start = at(2026, 3, 4)
    occ = [Occurrence("suspect.detained", start, "p1")]

    def status(now: datetime, extra: list[Occurrence] = ()) -> DeadlineStatus:  # type: ignore[assignment]
        ds = book().evaluate([*occ, *extra], track="criminal", now=now, tz=TZ, cal=CAL)
        return next(d.status for d in ds if d.rule.name == "crim.family_notice_detention")

    assert status(start + timedelta(hours=1)) is DeadlineStatus.OPEN
    assert status(start + timedelta(hours=20)) is DeadlineStatus.DUE_SOON
    assert status(start + timedelta(hours=25)) is DeadlineStatus.OVERDUE
    late = [Occurrence("family.notified", start + timedelta(hours=30), "p1")]
    assert status(start + timedelta(hours=31), late) is DeadlineStatus.DONE_LATE
    # a completion for another suspect does not complete this one
    other = [Occurrence("family.notified", start + timedelta(hours=2), "p2")]
    assert status(start + timedelta(hours=25), other) is DeadlineStatus.OVERDUE


def test_hours_periods_run_in_utc_whatever_the_zone() -> None:
    start = datetime(2026, 3, 4, 20, tzinfo=UTC)
    assert due("crim.interrogation_arrest", [Occurrence("suspect.arrested", start, "p")], "criminal") == \
        start + timedelta(hours=24)


def test_rule_naming_an_unknown_event_is_refused_at_registration() -> None:
    b = book()
    n = len(b.rules())
    with pytest.raises(UnknownEvent) as e:
        b.register(DeadlineRule("x.typo", "suspect.detaned", hours(24), ("family.notified",), "x", "x", "none"))
    assert e.value.code == "unknown_event" and "suspect.detaned" in e.value.message
    with pytest.raises(UnknownEvent):
        b.register(DeadlineRule("x.typo2", "suspect.detained", hours(24), ("family.notifed",), "x", "x", "none"))
    assert len(b.rules()) == n


def test_other_features_register_events_and_rules() -> None:
    b = book()
    b.register_event("exchange.request_received")
    b.register_event("exchange.request_answered")
    rule = DeadlineRule("exchange.reply", "exchange.request_received", days(5), ("exchange.request_answered",),
                        "协作回复", "Reply to a cooperation request", "agreement")
    b.register(rule)
    b.register(rule)  # the same rule again is fine
    with pytest.raises(Conflict):
        b.register(DeadlineRule("exchange.reply", "exchange.request_received", days(6),
                                ("exchange.request_answered",), "协作回复", "Reply", "agreement"))
    ds = b.evaluate([Occurrence("exchange.request_received", at(2026, 3, 2))], track="criminal",
                    now=at(2026, 3, 2), tz=TZ, cal=CAL)
    assert any(d.rule.name == "exchange.reply" for d in ds)


def test_the_process_book_holds_the_legal_table() -> None:
    import jingwu.cases.services.common  # noqa: F401  (registers the table)

    assert {r.name for r in RULES} <= {r.name for r in BOOK.rules()}
    assert all(r.source for r in RULES)
