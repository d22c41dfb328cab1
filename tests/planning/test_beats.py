"""Patrol beats on Shenzhen Nanshan's walkable network: every node in one beat, beats connected,
workload balanced, incidents pulling beats smaller where they cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from scipy.sparse.csgraph import connected_components
from typer.testing import CliRunner

from jingwu.planning.beats import _adjacency, plan_beats
from jingwu.planning.cli import beats_cmd
from jingwu.platform.errors import InvalidInput
from jingwu.platform.settings import get_settings
from jingwu.routing.graph import RoadGraph
from planning.test_hotspots import _incidents
from support import GRAPH_DIR, TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"
app = typer.Typer()
app.command("beats")(beats_cmd)
app.command("other")(lambda: None)
runner = CliRunner()


@pytest.fixture(scope="module")
def foot() -> RoadGraph:
    return RoadGraph.load_or_build(data_file(NANSHAN), GRAPH_DIR, mode="foot")


def test_beats_cover_the_network_and_are_balanced(foot: RoadGraph) -> None:
    plan = plan_beats(foot, 10)
    adj, _ = _adjacency(foot)
    _, comp = connected_components(adj, directed=False)
    largest = int(np.bincount(comp).max())
    assert sum(b["nodes"] for b in plan["beats"]) + plan["unassigned_nodes"] == foot.n_nodes
    assert sum(b["nodes"] for b in plan["beats"]) >= largest
    shares = [b["workload_share"] for b in plan["beats"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert max(shares) / np.mean(shares) <= 1.6 and min(shares) > 0.3 * np.mean(shares)
    assert all(b["geometry"] is not None and b["max_travel_s"] > 0 for b in plan["beats"])
    assert plan == plan_beats(foot, 10)  # seeded: the same answer twice


def test_beats_are_connected(foot: RoadGraph) -> None:
    from jingwu.planning import beats as mod

    adj, length = _adjacency(foot)
    load = length / length.sum()
    label, _, _ = mod._grow(adj, [0, 500, 1000, 1500], load)
    for b in range(4):
        mine = np.flatnonzero(label == b)
        sub = adj[mine][:, mine]
        assert connected_components(sub, directed=False)[0] == 1


def test_incidents_shrink_beats_where_they_cluster(foot: RoadGraph, tmp_path: Path) -> None:
    rows = ["time,lon,lat"] + [f"{i.at.isoformat()},{i.lon + 0.03},{i.lat + 0.02}" for i in _incidents()]
    plan = plan_beats(foot, 8, "\n".join(rows), share_incidents=0.8)
    assert plan["incidents"] > 0
    busiest = max(plan["beats"], key=lambda b: b["incidents"])
    assert busiest["street_km"] < np.mean([b["street_km"] for b in plan["beats"]])


def test_refusals(foot: RoadGraph) -> None:
    for kw, code in [({"beats": 0}, "invalid_beats"), ({"beats": 5, "share_incidents": 2.0}, "invalid_share"),
                     ({"beats": 10 ** 5}, "invalid_beats")]:
        with pytest.raises(InvalidInput) as exc:
            plan_beats(foot, **kw)  # type: ignore[arg-type]
        assert exc.value.code == code


@pytest.fixture
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("JINGWU_OSM_FILE", str(data_file(NANSHAN)))
    monkeypatch.setenv("JINGWU_GRAPH_DIR", str(GRAPH_DIR))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli(_settings: None, tmp_path: Path) -> None:
    out = tmp_path / "beats.geojson"
    res = runner.invoke(app, ["beats", "--beats", "6", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["beats"]) == 6
    assert len(json.loads(out.read_text())["features"]) == 6
    res = runner.invoke(app, ["beats", "--beats", "6", "--mode", "boat"])
    assert res.exit_code == 2 and "error [invalid_mode]" in res.stderr
