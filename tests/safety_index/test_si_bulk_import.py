"""Large imports are stored in SQL without a Python object per fact (``store.bulk_upsert_incidents``);
the result must equal the per-fact path: the same facts, days, town coverage and import range, idempotent
on a repeat, and a changed fact reports its old and new day."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

from jingwu.platform.container import Container
from jingwu.safety_index import importer, jobs
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org

MAPPING = {"source": "bulk", "id": "id", "time": "when", "timezone": "Asia/Shanghai", "lon": "x", "lat": "y",
           "type": "kind", "type_map": {"theft": "010600", "crash": "030200"}, "category": "cat",
           "deaths": "dead", "injuries": "hurt"}
ROWS = [  # id, when (Shanghai), x, y, kind, category, dead, hurt
    ("1", "2026-03-01 10:00", "104.005", "30.605", "theft", "", "0", "0"),
    ("2", "2026-03-01 23:59:59", "104.015", "30.605", "crash", "", "1", "2"),
    ("3", "2026-03-02 00:00", "104.005", "30.605", "theft", "fraud", "0", "0"),
    ("4", "2026-03-05 08:00", "120.0", "30.605", "theft", "", "0", "0"),  # outside every town
    ("5", "2026-03-06 08:00", "104.005", "30.605", "theft", "aliens", "0", "0"),  # bad category
    ("6", "2026-03-07 08:00", "104.015", "30.605", "crash", "", "x", "0"),  # bad casualty count
    ("7", "2026-04-09 12:00", "104.015", "30.605", "crash", "traffic", "0", "0"),
]


@pytest.fixture
def towns(container: Container, org: Org) -> dict[str, str]:
    return add_towns(container, org, [("A", "甲镇", square(104.0, 30.6, 0.01), 20_000, "a"),
                                      ("B", "乙镇", square(104.01, 30.6, 0.01), 10_000, "b")])


def write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    pd.DataFrame(rows, columns=["id", "when", "x", "y", "kind", "cat", "dead", "hurt"]).to_csv(path, index=False)
    return path


def stored(c: Container) -> tuple[list[dict[str, Any]], dict[str, date], list[tuple[Any, ...]]]:
    with c.uow() as uow:
        r = repo(uow)
        facts = [{k: v for k, v in f.items() if k != "received_at"}
                 for f in sorted(r.existing([f"bulk:{i}" for i in range(1, 9)]).values(),
                                 key=lambda x: x["incident_id"])]
        log = [(x["kind"], x["source"], x["first_day"], x["last_day"], x["rows"]) for x in r.coverage_log()]
        return facts, r.town_first_days(), log


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_bulk_path_equals_per_fact_path(container: Container, towns: dict[str, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    c, tz, m = container, jobs._tz(container), importer.parse_mapping(MAPPING)
    path = write(tmp_path / "in.csv", ROWS)
    per_fact = importer.import_file(path, m, uow_factory=c.uow, tz=tz)
    assert per_fact.stored == 4 and [r.row for r in per_fact.rejected] == [4, 5, 6]
    assert "aliens" in per_fact.rejected[1].reason and "casualty" in per_fact.rejected[2].reason
    expected = stored(c)
    with c.uow() as uow:  # an empty store again, for the bulk path
        for t in ("si_incidents", "si_town_coverage", "si_coverage"):
            uow.session.execute(text(f"DELETE FROM {t}"))
        uow.commit()
    monkeypatch.setattr(importer, "BULK_ROWS", 0)
    bulk = importer.import_file(path, m, uow_factory=c.uow, tz=tz)
    assert (bulk.stored, bulk.days, bulk.first_day, bulk.last_day) == (
        per_fact.stored, per_fact.days, per_fact.first_day, per_fact.last_day)
    assert bulk.days == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 4, 9)]
    assert stored(c) == expected
    facts = expected[0]
    assert [f["category"] for f in facts] == ["crime", "traffic", "fraud", "traffic"]
    assert facts[1]["deaths"] == 1 and facts[1]["injuries"] == 2 and facts[1]["day"] == date(2026, 3, 1)
    # a repeat through the temporary-table path changes nothing; a moved fact reports old and new day
    assert importer.import_file(path, m, uow_factory=c.uow, tz=tz).days == []
    moved = [*ROWS[:6], ("7", "2026-04-20 12:00", "104.015", "30.605", "crash", "traffic", "0", "0")]
    rep = importer.import_file(write(tmp_path / "moved.csv", moved), m, uow_factory=c.uow, tz=tz)
    assert rep.days == [date(2026, 4, 9), date(2026, 4, 20)]
    with c.uow() as uow:
        assert repo(uow).incident("bulk:7")["day"] == date(2026, 4, 20)  # type: ignore[index]
        assert repo(uow).count_incidents() == 4
