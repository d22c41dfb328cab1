"""CLI verbs (route, isochrone, import osm) through a small typer app, as the main CLI will register them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jingwu.platform.settings import get_settings
from jingwu.routing.cli import import_osm, isochrone, route
from support import PACKAGED_DATA

CHENGDU = PACKAGED_DATA / "chengdu" / "chengdu_central_osm_2018.osm"

app = typer.Typer()
app.command("route")(route)
app.command("isochrone")(isochrone)
_import = typer.Typer()
_import.command("osm")(import_osm)
app.add_typer(_import, name="import")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("JINGWU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JINGWU_OSM_FILE", str(CHENGDU))
    get_settings.cache_clear()
    yield tmp_path / "var" / "graphs"
    get_settings.cache_clear()


def test_route_json(_settings: Path) -> None:
    res = runner.invoke(app, ["route", "--from", "104.0657,30.6595", "--to", "104.0800,30.6700", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert set(body) == {"seconds", "meters", "geometry", "mode"} and body["mode"] == "car"
    assert body["seconds"] > 0 and body["meters"] > 1000
    assert body["geometry"]["type"] == "LineString"
    assert len(list(_settings.iterdir())) == 1  # the graph got cached


def test_route_text_and_distance_metric() -> None:
    res = runner.invoke(
        app, ["route", "--from", "104.0657,30.6595", "--to", "104.0800,30.6700", "--metric", "distance"]
    )
    assert res.exit_code == 0, res.output
    assert "min" in res.stdout and "km" in res.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--from", "abc", "--to", "104.08,30.67"], "invalid_coordinate"),
        (["--from", "104.06,nan", "--to", "104.08,30.67"], "invalid_coordinate"),
        (["--from", "30.6595,104.0657", "--to", "104.08,30.67"], "invalid_coordinate"),
        (["--from", "0.5,0.5", "--to", "104.08,30.67"], "off_network"),
        (["--from", "104.06,30.66", "--to", "104.08,30.67", "--metric", "speed"], "invalid_metric"),
    ],
)
def test_route_errors(args: list[str], code: str) -> None:
    res = runner.invoke(app, ["route", *args])
    assert res.exit_code == 2
    assert f"error [{code}]" in res.stderr
    assert res.stdout == ""


def test_isochrone() -> None:
    res = runner.invoke(app, ["isochrone", "--at", "104.0657,30.6595", "--minutes", "3"])
    assert res.exit_code == 0, res.output
    feature = json.loads(res.stdout)
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    bad = runner.invoke(app, ["isochrone", "--at", "104.0657,30.6595", "--minutes", "-1"])
    assert bad.exit_code == 2


def test_import_osm_summary(_settings: Path) -> None:
    res = runner.invoke(app, ["import", "osm", str(CHENGDU)])
    assert res.exit_code == 0, res.output
    assert "built and cached" in res.stdout
    assert "dropped" in res.stdout and "kept" in res.stdout
    again = runner.invoke(app, ["import", "osm", str(CHENGDU)])
    assert "loaded from cache" in again.stdout


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "osm_empty"), (b"<osm garbage", "osm_corrupt"), (None, "osm_corrupt")],
)
def test_import_osm_bad_files(tmp_path: Path, _settings: Path, content: bytes | None, code: str) -> None:
    f = tmp_path / "bad.osm"
    if content is not None:
        f.write_bytes(content)
    res = runner.invoke(app, ["import", "osm", str(f)])
    assert res.exit_code == 2
    assert f"error [{code}]" in res.stderr
    assert not _settings.exists() or list(_settings.iterdir()) == []


def test_route_with_bad_osm_option(tmp_path: Path) -> None:
    f = tmp_path / "footways.osm"
    f.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="30.6" lon="104.0"/>'
        '<node id="2" lat="30.6" lon="104.001"/><way id="1"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="footway"/></way></osm>'
    )
    res = runner.invoke(app, ["route", "--from", "104.0,30.6", "--to", "104.001,30.6", "--osm", str(f)])
    assert res.exit_code == 2
    assert "error [no_drivable_roads]" in res.stderr
