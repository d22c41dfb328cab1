"""Place names on the maps (#11 item 4) in real Chromium: street names along their streets and
place / POI labels, drawn by static/js/map_labels.js from the label endpoint (the gazetteer), in
Chinese and in English. Every expected name is read from the demo's OSM file with osmium
(tests/osm_labels.py), independently of the product's import.

The board test runs twice: against the real endpoint, and against a stand-in of the endpoint's
contract built from those names (the browser's requests are answered by the test), so the drawing
rules are also checked on input known to the test.
Screenshots go to $JINGWU_SCREENSHOT_DIR when set, else the test's tmp dir.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from osm_labels import OsmNames, fake_labels, read_osm_names
from support import PACKAGED_DATA, data_file, demo_server

pytestmark = pytest.mark.browser
CENTRE = (30.6598, 104.0657)  # Tianfu Square, the demo's centre (lat, lon)
OSM = PACKAGED_DATA / "chengdu" / "chengdu_central_osm_2018.osm"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("labels-demo"), "--no-stream") as srv:
        yield srv


@pytest.fixture(scope="module")
def names() -> OsmNames:
    return read_osm_names(data_file(OSM))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def stand_in(ctx: Any, names: OsmNames, seen: list[str]) -> None:
    """Answer the label endpoints from the OSM names, as their contract says."""
    def answer(route: Any, public: bool) -> None:
        url = route.request.url
        seen.append(url)
        q = parse_qs(urlparse(url).query)
        w, s, e, n = (float(v) for v in q["bbox"][0].split(","))
        zoom = int(q["zoom"][0])
        assert e - w <= 0.5 and n - s <= 0.5 and 10 <= zoom <= 20, url  # what the real endpoint accepts
        route.fulfill(status=200, content_type="application/geo+json",
                      body=json.dumps(fake_labels(names, (w, s, e, n), zoom, public), ensure_ascii=False))
    ctx.route("**/api/v1/map/labels?*", lambda r: answer(r, False))
    ctx.route("**/api/v1/public/map/labels?*", lambda r: answer(r, True))


def login(ctx: Any, base: str, user: str, password: str, path: str) -> Any:
    page = ctx.new_page()
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    return page


def view(page: Any, sel: str, zoom: float, centre: tuple[float, float] = CENTRE) -> dict[str, Any]:
    """Move the map to centre/zoom and wait until its labels are drawn; the drawn labels."""
    page.wait_for_function(
        "(sel) => JWLabels.instances.some((i) => i.map.getContainer() === document.querySelector(sel))",
        arg=sel, timeout=30_000)
    for _ in range(3):  # a page's own first fitBounds may still be animating: set the view until it holds
        page.evaluate("""([sel, lat, lon, z]) => { const el = document.querySelector(sel);
            const m = JWLabels.instances.find((i) => i.map.getContainer() === el).map;
            el.dataset.labelsStatus = ""; m.setView([lat, lon], z, {animate: false}); }""", [sel, *centre, zoom])
        page.wait_for_selector(f"{sel}[data-labels-status=ready]", timeout=30_000)
        page.wait_for_timeout(400)
        now = page.evaluate("""(sel) => JWLabels.instances.find((i) => i.map.getContainer() ===
            document.querySelector(sel)).map.getZoom()""", sel)
        if now == zoom and page.get_attribute(sel, "data-labels-status") == "ready":
            break
    assert now == zoom, f"{sel} stays at zoom {now}, not {zoom}"
    return dict(page.evaluate("""(sel) => { const el = document.querySelector(sel);
        const txt = (n) => n.textContent.replace(/\\u00a0/g, " ");
        const box = (n) => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        return {
          streets: Array.from(el.querySelectorAll(".jw-labels-pane text[data-kind=street]")).map(txt),
          places: Array.from(el.querySelectorAll(".jw-labels-pane [data-kind=place]")).map(txt),
          pois: Array.from(el.querySelectorAll(".jw-labels-pane [data-kind=poi]")).map(txt),
          boxes: Array.from(el.querySelectorAll(".jw-labels-pane span.jw-lbl")).map(box),
          nodes: el.querySelectorAll(".jw-labels-pane *").length,
          // street names cut off at the end of their stretch (a textPath drops glyphs past the path's end)
          cut: Array.from(el.querySelectorAll(".jw-labels-pane text[data-kind=street]")).filter((t) => {
            const path = document.getElementById(t.firstChild.href.baseVal.slice(1));
            return t.getComputedTextLength() + Number(t.getAttribute("dx") || 0) > path.getTotalLength() + 0.5;
          }).map(txt),
          ms: Number(el.dataset.labelsMs),
        }; }""", sel))


def overlapping(boxes: list[list[float]]) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes[:i])
            if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5]


@pytest.mark.parametrize("source", ["endpoint", "stand-in"])
def test_board_street_names_from_osm_in_chinese_and_english(server, names, browser, shots: Path,  # type: ignore[no-untyped-def]
                                                            source: str) -> None:
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    requests: list[str] = []
    if source == "stand-in":
        stand_in(ctx, names, requests)
    else:
        ctx.on("request", lambda r: requests.append(r.url) if "/map/labels?" in r.url else None)
    page = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    page.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)

    z16 = view(page, "#dmap", 16)
    page.screenshot(path=str(shots / f"labels-board-z16-zh-{source}.png"))
    streets = set(z16["streets"])
    assert len(streets) >= 15, z16["streets"]
    assert streets <= names.street_names(), streets - names.street_names()  # each one an OSM street's name
    assert len(z16["pois"]) >= 3 and set(z16["pois"]) <= names.all_names
    assert overlapping(z16["boxes"]) == []
    assert z16["cut"] == []
    assert z16["nodes"] < 600, z16["nodes"]
    print(f"\nboard z16 ({source}): {len(z16['streets'])} street names, {len(z16['places'])} places, "
          f"{len(z16['pois'])} POIs, {z16['nodes']} label DOM nodes, drawn in {z16['ms']} ms")
    assert requests and all("/api/v1/map/labels?" in u and "zoom=16" in u for u in requests[-2:])

    # zoom 13: street names only of secondary roads and above (min_zoom), no POI
    z13 = view(page, "#dmap", 13)
    page.screenshot(path=str(shots / f"labels-board-z13-zh-{source}.png"))
    main = names.streets_of_class("motorway", "trunk", "primary", "secondary")
    assert z13["streets"] and set(z13["streets"]) <= main, set(z13["streets"]) - main
    assert z13["pois"] == []

    # English: name:en where OSM has one, else the local name
    page.click("#lang-switch")
    page.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)
    assert page.evaluate("document.documentElement.lang") == "en"
    en16 = view(page, "#dmap", 16)
    page.screenshot(path=str(shots / f"labels-board-z16-en-{source}.png"))
    english = {s[2] for s in names.streets if s[2]}
    no_english = {s[0] for s in names.streets if not s[2]}
    shown = set(en16["streets"])
    assert shown <= english | no_english, shown - english - no_english
    assert len(shown & english) >= 5, en16["streets"]
    # a street whose every OSM way has an English name is never shown by its local name
    assert not shown & ({s[0] for s in names.streets if s[2]} - no_english)
    assert set(en16["pois"]) <= names.all_english | names.all_names
    ctx.close()


def test_overview_map_and_unit_view_draw_labels(server, names, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = login(ctx, base, "analyst", pw["analyst"], "/map")
    page.wait_for_selector("#map[data-status=ready]", timeout=30_000)
    for z in (16, 13):
        got = view(page, "#map", z)
        page.screenshot(path=str(shots / f"labels-map-z{z}.png"))
        assert got["streets"] and set(got["streets"]) <= names.street_names()
        assert overlapping(got["boxes"]) == [] and got["nodes"] < 600 and got["cut"] == []
    # the layer control switches them off and on
    toggle = page.locator(".leaflet-control-layers label", has_text="地名").locator("input")
    toggle.uncheck()
    assert page.locator("#map .jw-labels-pane [data-kind]").count() == 0
    toggle.check()
    page.wait_for_selector("#map .jw-labels-pane [data-kind=street]", timeout=10_000)
    page.close()

    unit = login(ctx, base, "officer", pw["officer"], "/unit")
    unit.wait_for_selector("#umap .leaflet-map-pane", state="attached", timeout=30_000)
    for z in (16, 14):
        got = view(unit, "#umap", z)
        unit.locator("#umap").scroll_into_view_if_needed()
        unit.screenshot(path=str(shots / f"labels-unit-z{z}.png"))
        assert got["streets"] and set(got["streets"]) <= names.street_names()
    ctx.close()


def test_public_safety_index_shows_places_and_main_streets_but_no_poi(server, names, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    page = ctx.new_page()
    page.goto(f"{base}/safety-index")  # public: no login
    page.wait_for_selector("#si-map[data-status=ready]", timeout=30_000)
    primary = names.streets_of_class("motorway", "trunk", "primary")
    places = 0
    for z in (16, 13):
        got = view(page, "#si-map", z)
        page.screenshot(path=str(shots / f"labels-safety-index-z{z}.png"))
        places += len(got["places"])
        assert set(got["places"]) <= names.place_names, set(got["places"]) - names.place_names
        assert got["pois"] == []
        assert set(got["streets"]) <= primary, set(got["streets"]) - primary
    assert places >= 3
    labels = [u for u in requests if "/map/labels?" in u]
    assert labels and all(u.startswith(f"{base}/api/v1/public/map/labels?") for u in labels)
    assert all(u.startswith(base) for u in requests)  # nothing from another origin
    ctx.close()
