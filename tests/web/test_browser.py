"""The real thing in real Chromium: a demo server in a subprocess, a user logs
in, sees the roads and the demo's precinct stations, switches to English, opens a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import demo_server as run_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with run_demo(tmp_path_factory.mktemp("demo"), "--no-stream") as server:
        yield server


def test_login_map_roads_and_the_six_precinct_stations(demo_server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, passwords = demo_server
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{base}/map")
    assert "/login" in page.url  # pages need a session
    assert page.locator("button[type=submit]").inner_text() == "登录"  # Chinese by default
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "用户名或密码错误。"
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", passwords["dispatcher"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/map")
    page.wait_for_selector("#map[data-status=ready]", timeout=30_000)
    roads = int(page.get_attribute("#map", "data-roads") or 0)
    assert roads > 1000
    # the demo's 6 precinct stations (3 OSM police offices that are not precincts are left out: #11)
    assert page.get_attribute("#map", "data-stations") == "6"
    assert page.locator("#station-list li").count() == 6
    assert page.locator(".station-label").count() == 6
    assert page.locator("#station-list").inner_text().count("跳蹬河派出所") == 1
    # no tile server: every image/script came from our own origin
    page.screenshot(path=str(tmp_path / "map.png"))
    for module in ["dispatch", "safety-index", "cases", "exchange", "incidents"]:
        assert page.locator(f"nav a[data-module={module}]").count() == 1
    for module in ["planning", "simulation"]:  # the planners' modules are for analysts, not dispatchers
        assert page.locator(f"nav a[data-module={module}]").count() == 0
    page.click("#lang-switch")
    page.wait_for_selector("#map[data-status=ready]", timeout=30_000)
    assert "Overview map" in page.locator("nav").inner_text()
    page.click("nav a[data-module=exchange]")
    page.wait_for_url("**/exchange**")
    assert page.locator("h1").inner_text() == "Cross-region cooperation"
    page.close()


def test_no_request_leaves_our_origin(demo_server, browser) -> None:  # type: ignore[no-untyped-def]
    base, passwords = demo_server
    page = browser.new_page()  # type: ignore[attr-defined]
    foreign: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(base) else foreign.append(req.url))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", passwords["analyst"])
    page.click("button[type=submit]")
    page.wait_for_selector("#map[data-status=ready]", timeout=30_000)
    assert foreign == []
    page.close()


def test_api_docs_render_from_our_own_assets(demo_server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """/docs works offline: Swagger UI comes from our static files and lists the API's operations."""
    base, _ = demo_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    foreign: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(base) else foreign.append(req.url))
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert "Jingwu" in page.locator(".info .title").inner_text()
    # Swagger UI virtualises long lists (only the operations near the viewport are in the DOM): scroll down
    # the page and collect every operation path that was rendered on the way
    seen: set[str] = set()
    for _ in range(200):
        seen.update(page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.dataset.path)"))
        at_end = page.evaluate("() => { window.scrollBy(0, 700); "
                               "return window.innerHeight + window.scrollY >= document.body.scrollHeight - 2; }")
        page.wait_for_timeout(50)
        if at_end:
            seen.update(page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.dataset.path)"))
            break
    assert len(seen) > 100, len(seen)
    assert {"/api/v1/calls", "/api/v1/cases", "/api/v1/public/safety-index"} <= seen
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert foreign == []
    page.close()
