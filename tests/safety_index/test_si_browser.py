"""The public Safety Index page in real headless Chromium: 78 Shenzhen sub-district
polygons (test data only, never shipped), generated incidents, a served app. No
login; map coloured by band, ranking, past dates, trend chart, English switch; no
personal data, no incident detail and no count below 3 on the page."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from jingwu.demo import synthetic
from jingwu.platform import services as platform_services
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from jingwu.safety_index.domain import Category
from jingwu.safety_index.jobs import _tz
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import IncidentFact, record_incidents
from support import SECRET, SHARED_DATA, TEST_DATA, data_file, free_port, make_settings, start_jingwu

pytestmark = pytest.mark.browser
SZ = SHARED_DATA / "shenzhen" / "shenzhen_subdistricts_78.geojson"  # may not be shipped: read from shared/
CENSUS = TEST_DATA / "census2020_county_5cities.csv"
FIRST = date(2026, 1, 1)
DAYS = 130
SHOTS = Path(os.environ.get("JINGWU_SCREENSHOTS", "")) if os.environ.get("JINGWU_SCREENSHOTS") else None


def district_populations() -> dict[str, int]:
    out = {}
    for line in data_file(CENSUS).read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split(",")
        if cells[2] == "深圳市" and cells[3] != "深圳市":
            out[cells[3]] = int(cells[4])
    return out


def prepare(data_dir: Path) -> None:
    s = make_settings(data_dir.parent, "sqlite").copy_with(data_dir=data_dir)
    c = build_container(s)
    upgrade(c.engine)
    city = platform_services.create_agency(platform_services.CreateAgency("SZ", "深圳市公安局", "city_bureau"),
                                           uow=c.uow(), actor=None)
    assert city
    fc = json.loads(data_file(SZ).read_text(encoding="utf-8"))
    pops = district_populations()
    area = {}
    for f in fc["features"]:
        area[f["properties"]["district"]] = area.get(f["properties"]["district"], 0) + f["properties"]["area_km2"]
    density = sum(pops.values()) / sum(a for d, a in area.items() if d in pops)
    ids, pop = [], []
    with c.uow() as uow:
        for i, f in enumerate(fc["features"]):
            p = f["properties"]
            d = p["district"]
            people = int(pops[d] * p["area_km2"] / area[d]) if d in pops else int(density * p["area_km2"])
            ids.append(uow.towns.add(code=f"SZ{i:02d}", name=p["name"], name_en=p["pinyin_file"].title(),
                                     agency_id=city, population=people, population_note="census 2020 by area",
                                     area_km2=p["area_km2"], geometry=f["geometry"], at=c.clock.now()))
            pop.append(people)
        uow.commit()
    g = synthetic.generate(np.array(pop, dtype=float), DAYS, 160 * DAYS, seed=5,
                           surges=[(3, DAYS - 6, 6, 4.0), (40, DAYS - 20, 20, 2.0)])
    facts = [IncidentFact(f"gen:{k}", datetime(2026, 1, 1, 4, tzinfo=UTC) + timedelta(days=int(dd)),
                                   ids[int(t)], str(code), Category(str(cat)), int(de), int(inj), "gen")
             for k, (t, dd, code, cat, de, inj) in enumerate(zip(g.town, g.day, g.type_code, g.category, g.deaths,
                                                                  g.injuries, strict=True))]
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
    assert all(c == "<3" or int(c) >= 3 for c in counts)
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
    page.wait_for_function(f"document.getElementById('si-map').dataset.date === '{past}' && "
                           "document.getElementById('si-map').dataset.status === 'ready'", timeout=30_000)
    assert page.locator("#si-rank tbody tr").count() == 78
    # click a town in the ranking: its trend chart
    row = page.locator("#si-rank tbody tr").nth(5)
    name = row.locator("td").nth(1).inner_text().strip()
    row.click()
    page.wait_for_function(f"document.getElementById('si-chart-title').textContent.includes('{name}')",
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
