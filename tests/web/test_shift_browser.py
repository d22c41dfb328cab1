"""Issue #12 item 1 in real Chromium at a phone-sized viewport (390×844): an officer opens the unit view, signs
on to a unit (the device remembers it), reports a status only once on the crew, and the dispatcher's board
shows who crews the unit; a stand-down needs a reason and raises an alert with a one-click redispatch.

The server is `jingwu demo --no-stream` (no simulated unit races the test)."""

from __future__ import annotations

import os
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
    with demo_server(tmp_path_factory.mktemp("shift-demo"), "--no-stream") as srv:
        yield srv


def test_officer_signs_on_from_the_phone_and_the_board_shows_the_crew(server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    shots = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path)
    disp, officer = token(base, "dispatcher", pw["dispatcher"]), token(base, "officer", pw["officer"])
    station = httpx.get(f"{base}/api/v1/me", headers=officer).json()["agency_id"]
    units = sorted((u for u in httpx.get(f"{base}/api/v1/units", headers=officer).json()
                    if u["agency_id"] == station), key=lambda u: u["call_sign"])
    unit = units[1]

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                locale="zh-CN")
    uv = login(phone, base, "officer", pw["officer"], "/unit")
    uv.goto(f"{base}/unit?unit={unit['id']}")
    uv.wait_for_selector("#crew:not([hidden]) #crew-on", timeout=15_000)
    assert unit["call_sign"] in uv.locator("#crew-on").inner_text()
    # not yet on the crew: a dispatched unit's acknowledgement from this phone is refused
    iid = httpx.post(f"{base}/api/v1/calls", headers=disp, json={
        "channel": "phone", "type_code": "020200", "lon": unit["home_lon"] + 0.003, "lat": unit["home_lat"] + 0.002,
    }).json()["incident_id"]
    assert httpx.post(f"{base}/api/v1/incidents/{iid}/dispatch", headers=disp,
                      json={"unit_id": unit["id"]}).status_code == 200
    uv.wait_for_selector("#unitview[data-unit-status=dispatched]", timeout=15_000)
    uv.click("#btn-acknowledged")
    uv.wait_for_selector("#toast.bad:not([hidden])", timeout=10_000)
    assert "班组" in uv.locator("#toast").inner_text()
    uv.select_option("#crew-hours", "8")
    uv.click("#crew-on")
    uv.wait_for_selector(f"#crew[data-crew='{unit['id']}']", timeout=10_000)
    assert unit["call_sign"] in uv.locator("#crew").inner_text() and "officer" in uv.locator("#crew").inner_text()
    assert uv.evaluate("localStorage.getItem('jw.unit')") == unit["id"]
    # the page fits the phone: nothing wider than the viewport
    assert uv.evaluate("document.documentElement.scrollWidth") <= 390
    uv.screenshot(path=str(shots / "shift-unit-signed-on.png"), full_page=True)
    uv.click("#btn-acknowledged")
    uv.wait_for_selector("#unitview[data-unit-status=acknowledged]", timeout=10_000)
    # the device remembers the unit: opened again without ?unit= it shows the crewed unit
    uv.goto(f"{base}/unit")
    uv.wait_for_selector(f"#crew[data-crew='{unit['id']}']", timeout=15_000)
    assert uv.locator("#unit-select").input_value() == unit["id"]

    # the dispatcher's board shows who crews the unit
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    board = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    board.wait_for_selector(f"#crews li[data-unit='{unit['id']}']", timeout=15_000)
    assert "officer" in board.locator(f"#crews li[data-unit='{unit['id']}']").inner_text()
    # stand-down from the incident pane: the reason is asked for, the alert offers the next unit
    board.click(f"#queue li[data-id='{iid}']")
    board.wait_for_selector(f"#detail[data-incident='{iid}'] [data-standdown='{unit['id']}']", timeout=15_000)
    board.once("dialog", lambda d: d.accept("车辆故障"))
    board.click(f"[data-standdown='{unit['id']}']")
    board.wait_for_selector(".alert.k-stood_down button[data-dispatch]", timeout=15_000)
    assert "车辆故障" in board.locator(".alert.k-stood_down").inner_text()
    board.screenshot(path=str(shots / "shift-board-stood-down.png"))
    board.click(".alert.k-stood_down button[data-dispatch]")
    board.wait_for_function(f"""() => (window.JW.board.state.board.units || []).some(
        (u) => u.incident_id === '{iid}' && u.id !== '{unit['id']}')""", timeout=15_000)
    board.wait_for_selector(".alert.k-stood_down", state="detached", timeout=15_000)  # resolved by the redispatch
    a = httpx.get(f"{base}/api/v1/incidents/{iid}", headers=disp).json()["assignments"]
    assert a[0]["stand_down_reason"] == "车辆故障" and any(x["active"] for x in a[1:])
    phone.close()
    ctx.close()
