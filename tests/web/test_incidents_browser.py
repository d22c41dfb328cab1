"""#12 items 5, 8, 9 in real Chromium over `jingwu demo --no-stream`: the incidents list (filters, search, a
flagged arrival marked) and one incident's page with its whole timeline in local time (+08:00); the KPI page
with the average-arrival headline, the flagged switch and the empty state of charts without data; the board's
legend and side panels fold away. Screenshots go to $JINGWU_SCREENSHOT_DIR when set, else the test's tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import bearer as token
from support import browser_login as login
from support import demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("incidents-demo"), "--no-stream") as srv:
        yield srv


def test_incidents_list_record_kpis_and_board(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    h = token(base, "dispatcher", pw["dispatcher"])
    made = []
    for lon, lat, addr in ((104.0657, 30.6598, "人民南路二段 18 号"), (104.1200, 30.6800, "二仙桥东三路 5 号")):
        r = httpx.post(f"{base}/api/v1/calls", headers=h, json={
            "type_code": "020200", "lon": lon, "lat": lat, "address": addr, "caller_name": "张三",
            "caller_phone": "13800000000"})
        assert r.status_code == 201, r.text
        made.append(r.json())
    iid = made[1]["incident_id"]
    unit = httpx.get(f"{base}/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    assert httpx.post(f"{base}/api/v1/incidents/{iid}/dispatch", headers=h, json={"unit_id": unit}).status_code == 200
    for st in ("acknowledged", "en_route", "on_scene"):
        assert httpx.post(f"{base}/api/v1/units/{unit}/status", headers=h, json={"status": st}).status_code == 200

    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US", timezone_id="America/New_York")
    errors: list[str] = []
    ctx.on("page", lambda pg: pg.on("pageerror", lambda e: errors.append(str(e))))
    page = login(ctx, base, "dispatcher", pw["dispatcher"], "/incidents")
    # the menu entry is live, the list shows both calls with their local (Beijing) time
    assert page.locator("nav.modules a[data-module=incidents]").get_attribute("href") == "/incidents"
    page.wait_for_selector("#inc-table")
    assert page.locator(f"tr[data-number='{made[0]['number']}']").count() == 1
    assert "Asia/Shanghai" in page.inner_text("#inc-zone")
    page.fill("#f-q", "二仙桥")
    page.click("#f-apply")
    page.wait_for_url("**/incidents?*q=*")
    assert page.locator("#inc-table tbody tr").count() == 1
    page.screenshot(path=str(shots / "incidents-list.png"), full_page=True)
    page.click(f"a:has-text('{made[1]['number']}')")
    page.wait_for_selector("#timeline")
    kinds = page.eval_on_selector_all("#timeline li", "els => els.map(e => e.dataset.kind)")
    assert kinds[:2] == ["received", "dispatched"] and "unit_on_scene" in kinds
    times = page.eval_on_selector_all("#timeline .time", "els => els.map(e => e.textContent)")
    assert all(x.endswith("+08:00") for x in times), times  # the deployment's zone, not the browser's (New York)
    assert "13800000000" not in page.content()
    page.fill("#personal-reason", "回拨核实")
    page.click("#personal-show")
    page.wait_for_selector("#reads")
    assert "13800000000" in page.inner_text("#calls")
    page.screenshot(path=str(shots / "incident-record.png"), full_page=True)

    # KPIs: headline card, the flagged switch, charts without data show an empty state
    page.goto(f"{base}/kpis")
    try:
        page.wait_for_selector("#kpis[data-status=ready]", timeout=15_000)
    finally:
        page.screenshot(path=str(shots / "kpis-headline.png"), full_page=True)
        assert not errors, errors
    assert page.locator("#kpi-headline").count() == 1
    assert page.locator("#ch-week").is_visible() or page.locator("#headline-card .empty-state").count() == 1
    with page.expect_response(lambda r: "/api/v1/kpis" in r.url and "flagged=exclude" in r.url):
        page.click("#flagged button[data-flagged=exclude]")
    assert "flagged=exclude" in (page.get_attribute("#kpi-export", "href") or "")
    page.screenshot(path=str(shots / "kpis-headline.png"), full_page=True)
    # a window without incidents (2001): every chart shows the empty state, no axis of zeros
    empty = ctx.new_page()
    quiet = "since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z&officer_initiated=exclude&flagged=include"
    empty.route("**/api/v1/kpis?*", lambda route: route.continue_(url=f"{base}/api/v1/kpis?{quiet}"))
    empty.goto(f"{base}/kpis")
    empty.wait_for_selector("#kpis[data-status=ready]")
    assert empty.get_attribute("#kpis", "data-incidents") == "0"
    assert empty.locator(".kpi-grid .empty-state").count() == 5
    assert empty.locator(".kpi-grid canvas:visible").count() == 0
    empty.screenshot(path=str(shots / "kpis-empty.png"), full_page=True)

    # board: the legend is folded by default and unfolds; the left panel folds and the map widens
    board = ctx.new_page()
    board.goto(f"{base}/dispatch")
    board.wait_for_selector("#legend-toggle")
    assert "folded" in (board.get_attribute("#legend", "class") or "")
    board.click("#legend-toggle")
    assert "folded" not in (board.get_attribute("#legend", "class") or "")
    before = board.eval_on_selector("#dmap", "e => e.getBoundingClientRect().width")
    board.click("#left-panel-toggle")
    board.wait_for_function(f"() => document.getElementById('dmap').getBoundingClientRect().width > {before + 200}")
    assert board.locator(".dsp-right .rtabs").is_visible()  # the other panel stays open
    board.screenshot(path=str(shots / "board-folded.png"))
    assert not errors, errors
    ctx.close()
