"""Incident import: mapping validation, rejected rows with reasons, nothing
half-stored, CSV / GeoJSON / Parquet, polygon assignment, and the ``jingwu index``
commands (import with a report, compute with a progress bar, bad dates)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from jingwu.cli import app as cli_app
from jingwu.platform.container import Container
from jingwu.platform.errors import InvalidInput
from jingwu.safety_index import importer
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org

GOOD = {"source": "t", "id": "id", "time": "when", "timezone": "Asia/Shanghai", "lon": "x", "lat": "y",
        "type": "kind", "type_map": {"theft": "010600", "crash": "030200"}, "type_rules": [["^fire", "040100"]],
        "deaths": "dead", "injuries": "hurt"}

ROWS = [
    # id, when, x, y, kind, dead, hurt
    ("1", "2026-03-01 10:00", "104.005", "30.605", "theft", "0", "0"),
    ("2", "2026-03-01 11:00", "104.015", "30.605", "crash", "1", "2"),
    ("3", "not a time", "104.005", "30.605", "theft", "0", "0"),
    ("4", "2026-03-01 12:00", "120.0", "30.605", "theft", "0", "0"),
    ("5", "2026-03-01 12:00", "104.005", "30.605", "alien landing", "0", "0"),
    ("6", "2026-03-01 12:00", "104.005", "30.605", "fire in a shop", "-1", "0"),
    ("1", "2026-03-01 13:00", "104.005", "30.605", "theft", "0", "0"),
    ("8", "2026-03-01 13:00", "", "30.605", "theft", "0", "0"),
    ("9", "2026-03-02 09:30", "104.006", "30.606", "Fire in a flat", "0", "1"),
]


@pytest.fixture
def towns(container: Container, org: Org) -> dict[str, str]:
    return add_towns(container, org, [("A", "甲镇", square(104.0, 30.6, 0.01), 20_000, "a"),
                                      ("B", "乙镇", square(104.01, 30.6, 0.01), 10_000, "b")])


def write_csv(path: Path) -> Path:
    pd.DataFrame(ROWS, columns=["id", "when", "x", "y", "kind", "dead", "hurt"]).to_csv(path, index=False)
    return path


def stored(c: Container) -> int:
    with c.uow() as uow:
        return repo(uow).count_incidents()


def test_rejected_rows_are_reported_with_reasons(container: Container, towns: dict[str, str],
                                                 tmp_path: Path) -> None:
    rep = importer.import_file(write_csv(tmp_path / "in.csv"), importer.parse_mapping(GOOD),
                               uow_factory=container.uow, tz=_tz(container))
    reasons = {r.row: r.reason for r in rep.rejected}
    assert rep.rows == 9 and rep.stored == 3
    assert reasons == {3: "unparseable time (when)", 4: "position outside every town",
                       5: "type not mapped (kind)", 6: "casualty count not a non-negative integer (dead)",
                       7: "duplicate id in the file", 8: "missing or invalid position"}
    with container.uow() as uow:
        r = repo(uow)
        one, two, nine = r.incident("t:1"), r.incident("t:2"), r.incident("t:9")
    assert one and one["town_id"] == towns["A"] and one["type_code"] == "010600" and one["category"] == "crime"
    assert two and two["town_id"] == towns["B"] and two["deaths"] == 1 and two["injuries"] == 2
    assert nine and nine["type_code"] == "040100" and nine["category"] == "fire"
    assert one["occurred_at"].hour == 2  # 10:00 in Shanghai is 02:00 UTC
    # importing the same file again changes nothing (idempotent by id)
    again = importer.import_file(tmp_path / "in.csv", importer.parse_mapping(GOOD), uow_factory=container.uow,
                                 tz=_tz(container))
    assert again.stored == 3 and again.days == [] and stored(container) == 3


def check_strict_import_stores_nothing(container: Container, towns: dict[str, str], tmp_path: Path) -> None:
    rep = importer.import_file(write_csv(tmp_path / "in.csv"), importer.parse_mapping(GOOD),
                               uow_factory=container.uow, tz=_tz(container), strict=True)
    assert not rep.committed and rep.stored == 0 and len(rep.rejected) == 6
    assert stored(container) == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"id": None}, "'id' is required"),
    ({"colour": "red"}, "unknown keys"),
    ({"lon": None, "town": None}, "lon"),
    ({"timezone": "Mars/Olympus"}, "unknown timezone"),
    ({"type_rules": [["(", "010600"]]}, "bad regex"),
    ({"type_map": {"theft": "12"}}, "6 digits"),
    ({"type_rules": ["theft"]}, "[regex, code]"),
])
def test_bad_mapping_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("(", r"\(")):
        importer.parse_mapping({k: v for k, v in {**GOOD, **change}.items() if v is not None})


def check_missing_columns_and_bad_files_store_nothing(container: Container, towns: dict[str, str],
                                                     tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="columns missing"):
        importer.import_file(write_csv(tmp_path / "in.csv"), importer.parse_mapping({**GOOD, "time": "time"}),
                             uow_factory=container.uow, tz=_tz(container))
    (tmp_path / "m.yaml").write_text("source: [unclosed", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        importer.load_mapping(tmp_path / "m.yaml")
    (tmp_path / "x.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput, match="unsupported file type"):
        importer.read_table(tmp_path / "x.xlsx")
    assert stored(container) == 0


def check_geojson_and_parquet(container: Container, towns: dict[str, str], tmp_path: Path) -> None:
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.015, 30.605]},
              "properties": {"id": f"g{i}", "when": "2026-03-01T08:00:00+08:00", "kind": "theft"}}
             for i in range(3)]
    (tmp_path / "in.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    m = importer.parse_mapping({"source": "g", "id": "id", "time": "when", "lon": "_geometry", "lat": "_geometry",
                                "type": "kind", "type_map": {"theft": "010600"}})
    rep = importer.import_file(tmp_path / "in.geojson", m, uow_factory=container.uow, tz=_tz(container))
    assert rep.stored == 3 and rep.rejected == []
    df = pd.DataFrame({"code": ["A", "B", "Z"], "t": ["2026-03-01T01:00:00Z"] * 3, "n": ["a", "b", "c"]})
    df.to_parquet(tmp_path / "in.parquet")
    m2 = importer.parse_mapping({"source": "p", "id": "n", "time": "t", "town": "code",
                                 "default_type_code": "020300"})
    rep2 = importer.import_file(tmp_path / "in.parquet", m2, uow_factory=container.uow, tz=_tz(container))
    assert rep2.stored == 2 and [r.reason for r in rep2.rejected] == ["unknown town code (code)"]
    assert stored(container) == 5


def test_cli_import_report_and_compute(container: Container, towns: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from jingwu.platform.settings import get_settings

    monkeypatch.setenv("JINGWU_DATA_DIR", str(container.settings.data_dir))
    get_settings.cache_clear()
    try:
        (tmp_path / "map.json").write_text(json.dumps(GOOD))
        runner = CliRunner()
        res = runner.invoke(cli_app, ["index", "import", str(write_csv(tmp_path / "in.csv")), "--mapping",
                                      str(tmp_path / "map.json"), "--report", str(tmp_path / "rej.csv")])
        assert res.exit_code == 0, res.output
        assert "9 rows, 3 stored, 6 rejected" in res.output
        assert len((tmp_path / "rej.csv").read_text().splitlines()) == 7
        res = runner.invoke(cli_app, ["index", "import", str(tmp_path / "in.csv"), "--mapping",
                                      str(tmp_path / "map.json"), "--strict"])
        assert res.exit_code == 1 and "nothing stored" in res.output
        res = runner.invoke(cli_app, ["index", "compute", "--from", "2026-02-30"])
        assert res.exit_code == 2 and "YYYY-MM-DD" in res.output
        # days after the data's horizon (its last incident) are not scored: no data, said so
        res = runner.invoke(cli_app, ["index", "compute", "--from", "2026-06-01", "--to", "2026-06-10"])
        assert res.exit_code == 0, res.output
        assert "computed 0 days" in res.output and "not scored" in res.output
        assert runner.invoke(cli_app, ["index", "--help"]).exit_code == 0
        res = runner.invoke(cli_app, ["index", "generate", "--days", "100", "--per-day", "20"])
        assert res.exit_code == 0, res.output
        assert "synthetic incidents over 100 days for 2 towns" in res.output
    finally:
        get_settings.cache_clear()


def test_strict_bad_files_and_other_formats(container: Container, towns: dict[str, str], tmp_path: Path) -> None:
    check_strict_import_stores_nothing(container, towns, tmp_path)
    check_missing_columns_and_bad_files_store_nothing(container, towns, tmp_path)
    check_geojson_and_parquet(container, towns, tmp_path)
