"""tap_time: the time an officer's tap claims (offline queue, ADR 0024) — parsing and bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jingwu.dispatch.services import tap_time
from jingwu.platform.errors import Conflict, InvalidInput

NOW = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_parse_accepts_offsets_and_z() -> None:
    assert tap_time.parse("2026-12-01T21:00:00+08:00") == NOW
    assert tap_time.parse("2026-12-01T13:00:00Z") == NOW
    assert tap_time.parse(None) is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00+08:00", "2026-12-01T21:00:00", "",
                                 "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_parse_refuses_garbage_and_naive_times(bad: str) -> None:
    with pytest.raises(InvalidInput) as e:
        tap_time.parse(bad)
    assert e.value.code == "invalid_time"


def test_no_claim_is_now_and_a_past_claim_is_kept() -> None:
    assert tap_time.effective(None, now=NOW, previous=[NOW + timedelta(hours=1)]) == NOW
    past = NOW - timedelta(minutes=7)
    assert tap_time.effective(past, now=NOW, previous=[NOW - timedelta(minutes=9), None]) == past


def test_small_skew_is_clamped_beyond_it_refused() -> None:
    assert tap_time.effective(NOW + timedelta(seconds=10), now=NOW) == NOW
    with pytest.raises(InvalidInput) as e:
        tap_time.effective(NOW + timedelta(seconds=31), now=NOW)
    assert e.value.code == "status_in_future"
    pol = tap_time.TapPolicy(skew=timedelta(minutes=2))
    assert tap_time.effective(NOW + timedelta(seconds=90), now=NOW, policy=pol) == NOW


def test_too_old_follows_the_policy() -> None:
    old = NOW - timedelta(hours=6, seconds=1)
    with pytest.raises(InvalidInput) as e:
        tap_time.effective(old, now=NOW)
    assert e.value.code == "status_too_old"
    assert tap_time.effective(old, now=NOW, policy=tap_time.TapPolicy(max_age=timedelta(hours=7))) == old


def test_before_previous_status_is_a_conflict() -> None:
    prev = [NOW - timedelta(minutes=5), NOW - timedelta(minutes=3)]
    with pytest.raises(Conflict) as e:
        tap_time.effective(NOW - timedelta(minutes=4), now=NOW, previous=prev)
    assert e.value.code == "status_before_previous"
    assert tap_time.effective(NOW - timedelta(minutes=3), now=NOW, previous=prev) == NOW - timedelta(minutes=3)


def test_naive_previous_times_are_utc() -> None:  # SQLite hands back naive UTC datetimes
    prev = [(NOW - timedelta(minutes=1)).replace(tzinfo=None)]
    with pytest.raises(Conflict):
        tap_time.effective(NOW - timedelta(minutes=2), now=NOW, previous=prev)
