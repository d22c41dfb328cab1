"""Issue #11 item 3 in real Chromium: the call-taker types an address, the board searches as they type
(debounced), the keyboard moves through the results, Enter places the call on the chosen street (the
form's lon/lat on the street, as read from the OSM file), and the submitted call is located and gets
recommendations. The server is `jingwu demo` (the Chengdu extract) in a subprocess."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely.geometry import Point

from geocode.osm_facts import metres, read_facts
from jingwu.routing.settings import DEMO_OSM_FILE
from support import data_file, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("geocode-demo"), "--no-stream") as srv:
        yield srv


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_intake_address_search_places_the_call(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    facts = read_facts(data_file(DEMO_OSM_FILE))
    # the longest primary street of the extract whose name no POI or place shares
    name = max((n for n in facts.streets if "primary" in facts.street_class[n] and n not in facts.pois
                and n not in facts.places
                and len(n) >= 3), key=lambda n: sum(g.length for g in facts.streets[n]))
    ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/login?next=/dispatch")
    page.fill("input[name=username]", "dispatcher")  # takes calls and sees recommendations
    page.fill("input[name=password]", pw["dispatcher"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dispatch")
    page.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)
    page.click("#rt-intake")
    page.wait_for_selector("#f-type-q[data-ready='1']", state="attached", timeout=10_000)
    page.fill("#f-type-q", "xxzs")  # the type picker: initials of 寻衅滋事/扰乱公共秩序
    page.keyboard.press("Enter")
    assert page.input_value("#f-type") == "020300"

    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/api/v1/geocode" in r.url else None)
    page.click("#f-address")
    page.keyboard.type(name, delay=40)  # key by key, faster than the debounce
    page.wait_for_selector("#f-geo-list li[role=option]", timeout=10_000)
    assert len(searches) < len(name)  # debounced: not one request per key
    first = page.locator("#f-geo-list li[role=option]").first
    assert name in first.inner_text()
    assert page.get_attribute("#f-address", "aria-expanded") == "true"
    assert page.get_attribute("#f-address", "aria-activedescendant") == "geo-opt-0"
    n = page.locator("#f-geo-list li[role=option]").count()
    if n > 1:
        page.keyboard.press("ArrowDown")
        assert page.get_attribute("#f-address", "aria-activedescendant") == "geo-opt-1"
        page.keyboard.press("ArrowUp")
    assert page.get_attribute("#f-address", "aria-activedescendant") == "geo-opt-0"
    page.screenshot(path=str(shots / "intake-geocode-list.png"))
    page.keyboard.press("Enter")  # chooses; does not submit the form
    page.wait_for_selector("#f-loc.set", timeout=5_000)
    assert page.locator("#f-geo-list").is_hidden()
    lon = float(page.input_value("#f-lon"))
    lat = float(page.input_value("#f-lat"))
    assert min(metres(Point(lon, lat), g) for g in facts.streets[name]) < 1.0
    assert page.input_value("#f-address") == name
    assert name in page.locator("#f-loc-text").inner_text()
    page.screenshot(path=str(shots / "intake-geocode-chosen.png"))

    page.click("#f-submit")
    page.wait_for_selector("#toast:not([hidden])", timeout=10_000)
    page.wait_for_selector("#detail[data-status=open] #recs tbody tr", timeout=15_000)  # located: recommendations
    assert name in page.locator("#detail").inner_text()

    # Escape closes the list without choosing
    page.click("#rt-intake")
    page.click("#f-address")
    page.keyboard.type(name[:2], delay=40)
    page.wait_for_selector("#f-geo-list li", timeout=10_000)
    page.keyboard.press("Escape")
    assert page.locator("#f-geo-list").is_hidden() and page.input_value("#f-lon") == ""

    # an address typed but never chosen: the server geocodes it and the timeline says so
    (a, b), nodes = next((k, v) for k, v in sorted(facts.crossings.items()) if len(v) == 1)
    page.fill("#f-address", f"{a}与{b}交叉口")
    page.keyboard.press("Escape")
    page.fill("#f-type-q", "寻衅滋事")
    page.keyboard.press("Enter")
    assert page.input_value("#f-type") == "020300"
    page.click("#f-submit")
    page.wait_for_selector("#detail[data-status=open] #recs tbody tr", timeout=15_000)
    assert "地址检索" in page.locator("#detail").inner_text() and "已定位" in page.locator("#detail").inner_text()
    inc = page.request.get(f"{base}/api/v1/incidents/{page.get_attribute('#detail', 'data-incident')}").json()
    assert metres(Point(inc["lon"], inc["lat"]), nodes[0]) < 1.0  # on the streets' shared node
    page.locator("#detail ol, #detail ul").last.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "intake-geocoded-timeline.png"))

    # in English the list names the kinds in English
    page.click("#lang-switch")
    page.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    page.click("#rt-intake")
    page.click("#f-address")
    page.keyboard.type(name, delay=40)
    page.wait_for_selector("#f-geo-list li[role=option]", timeout=10_000)
    assert "street" in page.locator("#f-geo-list li[role=option]").first.inner_text()
    page.screenshot(path=str(shots / "intake-geocode-list-en.png"))
    page.keyboard.press("Escape")
    page.click("#lang-switch")
    ctx.close()
