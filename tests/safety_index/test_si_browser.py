"""The public Safety Index page in real headless Chromium: 78 towns tiling Shenzhen's
extent (Voronoi cells of seeded points, each in one of Shenzhen's nine districts and
peopled from the 2020 census by area: tests/data), generated incidents, a served
app. No login; map coloured by band, ranking, past dates, trend chart, English
switch; no personal data, no incident detail and no count below 3 on the page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from shapely import MultiPoint, box, voronoi_polygons
from shapely.geometry import mapping

from jingwu.demo import synthetic
from jingwu.platform import services as platform_services
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from jingwu.safety_index.domain import Category
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import IncidentFact, record_incidents
from support import SECRET, TEST_DATA, data_file, free_port, make_settings, start_jingwu

pytestmark = pytest.mark.browser
N_TOWNS = 78
SZ_EXTENT = (113.75, 22.45, 114.62, 22.86)  # lon/lat box of Shenzhen's land area
CENSUS = TEST_DATA / "census2020_county_5cities.csv"
FIRST = date(2026, 1, 1)
DAYS = 130
# towns whose records start late: SZ10 is scored from day 20 + 90, SZ11 and SZ12 never in the computed range
LATE_START = {10: 20, 11: 60, 12: 60}
SHOTS = Path(os.environ.get("JINGWU_SCREENSHOTS", "")) if os.environ.get("JINGWU_SCREENSHOTS") else None


def district_populations() -> dict[str, int]:
    out = {}
    for line in data_file(CENSUS).read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split(",")
        if cells[2] == "深圳市" and cells[3] != "深圳市":
            out[cells[3]] = int(cells[4])
    return out


def town_cells() -> list[Any]:
    """78 polygons tiling the extent: Voronoi cells of seeded points (fixed seed, so every run is the same)."""
    x0, y0, x1, y1 = SZ_EXTENT
    rng = np.random.default_rng(78)
    pts = MultiPoint([(float(x), float(y)) for x, y in zip(rng.uniform(x0, x1, N_TOWNS), rng.uniform(y0, y1, N_TOWNS),
                                                            strict=True)])
    frame = box(*SZ_EXTENT)
    return [cell.intersection(frame) for cell in voronoi_polygons(pts, extend_to=frame, ordered=True).geoms]


def _km2(geom: Any) -> float:
    lat0 = geom.centroid.y
    return float(geom.area * 111.320 * np.cos(np.radians(lat0)) * 110.574)


def prepare(data_dir: Path) -> None:
    s = make_settings(data_dir.parent, "sqlite").copy_with(data_dir=data_dir)
    c = build_container(s)
    upgrade(c.engine)
    city = platform_services.create_agency(platform_services.CreateAgency("SZ", "深圳市公安局", "city_bureau"),
                                           uow=c.uow(), actor=None)
    assert city
    pops = district_populations()
    districts = sorted(pops)
    cells = town_cells()
    km2 = [_km2(g) for g in cells]
    owner = [districts[i % len(districts)] for i in range(N_TOWNS)]
    area = {d: sum(a for a, o in zip(km2, owner, strict=True) if o == d) for d in districts}
    ids, pop = [], []
    with c.uow() as uow:
        for i, (g, a, d) in enumerate(zip(cells, km2, owner, strict=True)):
            people = int(pops[d] * a / area[d])
            ids.append(uow.towns.add(code=f"SZ{i:02d}", name=f"{d}{i // len(districts) + 1}号片区",
                                     name_en=f"Area {i + 1:02d}", agency_id=city, population=people,
                                     population_note="census 2020 by district, shared by area",
                                     area_km2=round(a, 3), geometry=mapping(g), at=c.clock.now()))
            pop.append(people)
        uow.commit()
    g = synthetic.generate(np.array(pop, dtype=float), DAYS, 160 * DAYS, seed=5,
                           surges=[(3, DAYS - 6, 6, 4.0), (40, DAYS - 20, 20, 2.0)])
    facts = [IncidentFact(f"gen:{k}", datetime(2026, 1, 1, 4, tzinfo=UTC) + timedelta(days=int(dd)),
                                   ids[int(t)], str(code), Category(str(cat)), int(de), int(inj), "gen")
             for k, (t, dd, code, cat, de, inj) in enumerate(zip(g.town, g.day, g.type_code, g.category, g.deaths,
                                                                  g.injuries, strict=True))
             if int(dd) >= LATE_START.get(int(t), 0)]
    record_incidents(facts, uow=c.uow(), tz=_tz(c))
    compute(None, FIRST + timedelta(days=DAYS - 1), uow_factory=c.uow, clock=c.clock, tz=_tz(c))
    c.engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("si") / "var"
    data.mkdir()
    prepare(data)
    port = free_port()
    env = {**os.environ, "JINGWU_DATA_DIR": str(data), "JINGWU_PORT": str(port), "JINGWU_LOG_JSON": "0",
           "JINGWU_SECRET_KEY": SECRET}
    proc = start_jingwu(["serve"], env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_public_page_map_ranking_dates_chart_and_no_small_counts(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shots = SHOTS or tmp_path
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    foreign: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(server) else foreign.append(req.url))
    page.goto(f"{server}/safety-index")
    assert "/login" not in page.url  # public: no login
    page.wait_for_selector("#si-map[data-status=ready]", timeout=30_000)
    assert page.locator("h1").inner_text() == "平安指数"
    last = (FIRST + timedelta(days=DAYS - 1)).isoformat()
    assert page.get_attribute("#si-map", "data-date") == last
    assert page.get_attribute("#si-map", "data-towns") == "78"
    assert page.locator("#si-map path.leaflet-interactive").count() >= 78
    rows = page.locator("#si-rank tbody tr")
    assert rows.count() == 78
    assert rows.nth(0).locator("td").nth(0).inner_text() == "1"
    counts = [r.locator("td").nth(3).inner_text() for r in rows.all()]
    assert "<3" in counts  # small counts exist in the data and are withheld
    assert all(c in ("<3", "—") or int(c) >= 3 for c in counts)
    # towns without 91 days of their own history: no data (grey, no rank), counted out of the ranking
    states = {r.get_attribute("data-code"): r.get_attribute("data-state") for r in rows.all()}
    assert [k for k, v in states.items() if v == "no_data"] == ["SZ11", "SZ12"]
    assert page.get_attribute("#si-map", "data-ranked") == "76"
    assert "76" in page.locator("#si-ranked").inner_text() and "无数据" in page.locator("#si-rank").inner_text()
    assert rows.nth(77).locator("td").nth(0).inner_text() == "—"
    assert page.locator("#si-legend-no-data").inner_text() == "无数据"
    bands = {r.get_attribute("data-band") for r in rows.all()}
    assert "red" in bands or "orange" in bands  # the surging towns
    page.wait_for_selector("#si-chart svg", timeout=30_000)
    assert int(page.get_attribute("#si-chart svg", "data-points") or 0) >= 30
    html = page.content()
    assert "gen:" not in html and "incident_id" not in html and not re.search(r"deaths|injur", html)
    page.screenshot(path=str(shots / "safety_index_zh.png"))
    # a past date
    past = (FIRST + timedelta(days=100)).isoformat()
    page.fill("#si-date", past)
    page.dispatch_event("#si-date", "change")
    page.wait_for_function(f"() => document.getElementById('si-map').dataset.date === '{past}' && "
                           "document.getElementById('si-map').dataset.status === 'ready'", timeout=30_000)
    assert page.locator("#si-rank tbody tr").count() == 78
    # SZ10 still in its own warm-up (and towns whose first record came a few days after the first day)
    assert page.get_attribute("#si-rank tbody tr[data-code=SZ10]", "data-state") == "no_data"
    assert int(page.get_attribute("#si-map", "data-ranked") or 0) <= 75
    # after the data's last day: every town "no data", none ranked, none shown as 100
    after = (FIRST + timedelta(days=DAYS + 3)).isoformat()
    page.fill("#si-date", after)
    page.dispatch_event("#si-date", "change")
    page.wait_for_function(f"() => document.getElementById('si-map').dataset.date === '{after}' && "
                           "document.getElementById('si-map').dataset.status === 'ready'", timeout=30_000)
    assert page.get_attribute("#si-map", "data-ranked") == "0"
    assert {r.get_attribute("data-state") for r in page.locator("#si-rank tbody tr").all()} == {"no_data"}
    assert "100" not in page.locator("#si-rank tbody").inner_text()
    page.screenshot(path=str(shots / "safety_index_no_data_zh.png"))
    page.fill("#si-date", past)
    page.dispatch_event("#si-date", "change")
    page.wait_for_function(f"() => document.getElementById('si-map').dataset.date === '{past}' && "
                           "document.getElementById('si-map').dataset.status === 'ready'", timeout=30_000)
    # click a town in the ranking: its trend chart
    row = page.locator("#si-rank tbody tr").nth(5)
    name = row.locator("td").nth(1).inner_text().strip()
    row.click()
    page.wait_for_function(f"() => document.getElementById('si-chart-title').textContent.includes('{name}')",
                           timeout=30_000)
    # English
    page.click("#lang-switch")
    page.wait_for_selector("#si-map[data-status=ready]", timeout=30_000)
    assert page.locator("h1").inner_text() == "Safety Index"
    assert "Rank" in page.locator("#si-rank thead").inner_text()
    page.screenshot(path=str(shots / "safety_index_en.png"))
    assert foreign == []
    # the public API the page uses is aggregate-only too
    r = httpx.get(f"{server}/api/v1/public/safety-index?date={last}").json()
    assert all(t["incidents_7d"] is None or t["incidents_7d"] >= 3 for t in r["towns"])
    assert all(set(t) >= {"score", "band", "rank"} and "town_id" not in t for t in r["towns"])
    page.close()
