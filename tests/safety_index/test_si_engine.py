"""The vectorised engine against the scalar formulas of the domain, the false-alarm
rate of the trend tests on stationary Poisson noise, detection of injected surges,
bands, ranks and the method's validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jingwu.platform.errors import Conflict, InvalidInput
from jingwu.safety_index import engine
from jingwu.safety_index.domain import (
    SUB_INDICES,
    Band,
    Category,
    Method,
    SubIndex,
    band_for,
    category_for_code,
    composite_score,
    subindex_score,
    suppress,
)

N_SUB = len(SUB_INDICES)


def arrays(harm: np.ndarray, count: np.ndarray, deaths: np.ndarray | None = None) -> engine.DailyArrays:
    t = harm.shape[0]
    return engine.DailyArrays(harm, count, deaths if deaths is not None else np.zeros_like(count),
                              np.full(t, 10_000.0), [f"T{i:03d}" for i in range(t)])


def test_engine_equals_scalar_formulas() -> None:
    rng = np.random.default_rng(1)
    harm = np.round(rng.gamma(0.6, 4.0, size=(6, 130, N_SUB)), 1)  # weights have few decimals
    count = rng.poisson(3, size=(6, 130))
    deaths = rng.binomial(1, 0.02, size=(6, 130))
    m = Method()
    r = engine.compute(arrays(harm, count, deaths), 90, 129, m)
    for t in range(6):
        for k, d in enumerate(range(90, 130)):
            subs = {}
            for si, s in enumerate(SUB_INDICES):
                cur = harm[t, d - 6:d + 1, si].sum() / 7
                base = harm[t, d - 90:d - 6, si].sum() / 84
                subs[s] = subindex_score(cur, base, m)
                assert r.sub_score[t, k, si] == pytest.approx(subs[s], abs=1e-9)
            expect = composite_score(subs, int(deaths[t, d - 6:d + 1].sum()), m)
            assert r.score[t, k] == pytest.approx(expect, abs=1e-9)
            assert engine.BANDS[r.band[t, k]] == band_for(expect)
    # ranks are a permutation each day, best score first
    for k in range(40):
        assert sorted(r.rank[:, k]) == list(range(1, 7))
        order = np.argsort(r.rank[:, k])
        assert all(r.score[order[i], k] >= r.score[order[i + 1], k] for i in range(5))
    with pytest.raises(ValueError):
        engine.compute(arrays(harm, count), 89, 100)


def test_stationary_poisson_noise_stays_within_the_stated_false_alarm_rate() -> None:
    """300 towns x 600 days at rates 0.5..20 a day: warnings fire on at most alpha of town-days per test."""
    rng = np.random.default_rng(42)
    towns, days = 300, 600
    lam = np.linspace(0.5, 20, towns)[:, None]
    count = rng.poisson(np.broadcast_to(lam, (towns, days)))
    harm = np.zeros((towns, days, N_SUB))
    harm[:, :, 0] = count * 2.0
    m = Method()
    r = engine.compute(arrays(harm, count), 90, days - 1, m)
    surge, mom = engine.warning_flags(r, m.alpha)
    n = surge.size
    # exact conditional test: P(fire) <= alpha per town-day; allow sampling error (3 sd)
    limit = m.alpha + 3 * math.sqrt(m.alpha / n) * 3  # overlapping windows inflate the variance
    assert surge.mean() <= limit, surge.mean()
    assert mom.mean() <= limit, mom.mean()
    print(f"\nfalse alarms: surge {surge.mean():.5f}, mom {mom.mean():.5f} (alpha {m.alpha})")


def test_injected_surges_are_detected() -> None:
    rng = np.random.default_rng(7)
    towns, days = 50, 200
    count = rng.poisson(4.0, size=(towns, days))
    count[:10, 180:187] = rng.poisson(12.0, size=(10, 7))  # x3 for a week in 10 towns
    harm = np.zeros((towns, days, N_SUB))
    harm[:, :, 0] = count
    r = engine.compute(arrays(harm, count), 90, days - 1)
    surge, _ = engine.warning_flags(r, Method().alpha)
    k = 186 - 90
    assert surge[:10, k].sum() >= 9  # nearly every surging town is flagged at the end of the surge week
    assert surge[10:, k].sum() == 0
    assert (r.sub_score[:10, k, 0] < 60).all()  # the public-order sub-index drops hard
    assert (r.band[:10, k] >= 2).all()  # composite: yellow or worse (one sub-index moves it by its weight)


def test_bands_thresholds_and_small_counts() -> None:
    assert [band_for(x) for x in (100, 90, 89.99, 80, 70, 60, 59.99, 0)] == [
        Band.GREEN, Band.GREEN, Band.BLUE, Band.BLUE, Band.YELLOW, Band.ORANGE, Band.RED, Band.RED]
    assert [suppress(x) for x in (None, 0, 1, 2, 3, 10)] == [None, None, None, None, 3, 10]
    m = Method()
    assert subindex_score(0, 0, m) == 100.0
    assert subindex_score(2.0, 0.0, m) == pytest.approx(50.0)  # twice the smoothed baseline
    assert category_for_code("010800") is Category.FRAUD and category_for_code("020900") is Category.DRUGS
    assert category_for_code("030100") is Category.TRAFFIC and category_for_code("990000") is Category.OTHER
    assert m.harm_weight("010601", Category.CRIME) == 12.0  # longest prefix
    assert m.harm_weight("010699", Category.CRIME) == 6.0
    assert m.harm_weight("050600", Category.HELP) == 0.0
    assert m.incident_harm("030100", Category.TRAFFIC, 2) == 6.0 + 2 * 2.0
    with pytest.raises(InvalidInput):
        Method(subindex_weights=dict.fromkeys(SubIndex, 0.3))


def test_ticket_state_machine() -> None:
    from datetime import UTC, date, datetime, timedelta

    from jingwu.safety_index.domain import Ticket, TicketAction, TicketStatus

    now = datetime(2026, 1, 1, tzinfo=UTC)
    t = Ticket("1", "town", "st", "st", date(2026, 1, 1), ("red:2026-01-01",), TicketStatus.OPEN, None, now,
               now + timedelta(days=7))
    with pytest.raises(Conflict):
        t.close(now, "x")
    t = t.add_action(TicketAction(now, "a", "patrols"))
    assert t.status is TicketStatus.IN_PROGRESS
    assert not t.overdue(now + timedelta(days=6)) and t.overdue(now + timedelta(days=8))
    t2 = t.escalate("branch")
    assert t2.agency_id == "branch" and t2.escalation_level == 1 and t2.deadline == now + timedelta(days=10)
    t3 = t2.close(now + timedelta(days=9), "done")
    assert t3.status is TicketStatus.CLOSED and t3.closed_on_time is False
    with pytest.raises(Conflict):
        t3.assign("x")


def test_daily_job_time_in_the_deployment_zone() -> None:
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from jingwu.safety_index.jobs import next_run

    sh = ZoneInfo("Asia/Shanghai")
    # 16:30 UTC = 00:30 next day in Shanghai: the 01:00 run is half an hour away
    assert next_run(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), time(1, 0), sh) == datetime(2026, 3, 2, 1, 0,
                                                                                            tzinfo=sh)
    # just after 01:00 local: tomorrow
    assert next_run(datetime(2026, 3, 1, 17, 1, tzinfo=UTC), time(1, 0), sh) == datetime(2026, 3, 3, 1, 0,
                                                                                           tzinfo=sh)
