"""The demo stream: generated calls flow through intake, the autopilot
dispatches calls left waiting, and simulated units drive the real roads
through the whole status chain (fast-forwarded with a test clock)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import text

from jingwu.demo.autopilot import Autopilot
from jingwu.demo.generator import HOURLY_PROFILE, CallGenerator
from jingwu.dispatch.domain import TypeTable
from jingwu.platform.container import Container


def test_generator_follows_its_hourly_profile() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    gen = CallGenerator(TypeTable.load(), [(104.07, 30.66)], calls_per_hour=100, tz=tz, seed=1)
    t = datetime(2026, 3, 2, 0, 0, tzinfo=tz)
    end = t.replace(day=16)
    hours: Counter[int] = Counter()
    while t < end:
        t = t + gen.next_gap(t)
        hours[t.astimezone(tz).hour] += 1
    days = 14
    for h in (4, 20):
        expected = 100 * HOURLY_PROFILE[h] * days
        assert abs(hours[h] - expected) < 4 * expected ** 0.5, (h, hours[h], expected)
    assert hours[20] > 3 * hours[4]


def test_autopilot_runs_calls_through_the_whole_chain(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    c.clock.advance(hours=0)
    ap = Autopilot(c, calls_per_hour=300, seed=7)
    for _ in range(int(25 * 60 / 3)):  # 25 simulated minutes, 3 s ticks
        c.clock.advance(seconds=3)
        ap.step()
    with c.engine.connect() as conn:
        by_status = dict(conn.execute(text("SELECT status, count(*) FROM incidents GROUP BY status")).all())
        n_closed_asg = conn.execute(text("SELECT count(*) FROM assignments WHERE feedback_at IS NOT NULL")).scalar_one()
        bad_order = conn.execute(text(
            "SELECT count(*) FROM assignments WHERE on_scene_at IS NOT NULL AND "
            "(acknowledged_at IS NULL OR en_route_at IS NULL OR on_scene_at < en_route_at)")).scalar_one()
        moved = conn.execute(text("SELECT count(*) FROM units WHERE lon <> home_lon OR lat <> home_lat")).scalar_one()
        actors = {r[0] for r in conn.execute(text("SELECT DISTINCT actor FROM audit_log WHERE action LIKE 'unit_%'"))}
    total = sum(by_status.values())
    assert 60 <= total <= 220  # ~125 expected from 300/h x 25 min (the profile varies with the hour)
    assert by_status.get("closed", 0) > 10 and n_closed_asg > 10
    assert bad_order == 0
    assert moved > 10
    assert actors == {"demo-autopilot"}


def test_a_fresh_demo_board_gets_its_first_calls_within_a_minute(city) -> None:  # type: ignore[no-untyped-def]
    """Even at a quiet hour's rate the stream opens with six calls, ten seconds apart."""
    c: Container = city[0]
    ap = Autopilot(c, calls_per_hour=0.5, seed=7)
    counts = []
    for _ in range(20):  # one simulated minute, 3 s ticks
        ap.step()
        with c.engine.connect() as conn:
            counts.append(int(conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()))
        c.clock.advance(seconds=3)
    # steps at 0, 3, 6, ... 57 s; calls at 0, 10, 20, 30, 40, 50 s
    assert counts == [min(6, 1 + (3 * i) // 10) for i in range(20)]
