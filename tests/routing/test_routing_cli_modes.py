"""``--mode`` on ``jingwu route`` and ``jingwu isochrone``, ``--modes`` on ``jingwu import osm``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from shapely.geometry import shape
from typer.testing import CliRunner

from jingwu.platform.settings import get_settings
from jingwu.routing.cache import FORMAT_VERSION
from jingwu.routing.cli import import_osm, isochrone, route
from jingwu.routing.profiles import FOOT_KMH, MODES
from support import PACKAGED_DATA

CHENGDU = PACKAGED_DATA / "chengdu" / "chengdu_central_osm_2018.osm"
A, B = "104.0657,30.6595", "104.0800,30.6700"

app = typer.Typer()
app.command("route")(route)
app.command("isochrone")(isochrone)
_import = typer.Typer()
_import.command("osm")(import_osm)
app.add_typer(_import, name="import")
runner = CliRunner()


@pytest.fixture(autouse=True)
def graphs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("JINGWU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JINGWU_OSM_FILE", str(CHENGDU))
    get_settings.cache_clear()
    yield tmp_path / "var" / "graphs"
    get_settings.cache_clear()


def _route(mode: str) -> dict[str, object]:
    res = runner.invoke(app, ["route", "--from", A, "--to", B, "--json", "--mode", mode])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_route_by_mode(graphs: Path) -> None:
    by = {m: _route(m) for m in MODES}
    assert all(by[m]["mode"] == m for m in MODES)
    foot = by["foot"]
    assert foot["seconds"] == pytest.approx(foot["meters"] / (FOOT_KMH / 3.6), rel=1e-3)  # rounded to 1 mm / 1 ms
    assert foot["seconds"] > 3 * by["car"]["seconds"]  # type: ignore[operator]
    assert by["bicycle"]["seconds"] > by["car"]["seconds"]  # type: ignore[operator]
    assert len(list(graphs.iterdir())) == 4  # one cached graph per mode


def test_isochrone_by_mode() -> None:
    areas = {}
    for mode in ("car", "foot"):
        res = runner.invoke(app, ["isochrone", "--at", A, "--minutes", "10", "--mode", mode])
        assert res.exit_code == 0, res.output
        feature = json.loads(res.stdout)
        assert feature["properties"]["mode"] == mode
        areas[mode] = shape(feature["geometry"]).area
    assert areas["foot"] < areas["car"]


def test_unknown_mode_is_an_error() -> None:
    res = runner.invoke(app, ["route", "--from", A, "--to", B, "--mode", "horse"])
    assert res.exit_code == 2
    assert "error [invalid_argument]" in res.stderr
    res = runner.invoke(app, ["import", "osm", str(CHENGDU), "--modes", "car,horse"])
    assert res.exit_code == 2 and "horse" in res.stderr


def test_import_builds_car_then_others_on_request(graphs: Path) -> None:
    res = runner.invoke(app, ["import", "osm", str(CHENGDU)])
    assert res.exit_code == 0, res.output
    assert len(list(graphs.glob("*.npz"))) == 1  # the car graph (the gazetteer file sits beside it)
    res = runner.invoke(app, ["import", "osm", str(CHENGDU), "--modes", "all"])
    assert res.exit_code == 0, res.output
    assert "road graph loaded from cache" in res.stdout
    for m in ("motorbike", "bicycle", "foot"):
        assert f"{m} graph built and cached" in res.stdout
    kinds = sorted(p.name.split(".")[1] for p in graphs.glob("*.npz"))
    assert kinds == ["bicycle", "foot", "motorbike", f"v{FORMAT_VERSION}"]
