"""Incremental update (late incidents added to the stored window sums) gives exactly
what a full recomputation from the facts gives: scores, bands, ranks, sums, warnings
and their onsets — for new incidents on the last day, weeks back, corrections that
move an incident to another town and type, and deaths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from jingwu.demo import synthetic
from jingwu.platform.container import Container
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import IncidentFact, apply_changes, record_incidents, record_incidents_ex
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org

D0 = date(2026, 1, 1)
DAYS = 130


def fact(i: str, day: int, town: str, code: str, deaths: int = 0, inj: int = 0) -> IncidentFact:
    from jingwu.safety_index.domain import category_for_code

    return IncidentFact(i, datetime(2026, 1, 1, 2, tzinfo=UTC) + timedelta(days=day), town, code,
                                 category_for_code(code), deaths, inj)


def snapshot(c: Container) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with c.uow() as uow:
        r = repo(uow)
        scores = [{k: v for k, v in x.items() if k != "computed_at"}
                  for x in r.scores_between(D0, D0 + timedelta(days=DAYS))]
        warns = r.warnings_between(D0, D0 + timedelta(days=DAYS))
    return sorted(scores, key=lambda x: (x["day"], x["town_id"])), warns


def test_incremental_equals_full_recompute(container: Container, org: Org) -> None:
    c = container
    tz = _tz(c)
    ids = add_towns(c, org, [(f"T{i}", f"镇{i}", square(104 + i / 100, 30.6, 0.01), 10_000 * (i + 1), "a")
                             for i in range(4)])
    towns = list(ids.values())
    g = synthetic.generate(np.array([1e4, 2e4, 3e4, 4e4]), DAYS, 4 * 3 * DAYS, seed=9,
                           surges=[(1, 100, 8, 4.0)])
    base = [fact(f"g:{k}", int(d), towns[int(t)], str(code), int(de), int(inj))
            for k, (t, d, code, de, inj) in enumerate(zip(g.town, g.day, g.type_code, g.deaths, g.injuries,
                                                          strict=True))]
    record_incidents(base, uow=c.uow(), tz=tz)
    today = c.clock.now().astimezone(ZoneInfo(c.settings.timezone)).date()  # the deployment's "today"
    c.clock.advance(days=(D0 + timedelta(days=DAYS) - today).days)  # type: ignore[attr-defined]
    compute(None, D0 + timedelta(days=DAYS - 1), uow_factory=c.uow, clock=c.clock, tz=tz)
    batches = [
        [fact(f"late:a{i}", DAYS - 1, towns[i % 4], "010601") for i in range(9)],  # the last day
        [fact(f"late:b{i}", DAYS - 30, towns[2], "010400", inj=1) for i in range(6)],  # a month back
        [fact("late:c", DAYS - 3, towns[0], "030100", deaths=2)],  # deaths
        [fact("g:5", int(g.day[5]) + 0, towns[3], "011300")],  # a correction: other town, type, day kept
        [fact("late:e", 95, towns[1], "010100")],  # near the first scored day (baseline of later days)
    ]
    for batch in batches:
        ch = record_incidents_ex(batch, uow=c.uow(), tz=tz)
        s = apply_changes(ch, uow_factory=c.uow, clock=c.clock, tz=tz)
        assert s.days >= 1 and not s.notes
        inc_scores, inc_warns = snapshot(c)
        compute(D0 + timedelta(days=90), D0 + timedelta(days=DAYS - 1), uow_factory=c.uow, clock=c.clock,
                         tz=tz)
        full_scores, full_warns = snapshot(c)
        assert len(inc_scores) == len(full_scores) == 40 * 4
        for a, b in zip(inc_scores, full_scores, strict=True):
            for k in a:
                if isinstance(a[k], float):
                    assert abs(a[k] - b[k]) < 1e-9, (k, a, b)
                else:
                    assert a[k] == b[k], (k, a, b)
        assert [{k: v for k, v in w.items() if k != "p_value"} for w in inc_warns] == [
            {k: v for k, v in w.items() if k != "p_value"} for w in full_warns]
    # the corrected incident moved: its old town lost it
    with c.uow() as uow:
        moved = repo(uow).incident("g:5")
    assert moved and moved["town_id"] == towns[3] and moved["type_code"] == "011300"
    assert any(w["town_id"] == towns[1] and w["kind"] == "surge_7d" for w in full_warns)
