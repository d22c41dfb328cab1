"""Event security rings on a city the code was not written for (Shenzhen Nanshan): nested rings from
isochrones, posts on the ring edges, staffing by the documented rules, the printout, and refusals."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
import typer
from shapely.geometry import shape
from typer.testing import CliRunner

from jingwu.planning.cli import event_cmd
from jingwu.planning.printout import render
from jingwu.planning.rings import RingPolicy, event_rings
from jingwu.platform.errors import InvalidInput
from jingwu.platform.settings import get_settings
from jingwu.routing.graph import RoadGraph
from support import GRAPH_DIR, TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"
VENUE = (113.9470, 22.5480)
app = typer.Typer()
app.command("event")(event_cmd)
app.command("other")(lambda: None)
runner = CliRunner()


@pytest.fixture(scope="module")
def graphs() -> tuple[RoadGraph, RoadGraph]:
    path = data_file(NANSHAN)
    return RoadGraph.load_or_build(path, GRAPH_DIR, mode="foot"), RoadGraph.load_or_build(path, GRAPH_DIR)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("JINGWU_OSM_FILE", str(data_file(NANSHAN)))
    monkeypatch.setenv("JINGWU_GRAPH_DIR", str(GRAPH_DIR))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_rings_nest_and_posts_sit_on_their_edges(graphs: tuple[RoadGraph, RoadGraph]) -> None:
    foot, car = graphs
    plan = event_rings(foot, car, *VENUE, crowd=30_000)
    rings = {r["ring"]: r for r in plan["rings"]}
    assert list(rings) == ["core", "control", "diversion"]
    core, control, div = (shape(rings[r]["outer"]) for r in ("core", "control", "diversion"))
    venue = shapely.Point(*VENUE)
    assert core.contains(venue)
    assert control.buffer(1e-7).contains(core) and div.buffer(1e-7).contains(control)
    assert core.area < control.area < div.area
    # the ring areas (donuts) do not overlap
    a = {r: shape(rings[r]["geometry"]) for r in rings}
    assert a["core"].intersection(a["control"]).area < 1e-10 and a["control"].intersection(a["diversion"]).area < 1e-10
    for name, outer in (("core", core), ("control", control), ("diversion", div)):
        posts = rings[name]["posts"]
        assert posts, name
        for p in posts:  # inside the ring's outer edge, near it (within a road piece of the edge)
            pt = shapely.Point(p["lon"], p["lat"])
            assert outer.buffer(1e-6).contains(pt)
    pol = RingPolicy()
    need = math.ceil(30_000 * pol.core_per_1000 / 1000)
    assert rings["core"]["officers"] == max(2 * len(rings["core"]["posts"]), need)
    assert rings["control"]["officers"] == len(rings["control"]["posts"]) * pol.control_post_officers + 30
    assert rings["diversion"]["officers"] == 2 * len(rings["diversion"]["posts"])
    assert plan["officers"] == sum(r["officers"] for r in plan["rings"])
    assert rings["diversion"]["travel_mode"] == "car" and rings["core"]["travel_mode"] == "foot"


def test_a_bigger_crowd_gets_a_bigger_core(graphs: tuple[RoadGraph, RoadGraph]) -> None:
    foot, car = graphs
    small = event_rings(foot, car, *VENUE, crowd=2_000)
    big = event_rings(foot, car, *VENUE, crowd=400_000)
    assert big["rings"][0]["minutes"] > small["rings"][0]["minutes"] == 3.0
    assert big["rings"][0]["area_km2"] > small["rings"][0]["area_km2"]
    assert big["officers"] > small["officers"]


def test_printout_is_self_contained(graphs: tuple[RoadGraph, RoadGraph]) -> None:
    foot, car = graphs
    plan = event_rings(foot, car, *VENUE, crowd=10_000, name="深圳湾体育中心")
    html = render(plan, car)
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "核心区" in html and "分流区" in html and "深圳湾体育中心" in html and "<svg" in html
    assert "Diversion" in render(plan, car, "en")


def test_cli(tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    res = runner.invoke(app, ["event", "--at", f"{VENUE[0]},{VENUE[1]}", "--crowd", "20000", "--out", str(out),
                              "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert [r["ring"] for r in body["rings"]] == ["core", "control", "diversion"]
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


@pytest.mark.parametrize(("args", "code"), [
    (["--at", "113.60,22.20", "--crowd", "1000"], "off_network"),
    (["--at", f"{VENUE[0]},{VENUE[1]}", "--crowd", "0"], "invalid_crowd"),
    (["--at", f"{VENUE[0]},{VENUE[1]}", "--crowd", "1000", "--core-min", "0"], "invalid_policy"),
    (["--at", "22.548,113.947", "--crowd", "1000"], "invalid_coordinate"),
    (["--at", f"{VENUE[0]},{VENUE[1]}", "--crowd", "1000", "--lang", "fr"], "invalid_lang"),
])
def test_cli_refusals(args: list[str], code: str) -> None:
    res = runner.invoke(app, ["event", *args])
    assert res.exit_code == 2 and f"error [{code}]" in res.stderr


def test_off_network_venue_raises(graphs: tuple[RoadGraph, RoadGraph]) -> None:
    with pytest.raises(InvalidInput) as exc:
        event_rings(*graphs, 113.60, 22.20, 1000)
    assert exc.value.code == "off_network"
