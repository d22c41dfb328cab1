"""Import at daylight-saving changes keeps every record and its local date; a town without residents is
refused before anything is computed (issue #14, "Import")."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from jingwu.platform.errors import InvalidInput
from jingwu.platform.org_store import TownRow
from jingwu.platform.tabular import to_utc
from jingwu.safety_index import engine
from jingwu.safety_index.domain import SUB_INDICES, Method
from jingwu.safety_index.importer import localize_keeping_date
from jingwu.safety_index.services.common import populations

NY = ZoneInfo("America/New_York")


def test_times_at_dst_changes_keep_their_date_and_follow_the_platform_rule() -> None:
    raw = pd.Series(["2026-03-08 02:30:00",   # does not exist (clocks 02:00 -> 03:00)
                     "2026-11-01 01:30:00",   # occurs twice (clocks 02:00 -> 01:00)
                     "2026-11-01 01:59:59",   # occurs twice
                     "2026-07-04 12:00:00"])  # ordinary
    loc = localize_keeping_date(pd.to_datetime(raw), NY)
    assert loc.notna().all()
    assert [x.date().isoformat() for x in loc] == ["2026-03-08", "2026-11-01", "2026-11-01", "2026-07-04"]
    got = [x.astimezone(UTC) for x in loc]
    assert got[0] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)    # read at -05:00, the offset before the gap
    assert got[1] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)   # first occurrence, -04:00
    assert got[3] == datetime(2026, 7, 4, 16, 0, tzinfo=UTC)
    # one rule in the product: the calls importer (platform.tabular) gives the same instants
    assert to_utc(raw, time_format=None, zone=NY).utc == got


def test_a_whole_file_inside_the_repeated_hour_is_kept() -> None:
    raw = pd.Series([f"2026-11-01 01:{m:02d}:00" for m in range(60)])
    loc = localize_keeping_date(pd.to_datetime(raw), NY)
    assert loc.notna().all() and {x.date().isoformat() for x in loc} == {"2026-11-01"}
    assert loc.is_monotonic_increasing  # all first occurrences: order preserved


def _town(code: str, population: int) -> TownRow:
    return TownRow(id=code, code=code, name=code, name_en=None, agency_id="a", agency_path="a",
                   population=population, population_note=None, area_km2=1.0, geometry=None)


def test_population_zero_is_refused_not_taken_as_one() -> None:
    assert populations([_town("A", 10), _town("B", 3)]).tolist() == [10.0, 3.0]
    with pytest.raises(InvalidInput, match="B") as e:
        populations([_town("A", 10), _town("B", 0)])
    assert e.value.code == "invalid_population"


def test_engine_refuses_a_zero_population() -> None:
    z = np.zeros((1, 1, len(SUB_INDICES)))
    zi = np.zeros((1, 1), dtype=np.int64)
    sums = engine.Sums(z, z, zi, zi, zi, zi, zi)
    with pytest.raises(ValueError, match="at least 1"):
        engine.score_sums(sums, np.array([0.0]), ["A"], 0, Method())
