"""Issue #12 item 7 in real Chromium at 390×844: the officer's phone rings, vibrates and shows a banner on a
new order (audio unlocked by the first tap), draws the route with its ETA, and a status tapped while offline
(Playwright's context.set_offline) is queued with its own time and replayed in order when the network is
back: the server stores the tap's time, not the replay's (ADR 0024)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from support import bearer as token
from support import browser_login as login
from support import demo_server

pytestmark = pytest.mark.browser

# counts vibrations and beeps (oscillators started) so the test can see them
SPY = """
window.__vibrations = [];
navigator.vibrate = (p) => { window.__vibrations.push(p); return true; };
const _osc = window.AudioContext && AudioContext.prototype.createOscillator;
window.__beeps = 0;
if (_osc) AudioContext.prototype.createOscillator = function () { window.__beeps += 1; return _osc.call(this); };
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("phone-demo"), "--no-stream") as srv:
        yield srv


def ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_phone_rings_and_replays_offline_taps_with_their_times(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    officer = token(base, "officer", pw["officer"])
    station_id = httpx.get(f"{base}/api/v1/me", headers=officer).json()["agency_id"]
    station = httpx.get(f"{base}/api/v1/agencies/{station_id}", headers=disp).json()
    lon, lat = station["lon"] + 0.004, station["lat"] + 0.002
    units = [u for u in httpx.get(f"{base}/api/v1/units", headers=officer).json()
             if u["agency_id"] == station_id and u["status"] == "available" and u["kind"] == "patrol_car"]
    assert units, "the officer's station has an available patrol car"
    unit_id = units[0]["id"]
    # only the unit's crew reports for it (ADR 0018); the autopilot leaves a crewed unit alone
    httpx.post(f"{base}/api/v1/units/{unit_id}/crew", headers=officer).raise_for_status()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                locale="zh-CN", device_scale_factor=2)
    phone.add_init_script(SPY)
    uv = login(phone, base, "officer", pw["officer"], "/unit")
    uv.goto(f"{base}/unit?unit={unit_id}")
    uv.wait_for_selector("#unitview[data-unit-status=available]", timeout=15_000)
    uv.wait_for_selector("html[data-stream=live]", state="attached", timeout=15_000)
    uv.tap("#ustat")  # the first tap unlocks the audio
    assert uv.evaluate("document.documentElement.dataset.audio") == "unlocked"

    # a new order: banner, sound and vibration, the route with its ETA
    r = httpx.post(f"{base}/api/v1/calls", headers={**disp, "Idempotency-Key": uuid.uuid4().hex}, json={
        "type_code": "020200", "lon": lon, "lat": lat, "address": "手机测试路 1 号", "summary": "纠纷"})
    assert r.status_code == 201, r.text
    call = r.json()
    d = httpx.post(f"{base}/api/v1/incidents/{call['incident_id']}/dispatch", headers=disp, json={"unit_id": unit_id})
    assert d.status_code == 200, d.text
    uv.wait_for_selector("#neworder:not([hidden])[data-sound=played]", timeout=15_000)
    assert "手机测试路 1 号" in uv.locator("#neworder").inner_text()
    assert uv.evaluate("window.__vibrations.length") >= 1 and uv.evaluate("window.__beeps") >= 3
    uv.wait_for_selector("#unitview[data-unit-status=dispatched]", timeout=10_000)
    uv.wait_for_selector("#route-info:not(:empty)", timeout=15_000)
    assert ":" in uv.locator("#route-info").inner_text()  # ETA m:ss
    uv.wait_for_selector("#order-eta:not([hidden])", timeout=5_000)  # the ETA at the top, under the order
    assert "公里" in uv.locator("#order-eta").inner_text() and int(uv.get_attribute("#order-eta", "data-seconds")) > 0
    uv.screenshot(path=str(shots / "phone-new-order.png"))
    box = uv.locator("#neworder").bounding_box()
    assert box and box["width"] <= 390
    uv.tap("#neworder")
    assert uv.locator("#neworder").is_hidden()

    uv.tap("#btn-acknowledged")  # online: sent at once
    uv.wait_for_selector("#unitview[data-unit-status=acknowledged]", timeout=10_000)

    # the network goes: two taps are queued with their own times, the buttons move on
    phone.set_offline(True)
    uv.wait_for_selector("#netbar[data-state=offline]", timeout=10_000)
    before_en_route = time.time()
    uv.tap("#btn-en_route")
    uv.wait_for_selector("#netbar[data-queued='1']", timeout=10_000)
    uv.wait_for_selector("#btn-on_scene:not([disabled])", timeout=10_000)
    time.sleep(1.5)
    uv.tap("#btn-on_scene")
    uv.wait_for_selector("#netbar[data-queued='2']", timeout=10_000)
    assert uv.locator("#ubtns button.queued").count() == 2  # the queued steps say so
    queue = uv.evaluate("JSON.parse(localStorage.getItem('jw.tapq'))")
    assert [q["body"]["status"] for q in queue] == ["en_route", "on_scene"]
    assert ts(queue[0]["body"]["at"]) >= before_en_route - 1
    uv.screenshot(path=str(shots / "phone-offline-queued.png"))
    assert httpx.get(f"{base}/api/v1/units/{unit_id}", headers=disp).json()["status"] == "acknowledged"
    time.sleep(3)  # offline a while: the replay comes seconds after the taps

    # back online: replayed in order, stored with the taps' times
    phone.set_offline(False)
    uv.wait_for_selector("#netbar[data-queued='0']", state="attached", timeout=20_000)
    uv.wait_for_selector("#unitview[data-unit-status=on_scene]", timeout=10_000)
    assert uv.locator("#ubtns button.queued").count() == 0
    assert uv.locator("#order-eta").is_hidden()  # on scene: no ETA any more
    inc = httpx.get(f"{base}/api/v1/incidents/{call['incident_id']}", headers=disp).json()
    a = next(x for x in inc["assignments"] if x["unit_id"] == unit_id)
    assert abs(ts(a["en_route_at"]) - ts(queue[0]["body"]["at"])) < 0.01
    assert abs(ts(a["on_scene_at"]) - ts(queue[1]["body"]["at"])) < 0.01
    assert ts(a["en_route_at"]) < ts(a["on_scene_at"])
    ev = next(e for e in inc["timeline"] if e["kind"] == "unit_on_scene")
    assert ts(ev["detail"]["received_at"]) - ts(ev["detail"]["at"]) > 3  # received on replay
    uv.wait_for_selector("#netbar[hidden]", state="attached", timeout=10_000)
    # the stream is back (reopened on "online"): a change made elsewhere shows within seconds, before the
    # 10 s fallback poll could have fetched it
    uv.wait_for_selector("html[data-stream=live]", state="attached", timeout=10_000)
    r = httpx.post(f"{base}/api/v1/units/{unit_id}/status", headers=officer, json={"status": "cleared"})
    assert r.status_code == 200, r.text
    uv.wait_for_selector("#unitview[data-unit-status=cleared]", timeout=5_000)
    uv.screenshot(path=str(shots / "phone-replayed.png"), full_page=True)
    phone.close()


def test_stream_sends_a_visible_ping_every_15_seconds(server) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    h = token(base, "officer", pw["officer"])
    start = time.monotonic()
    events: list[str] = []
    with httpx.stream("GET", f"{base}/api/v1/stream", headers=h, timeout=30) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
                if events[-1] == "ping":
                    break
    waited = time.monotonic() - start
    assert events[-1] == "ping" and 13 <= waited <= 20, (events, waited)
