"""The admin pages in real Chromium on `jingwu demo`: an administrator creates a unit through the units
form and sees it in the table; a duplicate call sign shows the API's error; a town is created with a
boundary uploaded as a GeoJSON file and drawn on the map; a station's jurisdiction is drawn; a user is
disabled and enabled; the navigation shows the admin entry to admins only; every tab in Chinese and in
English is screenshotted ($JINGWU_SCREENSHOT_DIR when set, else the test's tmp dir)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import demo_server

pytestmark = pytest.mark.browser
TABS = ("agencies", "stations", "towns", "units", "users", "devices")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("admin-demo"), "--no-stream") as srv:
        yield srv


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def login(ctx: Any, base: str, user: str, password: str, path: str) -> Any:
    page = ctx.new_page()
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    return page


def api_token(base: str, user: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ready(page: Any) -> None:
    page.wait_for_selector("#admin[data-status=ready]", timeout=30_000)


def test_admin_creates_a_unit_in_the_page_and_sees_it(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = login(ctx, base, "admin", pw["admin"], "/admin/units")
    ready(page)
    assert page.locator("nav.modules a[data-module=admin]").count() == 1
    assert page.locator("#unit-table tbody tr").count() > 0
    stations = page.locator("#unit-station option")
    assert stations.count() > 0
    page.fill("#unit-call-sign", "测试巡01")
    page.select_option("#unit-kind", "motorbike")
    page.select_option("#unit-station", index=1)
    page.select_option("#unit-mode", "bicycle")
    page.click("#unit-save")
    row = page.locator('#unit-table tr[data-call-sign="测试巡01"]')
    row.wait_for(timeout=10_000)
    assert "摩托车" in row.inner_text() and "自行车" in row.inner_text()
    assert page.locator("#adm-msg").get_attribute("data-kind") == "ok"
    # the unit exists in the API, at the chosen station, with the chosen travel mode
    h = api_token(base, "admin", pw["admin"])
    u = next(x for x in httpx.get(f"{base}/api/v1/admin/units", headers=h).json() if x["call_sign"] == "测试巡01")
    assert u["travel_mode"] == "bicycle" and u["kind"] == "motorbike"
    assert u["agency_id"] == page.locator("#unit-station option").nth(1).get_attribute("value")
    # the same call sign again: the API's 409 is shown
    page.fill("#unit-call-sign", "测试巡01")
    page.click("#unit-save")
    page.wait_for_selector("#adm-msg.error")
    assert "call_sign_taken" in page.locator("#adm-msg").inner_text()
    page.screenshot(path=str(shots / "admin-units-zh.png"), full_page=True)
    ctx.close()


def test_town_boundary_upload_station_map_users_and_screenshots(server, browser, shots: Path,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    base, pw = server
    h = api_token(base, "admin", pw["admin"])
    st = next(a for a in httpx.get(f"{base}/api/v1/admin/agencies", headers=h).json()
              if a["kind"] == "station" and a["jurisdiction"])
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = login(ctx, base, "admin", pw["admin"], "/admin/towns")
    ready(page)
    lon, lat = st["lon"], st["lat"]
    boundary = tmp_path / "town.geojson"
    boundary.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[lon - .01, lat - .01], [lon + .01, lat - .01],
                                                          [lon + .01, lat + .01], [lon - .01, lat + .01],
                                                          [lon - .01, lat - .01]]]}}]}))
    page.fill("#town-form input[name=code]", "T-TEST")
    page.fill("#town-form input[name=name]", "测试街道")
    page.fill("#town-form input[name=population]", "12345")
    page.set_input_files("#town-form input[name=geometry]", str(boundary))
    page.click("#town-save")
    page.locator('#town-table tr[data-code="T-TEST"]').wait_for(timeout=10_000)
    page.wait_for_selector("#admin[data-drawn=polygon]")
    page.wait_for_timeout(600)
    page.screenshot(path=str(shots / "admin-towns-zh.png"), full_page=True)
    # a bow-tie boundary is refused with the API's reason
    boundary.write_text(json.dumps({"type": "Polygon", "coordinates": [[[lon, lat], [lon + .01, lat + .01],
                                                                         [lon + .01, lat], [lon, lat + .01],
                                                                         [lon, lat]]]}))
    page.click("#town-form button[type=reset]")
    page.fill("#town-form input[name=code]", "T-BAD")
    page.fill("#town-form input[name=name]", "坏边界")
    page.fill("#town-form input[name=population]", "10")
    page.set_input_files("#town-form input[name=geometry]", str(boundary))
    page.click("#town-save")
    page.wait_for_selector("#adm-msg.error")
    assert "invalid_geometry" in page.locator("#adm-msg").inner_text()

    page.goto(f"{base}/admin/stations")
    ready(page)
    page.click(f'#station-table tr[data-code="{st["code"]}"] button[data-act=edit]')
    page.wait_for_selector("#admin[data-drawn=polygon]")
    page.wait_for_timeout(600)
    page.screenshot(path=str(shots / "admin-stations-zh.png"), full_page=True)

    page.goto(f"{base}/admin/users")
    ready(page)
    row = page.locator('#user-table tr[data-username="analyst"]')
    row.locator("button[data-act=disable]").click()
    page.locator('#user-table tr[data-username="analyst"].off').wait_for(timeout=10_000)
    assert httpx.post(f"{base}/api/v1/auth/token",
                      data={"username": "analyst", "password": pw["analyst"]}).status_code == 401
    page.locator('#user-table tr[data-username="analyst"] button[data-act=enable]').click()
    page.locator('#user-table tr[data-username="analyst"]:not(.off)').wait_for(timeout=10_000)

    # an alarm device: a click on the map fills its position; its key is shown once after registering
    page.goto(f"{base}/admin/devices")
    ready(page)
    page.click("#adm-map", position={"x": 400, "y": 200})
    assert page.input_value("#device-form input[name=lon]") != ""
    page.fill("#device-form input[name=code]", "BTN-PAGE")
    page.fill("#device-form input[name=name]", "页面报警柱")
    page.fill("#device-form input[name=lon]", str(lon))
    page.fill("#device-form input[name=lat]", str(lat))
    page.select_option("#device-form select[name=mqtt_profile]", "plain")  # a button that sends "PRESSED"
    page.click("#device-save")
    page.wait_for_selector("#device-secret:not([hidden])")
    assert "BTN-PAGE" in page.locator("#device-secret").inner_text()
    assert "jingwu mqtt passwd" in page.locator("#device-secret").inner_text()  # and its MQTT secret
    page.locator('#device-table tr[data-code="BTN-PAGE"]').wait_for(timeout=10_000)
    page.click('#device-table tr[data-code="BTN-PAGE"] button[data-act=edit]')
    assert page.input_value("#device-form select[name=mqtt_profile]") == "plain"

    for lang in ("zh-CN", "en"):
        for tab in TABS:
            page.goto(f"{base}/admin/{tab}?lang={lang}")
            ready(page)
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / f"admin-{tab}-{lang}.png"), full_page=True)
    assert page.locator("h1").inner_text() == "Alarm devices"
    ctx.close()

    # a dispatcher sees no admin entry and gets 403 on the pages
    ctx = browser.new_context()
    page = login(ctx, base, "dispatcher", pw["dispatcher"], "/map")
    assert page.locator("nav.modules a[data-module=admin]").count() == 0
    assert page.goto(f"{base}/admin/units").status == 403
    ctx.close()
