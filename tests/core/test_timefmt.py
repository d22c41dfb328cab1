"""Times shown in the deployment's zone with the zone named (platform.timefmt, the ``localtime`` filter)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from jingwu.platform import timefmt
from jingwu.web.ui import templates

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def test_local_time_carries_its_offset() -> None:
    t = datetime(2026, 11, 23, 6, 5, 9, tzinfo=UTC)
    assert timefmt.local(t, SH) == "2026-11-23 14:05:09 +08:00"
    assert timefmt.local(t, SH, zone=False) == "2026-11-23 14:05:09"
    assert timefmt.local(t, SH, seconds=False) == "2026-11-23 14:05 +08:00"
    # the day changes with the zone: 20:00 UTC is the next morning in Shanghai
    assert timefmt.local(datetime(2026, 11, 23, 20, 0, tzinfo=UTC), SH).startswith("2026-11-24 04:00")


def test_naive_values_are_utc_and_strings_are_parsed() -> None:
    assert timefmt.local(datetime(2026, 1, 1, 0, 0), SH) == "2026-01-01 08:00:00 +08:00"
    assert timefmt.local("2026-01-01T00:00:00+00:00", SH) == "2026-01-01 08:00:00 +08:00"
    assert timefmt.local(None, SH) == "" and timefmt.local("", SH) == ""


def test_daylight_saving_offsets_follow_the_instant() -> None:
    summer, winter = datetime(2026, 7, 1, 12, tzinfo=UTC), datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert timefmt.local(summer, NY) == "2026-07-01 08:00:00 -04:00"
    assert timefmt.local(winter, NY) == "2026-01-15 07:00:00 -05:00"
    assert timefmt.zone_name(SH, winter) == "Asia/Shanghai (UTC+08:00)"
    assert timefmt.offset_label(summer, ZoneInfo("Asia/Kolkata")) == "+05:30"


def test_jinja_filter() -> None:
    out = templates.env.from_string("{{ t|localtime(tz) }}|{{ none|localtime(tz) }}").render(
        t=datetime(2026, 11, 23, 6, 5, 9, tzinfo=UTC), tz=SH)
    assert out == "2026-11-23 14:05:09 +08:00|"
