"""Safety Index storage on SQLite and PostgreSQL: idempotent incident upserts, the
daily aggregates, bulk score writes and their read-back, tickets round trip,
recomputation replacing rows, all-or-nothing incident batches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jingwu.platform.container import Container
from jingwu.safety_index.domain import Category, TicketStatus
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import (
    IncidentFact,
    apply_changes,
    ingest,
    record_incidents,
    record_incidents_ex,
)
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org, both_databases

pytestmark = both_databases
D0 = date(2026, 1, 1)


def facts(town: str, n_days: int, per_day: int, code: str = "010601", start: int = 0) -> list[IncidentFact]:
    return [IncidentFact(f"s:{town[:4]}:{k}:{j}", datetime(2026, 1, 1, 3, tzinfo=UTC) + timedelta(days=k),
                                  town, code, Category.CRIME if code < "02" else Category.TRAFFIC, 0, j % 2)
            for k in range(start, n_days) for j in range(per_day)]


def test_store_round_trip(container: Container, org: Org) -> None:
    c = container
    towns = add_towns(c, org, [("A", "甲", square(104, 30.6, 0.01), 10_000, "a"),
                               ("B", "乙", square(104.01, 30.6, 0.01), 30_000, "b")])
    tz = _tz(c)
    changed = record_incidents(facts(towns["A"], 100, 1) + facts(towns["B"], 100, 2, "030200"),
                                        uow=c.uow(), tz=tz)
    assert len(changed) == 100
    assert record_incidents(facts(towns["A"], 3, 1), uow=c.uow(), tz=tz) == set()  # same again
    with c.uow() as uow:
        r = repo(uow)
        assert r.count_incidents() == 300 and r.origin_day() == D0 and r.last_incident_day() == D0 + timedelta(99)
        agg = r.aggregates(D0, D0 + timedelta(days=9))
        assert sum(agg.count) == 30 and sum(agg.injuries) == 10
    # a burst in A at the end, backfill (old days: no tickets), then the newest days (tickets)
    record_incidents(facts(towns["A"], 100, 6, start=95)[:30], uow=c.uow(), tz=tz)
    today = c.clock.now().astimezone(ZoneInfo(c.settings.timezone)).date()  # the deployment's "today"
    c.clock.advance(days=(D0 + timedelta(days=101) - today).days)  # type: ignore[attr-defined]
    s = compute(None, None, uow_factory=c.uow, clock=c.clock, tz=tz)
    # no end given: up to the last day with data (D0+99), not up to yesterday (D0+100, no incident)
    assert (s.first, s.last, s.days) == (D0 + timedelta(days=90), D0 + timedelta(days=99), 10)
    with c.uow() as uow:
        r = repo(uow)
        day = D0 + timedelta(days=99)
        rows = {x["town_id"]: x for x in r.scores_on(day)}
        assert rows[towns["A"]]["band"] == "red" and rows[towns["A"]]["rank"] == 2
        assert rows[towns["B"]]["score"] == 100.0 and rows[towns["B"]]["count_7d"] == 14
        assert isinstance(rows[towns["A"]]["computed_at"], datetime) and rows[towns["A"]]["computed_at"].tzinfo
        warns = r.warnings_between(D0, day, towns["A"])
        assert warns and warns[0]["kind"] == "surge_7d" and warns[0]["onset"]
        tickets = r.tickets(status=TicketStatus.OPEN.value)
        assert [t.town_id for t in tickets] == [towns["A"]] and tickets[0].deadline.tzinfo is not None
        n_scores = len(r.scores_between(D0, day + timedelta(days=5)))
    # recomputing replaces rows, opens no second ticket
    s2 = compute(D0 + timedelta(days=95), None, uow_factory=c.uow, clock=c.clock, tz=tz)
    assert s2.tickets_opened == 0
    with c.uow() as uow:
        assert len(repo(uow).scores_between(D0, D0 + timedelta(days=105))) == n_scores
        assert len(repo(uow).tickets()) == 1
    # a late incident through the incremental path (stored sums read back and rewritten on this database)
    ch = record_incidents_ex([IncidentFact("s:late", datetime(2026, 4, 9, 3, tzinfo=UTC),
                                                             towns["B"], "030100", Category.TRAFFIC, 1, 2)],
                                      uow=c.uow(), tz=tz)
    s3 = apply_changes(ch, uow_factory=c.uow, clock=c.clock, tz=tz)
    assert (s3.first, s3.last) == (date(2026, 4, 9), D0 + timedelta(days=99)) and not s3.notes  # the last scored day
    with c.uow() as uow:
        b = {x["town_id"]: x for x in repo(uow).scores_on(date(2026, 4, 9))}[towns["B"]]
    assert b["deaths_7d"] == 1 and b["count_7d"] == 15 and b["score"] < 90
    check_concurrent_writers_lose_nothing(c, towns)
    check_bad_incident_batch_stores_nothing(c, org)


def check_concurrent_writers_lose_nothing(c: Container, towns: dict[str, str]) -> None:
    """Late incidents ingested from 6 threads while a recomputation runs: the stored scores equal a
    fresh full recomputation (no delta counted twice, none lost)."""
    import threading

    tz = _tz(c)
    errors: list[BaseException] = []

    def late(i: int) -> None:
        try:
            f = IncidentFact(f"s:conc:{i}", datetime(2026, 4, 5 + i, 3, tzinfo=UTC),
                                      towns["A" if i % 2 else "B"], "010400", Category.CRIME, i % 2, 1)
            ingest([f], uow_factory=c.uow, clock=c.clock, tz=tz)
        except BaseException as exc:
            errors.append(exc)

    def recompute() -> None:
        try:
            compute(D0 + timedelta(days=90), None, uow_factory=c.uow, clock=c.clock, tz=tz)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=late, args=(i,)) for i in range(6)] + [threading.Thread(target=recompute)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []

    def snap() -> list[tuple[Any, ...]]:
        with c.uow() as uow:
            return sorted((x["day"], x["town_id"], x["score"], x["rank"], x["count_7d"], x["h7_order"])
                          for x in repo(uow).scores_between(D0, D0 + timedelta(days=120)))

    before = snap()
    compute(D0 + timedelta(days=90), None, uow_factory=c.uow, clock=c.clock, tz=tz)
    assert snap() == before


def check_bad_incident_batch_stores_nothing(container: Container, org: Org) -> None:
    """The last row of a 2,501-row batch breaks a NOT NULL constraint after the first chunk was written."""
    towns = add_towns(container, org, [("C", "丙", square(104.02, 30.6, 0.01), 10_000, "a")])
    good = facts(towns["C"], 100, 25)
    bad = IncidentFact("s:bad", datetime(2026, 1, 1, 3, tzinfo=UTC), towns["C"],
                                None, Category.CRIME)  # type: ignore[arg-type]
    with container.uow() as uow:
        before = repo(uow).count_incidents()
    with pytest.raises(Exception, match=r"(?i)null"):
        record_incidents([*good, bad], uow=container.uow(), tz=_tz(container))
    with container.uow() as uow:
        assert repo(uow).count_incidents() == before
