"""`jingwu simulate` and the planner API on the test deployment (the Chengdu demo network, two stations):
a run, its JSON and HTML report; bad input refused with a code before any work."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jingwu.cli import app as cli_app
from jingwu.platform.settings import get_settings
from support import GRAPH_DIR, login


@pytest.fixture
def sim(container: Any, org: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JINGWU_DATA_DIR", str(container.settings.data_dir))
    monkeypatch.setenv("JINGWU_GRAPH_DIR", str(GRAPH_DIR))
    monkeypatch.setenv("JINGWU_MQTT_ENABLED", "false")
    monkeypatch.setenv("JINGWU_SECRET_KEY", "test-secret-0123456789abcdef0123")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli_app, ["simulate", *args])
    get_settings.cache_clear()


def test_cli_run_json_and_report(sim: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = sim("--days", "2", "--calls-per-day", "150", "--units", "8", "--seed", "5", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["posts_source"] == "stations" and res["calls_source"] == "generated"
    assert {p["lon"] for p in res["posts"]} == {104.07, 104.1}  # the two stations, in turn
    assert [x["policy"] for x in res["results"]] == ["nearest", "fastest", "coverage"]
    for x in res["results"]:
        assert x["served"] + x["unreachable"] == x["calls"] == res["calls"] > 200
        assert x["response_median_s"] <= x["response_p90_s"]
        assert 0 <= x["within_target_share"] <= 1
    html = out.read_text(encoding="utf-8")
    assert 'id="sim-data"' in html and "JWSimReport" in html and "Chart" in html
    data = html.split('<script type="application/json" id="sim-data">')[1].split("</script>")[0]
    assert json.loads(data)["calls"] == res["calls"]
    assert "/static/" not in html  # standalone: opens from disk


def test_cli_replays_historical_calls(sim: Any, tmp_path: Path) -> None:
    f = tmp_path / "calls.csv"
    f.write_text("received_at,lon,lat,category\n2024-03-01T08:10:00,104.075,30.665,traffic\n"
                 "2024-03-01T09:00:00+08:00,104.09,30.67,\n2024-03-02T23:59:00,104.06,30.68,crime\n", encoding="utf-8")
    r = sim("--calls", str(f), "--units", "2", "--policy", "fastest", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["calls"] == 3 and res["params"]["days"] == 2 and res["calls_source"] == "calls.csv"
    assert res["results"][0]["served"] == 3


@pytest.mark.parametrize(("args", "code"), [
    (("--units", "0"), "no_units"),
    (("--target", "0"), "invalid_target"),
    (("--policy", "best"), "unknown_policy"),
    (("--shifts", "0-24:0"), "no_units"),
    (("--mix", "boat=1"), "invalid_mix"),
])
def test_cli_bad_input(sim: Any, args: tuple[str, ...], code: str) -> None:
    r = sim(*args)
    assert r.exit_code == 2
    assert code in r.output


def test_cli_bad_calls_file_names_the_line(sim: Any, tmp_path: Path) -> None:
    f = tmp_path / "calls.csv"
    f.write_text("received_at,lon,lat\n2024-03-01T08:10:00,104.075,30.665\nyesterday,104.09,30.67\n",
                 encoding="utf-8")
    r = sim("--calls", str(f), "--units", "2")
    assert r.exit_code == 2
    assert "line 3" in r.output and "invalid_calls" in r.output


def test_cli_simulates_the_deployments_own_roster(sim: Any, tmp_path: Path) -> None:
    r = sim("--roster", "--days", "1", "--calls-per-day", "60", "--policy", "fastest", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["posts_source"] == "roster" and res["params"]["units"] == 2  # A1 and B1 of the test org
    assert sorted((p["lon"], p["mode"]) for p in res["posts"]) == [(104.07, "car"), (104.1, "car")]


def test_cli_service_times_file(sim: Any, tmp_path: Path) -> None:
    f = tmp_path / "service.json"
    f.write_text(json.dumps({"traffic": {"median_s": 600, "sigma": 0.2}}), encoding="utf-8")
    r = sim("--days", "1", "--calls-per-day", "50", "--units", "4", "--policy", "fastest", "--service", str(f),
            "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["params"]["service"]["traffic"] == {"median_s": 600.0, "sigma": 0.2}
    assert res["params"]["service"]["crime"]["median_s"] == 3000
    f.write_text(json.dumps({"robbery": {"median_s": 600, "sigma": 0.2}}), encoding="utf-8")
    r = sim("--service", str(f))
    assert r.exit_code == 2 and "invalid_service" in r.output
    f.write_text("{not json", encoding="utf-8")
    r = sim("--service", str(f))
    assert r.exit_code == 2 and "invalid_service" in r.output


def test_cli_refuses_calls_off_the_network(sim: Any, tmp_path: Path) -> None:
    f = tmp_path / "calls.csv"
    f.write_text("received_at,lon,lat\n2024-03-01T08:10:00,104.075,30.665\n2024-03-01T09:10:00,0,0\n",
                 encoding="utf-8")
    r = sim("--calls", str(f), "--units", "2")
    assert r.exit_code == 2
    assert "calls_off_network" in r.output


def _wait(client: Any, h: dict[str, str], run_id: str) -> dict[str, Any]:
    for _ in range(1200):
        run = client.get(f"/api/v1/simulation/runs/{run_id}", headers=h).json()
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_api_run_and_report(client: Any, org: Any) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    for body, code in (({"units": 0}, "no_units"), ({"target_s": 0}, "invalid_target"),
                       ({"policy": "best"}, "unknown_policy")):
        r = client.post("/api/v1/simulation/runs", headers=h, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    r = client.post("/api/v1/simulation/runs", headers=login(client, "disp_a", org.passwords["disp_a"]), json={})
    assert r.status_code == 403
    r = client.post("/api/v1/simulation/runs", headers=h, json={"days": 1, "calls_per_day": 120, "units": 6})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    run = _wait(client, h, run_id)
    r = client.post("/api/v1/simulation/runs", headers=h, json={"days": 1, "calls_per_day": 50, "roster": True,
                                                               "policy": "fastest"})
    assert r.status_code == 202, r.text
    roster_run = _wait(client, h, r.json()["id"])
    assert roster_run["status"] == "done" and roster_run["result"]["posts_source"] == "roster"
    assert run["status"] == "done", run
    assert run["progress"] == 1.0 and len(run["result"]["results"]) == 3
    assert client.get("/api/v1/simulation/runs/nope", headers=h).status_code == 404
    page = client.get(f"/simulation/runs/{run_id}/report", headers=h)
    assert page.status_code == 200 and 'src="/static/js/simulation_report.js"' in page.text
    planner = client.get("/simulation", headers=h)
    assert planner.status_code == 200 and "sim-form" in planner.text


def test_api_one_run_at_a_time_and_page_needs_analyse(client: Any, org: Any) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    r = client.post("/api/v1/simulation/runs", headers=h, json={"days": 10, "calls_per_day": 3000, "units": 80,
                                                                 "policy": "fastest"})
    assert r.status_code == 202
    second = client.post("/api/v1/simulation/runs", headers=h, json={"days": 1})
    assert second.status_code == 409 and second.json()["error"]["code"] == "simulation_busy"
    run_id = r.json()["id"]
    _wait(client, h, run_id)
    disp = login(client, "disp_a", org.passwords["disp_a"])
    assert client.get("/simulation", headers=disp).status_code == 403
    assert client.get(f"/api/v1/simulation/runs/{run_id}", headers=disp).status_code == 403
