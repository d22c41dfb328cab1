"""`jingwu geocode` and the gazetteer step of `jingwu import osm`, through a typer app registered as the
main CLI does; answers checked against the OSM file (tests/geocode/osm_facts.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from shapely.geometry import Point
from typer.testing import CliRunner

from geocode.osm_facts import metres, read_facts
from jingwu.platform.settings import get_settings
from jingwu.routing.cli import geocode, import_osm
from support import TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"

app = typer.Typer()
app.command("geocode")(geocode)
_import = typer.Typer()
_import.command("osm")(import_osm)
app.add_typer(_import, name="import")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("JINGWU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JINGWU_OSM_FILE", str(data_file(NANSHAN)))
    get_settings.cache_clear()
    yield tmp_path / "var" / "graphs"
    get_settings.cache_clear()


def test_geocode_before_import_is_a_clear_error(_settings: Path) -> None:
    res = runner.invoke(app, ["geocode", "深南大道"])
    assert res.exit_code == 2
    assert "error [no_gazetteer]" in res.stderr and "jingwu import osm" in res.stderr
    assert not _settings.exists() or not list(_settings.glob("*.gaz.*"))  # nothing half built


def test_import_builds_the_gazetteer_and_geocode_answers_from_it(_settings: Path) -> None:
    res = runner.invoke(app, ["import", "osm", str(NANSHAN)])
    assert res.exit_code == 0, res.output
    assert "gazetteer ready" in res.stdout
    assert len(list(_settings.glob("*.gaz.*.sqlite"))) == 1
    facts = read_facts(NANSHAN)
    res = runner.invoke(app, ["geocode", "南海大道", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    top = body["results"][0]
    assert body["query"] == "南海大道" and top["kind"] == "street"
    assert min(metres(Point(top["lon"], top["lat"]), g) for g in facts.streets["南海大道"]) < 1.0
    text = runner.invoke(app, ["geocode", "shennandadao", "--limit", "2"])
    assert text.exit_code == 0 and "深南大道" in text.stdout.splitlines()[0]
    assert len(text.stdout.splitlines()) <= 2


def test_geocode_of_another_file_with_osm(_settings: Path, tmp_path: Path) -> None:
    helsinki = data_file(TEST_DATA / "helsinki" / "Helsinki.osm.pbf")
    res = runner.invoke(app, ["geocode", "Mannerheimintie", "--osm", str(helsinki)])
    assert res.exit_code == 2 and "no_gazetteer" in res.stderr
    assert runner.invoke(app, ["import", "osm", str(helsinki)]).exit_code == 0
    res = runner.invoke(app, ["geocode", "Mannerheimintie", "--osm", str(helsinki), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["results"][0]["name"] == "Mannerheimintie"


def test_geocode_bad_input(_settings: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["geocode", "x", "--osm", str(tmp_path / "missing.osm")])
    assert res.exit_code == 2 and "error [osm_corrupt]" in res.stderr
    res = runner.invoke(app, ["geocode", "   "])
    assert res.exit_code == 2 and "error [empty_query]" in res.stderr
    runner.invoke(app, ["import", "osm", str(NANSHAN)])
    res = runner.invoke(app, ["geocode", "qqqqzzzzxxxx"])
    assert res.exit_code == 1 and "no match" in res.stdout
