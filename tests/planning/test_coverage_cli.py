"""``jingwu plan coverage``: road-graph costs on a city the code was not written for (Shenzhen Nanshan),
a cost table, backup coverage, and every bad input refused with exit 2 before any work."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from jingwu.planning.cli import coverage_cmd
from jingwu.planning.services.coverage import CoverageRequest, plan_coverage
from jingwu.platform.errors import InvalidInput
from jingwu.platform.settings import get_settings
from jingwu.routing.domain import Metric
from jingwu.routing.graph import RoadGraph
from support import GRAPH_DIR, TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"
app = typer.Typer()
app.command("coverage")(coverage_cmd)
app.command("other")(lambda: None)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("JINGWU_OSM_FILE", str(data_file(NANSHAN)))
    monkeypatch.setenv("JINGWU_GRAPH_DIR", str(GRAPH_DIR))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def nanshan() -> RoadGraph:
    return RoadGraph.load_or_build(data_file(NANSHAN), GRAPH_DIR)


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tables(nanshan: RoadGraph, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list, list]:
    rng = np.random.default_rng(11)
    nodes = rng.choice(nanshan.n_nodes, size=40, replace=False)
    lon, lat = nanshan.node_lon[nodes], nanshan.node_lat[nodes]
    d = tmp_path_factory.mktemp("cov")
    demand = [(f"d{i}", int(rng.integers(1, 9)), float(lon[i]), float(lat[i])) for i in range(30)]
    sites = [(f"s{i}", float(lon[30 + i]), float(lat[30 + i])) for i in range(10)]
    dp = _write(d / "demand.csv", "id,weight,lon,lat", [f"{a},{b},{c},{e}" for a, b, c, e in demand])
    sp = _write(d / "sites.csv", "id,lon,lat", [f"{a},{b},{c}" for a, b, c in sites])
    return dp, sp, demand, sites


def test_road_graph_costs_give_the_brute_force_optimum(nanshan: RoadGraph, tables: tuple) -> None:
    dp, sp, demand, sites = tables
    res = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--k", "3", "--within", "240",
                              "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    # independent costs: one one-to-many search per site (not the matrix routine the command uses)
    d_snaps = [nanshan.snap(x, y) for _, _, x, y in demand]
    costs = np.array([nanshan.one_to_many(nanshan.snap(x, y), d_snaps, Metric.TIME) for _, x, y in sites])
    w = np.array([wt for _, wt, _, _ in demand], dtype=float)
    cover = costs <= 240

    def value(combo: tuple[int, ...]) -> float:
        return float(w[cover[list(combo)].any(axis=0)].sum())

    best = max(value(c) for c in itertools.combinations(range(10), 3))
    assert body["proven_optimal"] is True and body["gap"] == 0
    assert body["covered_weight"] == pytest.approx(best)
    assert body["covered_share"] == pytest.approx(best / w.sum(), abs=1e-6)
    assert body["method"] == "exact" and body["unit"] == "seconds" and len(body["chosen"]) == 3
    chosen = [int(s["id"][1:]) for s in body["chosen"]]
    assert value(tuple(chosen)) == pytest.approx(best)
    assert {"lon", "lat", "covers_weight"} <= set(body["chosen"][0])

    fast = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--k", "3", "--within", "240",
                               "--method", "fast", "--json"])
    fb = json.loads(fast.stdout)
    assert fb["method"] == "fast" and fb["covered_weight"] <= best + 1e-9 and fb["bound"] >= best - 1e-6

    text = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--k", "3", "--within", "240",
                               "--backup"])
    assert text.exit_code == 0 and "covered twice" in text.stdout


def test_cost_table(tmp_path: Path) -> None:
    dp = _write(tmp_path / "d.csv", "id,weight", ["a,5", "b,3", "c,2"])
    sp = _write(tmp_path / "s.csv", "id", ["x", "y", "z"])
    cp = _write(tmp_path / "c.csv", "site,demand,cost", ["x,a,100", "y,b,50", "y,c,90", "z,a,10", "z,c,500"])
    res = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--costs", str(cp), "--k", "2",
                              "--within", "100", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["covered_weight"] == 10 and body["covered_share"] == 1.0 and body["unit"] == "cost table"
    assert "y" in [s["id"] for s in body["chosen"]]
    one = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--costs", str(cp), "--k", "1",
                              "--within", "100", "--backup", "--json"])
    assert json.loads(one.stdout)["backup_weight"] == 0


BAD = [
    ("id,weight,lon,lat\na,1,104,30\n", "id,lon,lat\nx,104,30\n", None, ["--k", "2"], "invalid_k"),
    ("id,weight,lon,lat\na,1,104,30\n", "id,lon,lat\nx,104,30\n", None, ["--k", "0"], "invalid_k"),
    ("id,weight,lon,lat\na,1,104,30\n", "id,lon,lat\nx,104,30\n", None, ["--within", "0"], "invalid_within"),
    ("id,weight,lon,lat\na,,104,30\n", "id,lon,lat\nx,104,30\n", None, [], "missing_weight"),
    ("id,weight,lon,lat\na,-1,104,30\n", "id,lon,lat\nx,104,30\n", None, [], "negative_weight"),
    ("id,lon,lat\na,104,30\n", "id,lon,lat\nx,104,30\n", None, [], "missing_column"),
    ("id,weight,lon,lat\na,1,104,30\na,2,104,30\n", "id,lon,lat\nx,104,30\n", None, [], "duplicate_id"),
    ("id,weight,lon,lat\na,1,104,30\n", "id,lon,lat\nx,104,30\nx,104,30\n", None, [], "duplicate_id"),
    ("id,weight,lon,lat\na,1,,\n", "id,lon,lat\nx,104,30\n", None, [], "missing_coordinates"),
    ("id,weight\na,1\n", "id,lon,lat\nx,104,30\n", None, [], "missing_column"),
    ("id,weight\na,1\n", "id\nx\n", "site,demand,cost\nq,a,1\n", [], "unknown_site"),
    ("id,weight\na,1\n", "id\nx\n", "site,demand,cost\nx,b,1\n", [], "unknown_demand"),
    ("id,weight\na,1\n", "id\nx\n", "site,demand,cost\nx,a,1\nx,a,2\n", [], "duplicate_pair"),
    ("id,weight\na,1\n", "id\nx\n", "site,demand,cost\nx,a,-3\n", [], "negative_cost"),
    ("id,weight,lon,lat\na,x,104,30\n", "id,lon,lat\nx,104,30\n", None, [], "invalid_number"),
    ("id,weight,lon,lat\na,1,104,30\n", "id,lon,lat\nx,104,30\n", None, ["--method", "best"], "invalid_method"),
]


@pytest.mark.parametrize(("demand", "sites", "costs", "extra", "code"), BAD)
def test_bad_input_exits_2_before_any_work(tmp_path: Path, demand: str, sites: str, costs: str | None,
                                           extra: list[str], code: str) -> None:
    def no_graph() -> RoadGraph:
        raise AssertionError("the road graph was asked for")

    args = {"k": 1, "within": 300.0, "method": "exact"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag[2:]] = value if flag == "--method" else (int(value) if flag == "--k" else float(value))
    with pytest.raises(InvalidInput) as exc:
        plan_coverage(CoverageRequest(demand_csv=demand, sites_csv=sites, costs_csv=costs, k=int(args["k"]),
                                      within=float(args["within"]), method=str(args["method"])), graph=no_graph)
    assert exc.value.code == code
    dp, sp = tmp_path / "d.csv", tmp_path / "s.csv"
    dp.write_text(demand)
    sp.write_text(sites)
    argv = ["coverage", "--demand", str(dp), "--sites", str(sp), "--k", "1", "--within", "300", *extra]
    if costs is not None:
        (tmp_path / "c.csv").write_text(costs)
        argv += ["--costs", str(tmp_path / "c.csv")]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2
    assert f"error [{code}]" in res.stderr


def test_points_off_the_network_are_refused(tmp_path: Path, nanshan: RoadGraph) -> None:
    dp = _write(tmp_path / "d.csv", "id,weight,lon,lat", ["a,1,113.94,22.54", "far,1,113.50,22.00"])
    sp = _write(tmp_path / "s.csv", "id,lon,lat", ["x,113.94,22.54"])
    res = runner.invoke(app, ["coverage", "--demand", str(dp), "--sites", str(sp), "--k", "1", "--within", "300"])
    assert res.exit_code == 2 and "error [off_network]" in res.stderr and "far" in res.stderr
