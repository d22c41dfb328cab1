"""The planner page in headless Chromium on the demo city: coverage from uploaded tables, hot spots and
event rings drawn on the map (roads from the served OSM data), English switch; screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from planning.test_hotspots import _incidents
from support import browser_login
from support import demo_server as run_demo

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("JINGWU_SCREENSHOTS", "")) if os.environ.get("JINGWU_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with run_demo(tmp_path_factory.mktemp("demo"), "--no-stream") as server:
        yield server


def _tables(tmp: Path) -> tuple[Path, Path, Path]:
    import numpy as np

    from jingwu.routing.graph import RoadGraph
    from support import GRAPH_DIR, PACKAGED_DATA

    g = RoadGraph.load_or_build(PACKAGED_DATA / "chengdu" / "chengdu_central_osm_2018.osm", GRAPH_DIR)
    rng = np.random.default_rng(3)
    nodes = rng.choice(g.n_nodes, size=120, replace=False)  # points on the demo's roads
    lon, lat = g.node_lon[nodes], g.node_lat[nodes]
    d = tmp / "demand.csv"
    d.write_text("id,weight,lon,lat\n" + "".join(f"d{i},{rng.integers(1, 9)},{lon[i]:.6f},{lat[i]:.6f}\n"
                                                   for i in range(100)), encoding="utf-8")
    s = tmp / "sites.csv"
    s.write_text("id,lon,lat\n" + "".join(f"s{i},{lon[100 + i]:.6f},{lat[100 + i]:.6f}\n" for i in range(20)),
                 encoding="utf-8")
    inc = tmp / "incidents.csv"
    # the hot-spot grid needs no road network: reuse the Shenzhen incidents, shifted to Chengdu
    inc.write_text("time,lon,lat\n" + "".join(f"{i.at.isoformat()},{i.lon - 113.93 + 104.075:.6f},"
                                              f"{i.lat - 22.52 + 30.67:.6f}\n" for i in _incidents()),
                   encoding="utf-8")
    return d, s, inc


def test_planner_page(demo_server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, passwords = demo_server
    shots = SHOTS or tmp_path
    demand, sites, incidents = _tables(tmp_path)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = browser_login(ctx, base, "analyst", passwords["analyst"], "/planning")
    page.wait_for_function("() => document.getElementById('pl-map').dataset.status === 'ready'", timeout=60_000)
    assert page.locator("h1").inner_text() == "勤务规划"
    assert page.locator("#f-coverage").is_visible() and page.locator("#f-hotspots").is_hidden()
    page.set_input_files("#f-coverage input[name=demand]", str(demand))
    page.set_input_files("#f-coverage input[name=sites]", str(sites))
    page.fill("#f-coverage input[name=k]", "4")
    page.fill("#f-coverage input[name=within_min]", "3")
    page.click("#f-coverage button[type=submit]")
    page.wait_for_function("() => ['done', 'error'].includes(document.getElementById('pl-map').dataset.status)",
                           timeout=120_000)
    assert page.locator("#pl-error").is_hidden(), page.locator("#pl-error").inner_text()
    assert page.locator("#pl-chosen tbody tr").count() == 4
    assert "已证明最优" in page.locator("#pl-result").inner_text()
    page.screenshot(path=str(shots / "planning_coverage_zh.png"))

    page.click("#tab-hotspots")
    assert page.locator("#f-coverage").is_hidden() and page.locator("#f-hotspots").is_visible()
    page.set_input_files("#f-hotspots input[name=incidents]", str(incidents))
    page.fill("#f-hotspots input[name=days]", "fri")
    page.fill("#f-hotspots input[name=hours]", "20-22")
    page.click("#f-hotspots button[type=submit]")
    page.wait_for_function("() => document.getElementById('pl-map').dataset.status === 'done'", timeout=60_000)
    assert "热点" in page.locator("#pl-result").inner_text()
    page.screenshot(path=str(shots / "planning_hotspots_zh.png"))

    page.click("#tab-event")
    page.fill("#f-event input[name=lon]", "104.0657")
    page.fill("#f-event input[name=lat]", "30.6595")
    page.fill("#f-event input[name=crowd]", "30000")
    page.click("#f-event button[type=submit]")
    page.wait_for_function("() => document.getElementById('pl-map').dataset.status === 'done'", timeout=120_000)
    assert page.locator("#pl-rings tbody tr").count() == 4
    assert page.locator("#pl-print").get_attribute("href").startswith("/planning/event/print?")
    page.screenshot(path=str(shots / "planning_event_zh.png"))

    page.goto(f"{base}/planning?lang=en")
    page.wait_for_function("() => document.getElementById('pl-map').dataset.status === 'ready'", timeout=60_000)
    assert page.locator("h1").inner_text() == "Planning"
    page.screenshot(path=str(shots / "planning_en.png"))
    ctx.close()
