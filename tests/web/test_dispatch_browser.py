"""Issue #4 in real Chromium: a dispatcher watches the live board, a call arrives
over the API and an alarm over MQTT (both appear without reload, by SSE), one
click dispatches the top recommended unit, the mobile unit view acknowledges,
goes en route and on scene, and the board and the KPIs follow. Also: the 409 of
a unit taken meanwhile is explained, the SMS location link works once and then
says it expired, and the pages read in English.

The server is `jingwu demo` in a subprocess (with `--no-stream` when the CLI has
it, so no simulated unit races the test; nothing depends on incident counts).
Screenshots go to $JINGWU_SCREENSHOT_DIR when set, else the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jingwu.dispatch.services.alarm_messages import sign_alarm
from support import demo_server

pytestmark = pytest.mark.browser
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1884  # the project's broker (make broker, ADR 0025)
REPO = Path(__file__).resolve().parents[2]
DATA: list[Path] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    subprocess.run(["make", "-s", "--no-print-directory", "broker"], cwd=REPO, check=True, timeout=60)
    DATA.append(tmp_path_factory.mktemp("dispatch-demo"))
    # no generated stream: the autopilot would race the unit view's status steps
    with demo_server(DATA[-1], "--no-stream") as srv:
        yield srv


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def token(base: str, user: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def login(ctx: Any, base: str, user: str, password: str, path: str) -> Any:
    page = ctx.new_page()
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    return page


def publish(topic: str, payload: bytes, user: str, password: str) -> None:
    """As a device: its account is added to the broker's password file first (jingwu mqtt passwd)."""
    import paho.mqtt.client as mqtt

    env = {**os.environ, "JINGWU_DATA_DIR": str(DATA[-1]), "JINGWU_LOG_JSON": "0"}
    env.pop("JINGWU_DATABASE_URL", None)
    subprocess.run([str(Path(sys.executable).parent / "jingwu"), "mqtt", "passwd"], cwd=REPO, env=env, check=True,
                   timeout=120, capture_output=True)
    time.sleep(0.5)  # the broker rereads the file on SIGHUP
    cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    cl.username_pw_set(user, password)
    cl.connect(MQTT_HOST, MQTT_PORT)
    cl.loop_start()
    cl.publish(topic, payload, qos=1).wait_for_publish(5)
    cl.loop_stop()
    cl.disconnect()


def test_call_and_alarm_to_dispatch_unit_chain_and_kpis(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    officer = token(base, "officer", pw["officer"])
    admin = token(base, "admin", pw["admin"])
    station_id = httpx.get(f"{base}/api/v1/me", headers=officer).json()["agency_id"]
    station = httpx.get(f"{base}/api/v1/agencies/{station_id}", headers=disp).json()
    lon, lat = station["lon"] + 0.004, station["lat"] + 0.002  # a few hundred metres from the officer's station

    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    board = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    board.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    board.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)
    board.wait_for_selector("#live[data-mode=live]", timeout=15_000)
    board.evaluate("window.__noReload = 1")

    # a phone call over the API and an alarm button over MQTT
    r = httpx.post(f"{base}/api/v1/calls", headers={**disp, "Idempotency-Key": uuid.uuid4().hex}, json={
        "type_code": "010200", "lon": lon, "lat": lat, "accuracy_m": 25, "address": "测试路 88 号",
        "summary": "两名男子持刀斗殴", "caller_name": "张三", "caller_phone": "13800000000",
        "flags": {"weapon": True, "ongoing": True}})
    assert r.status_code == 201, r.text
    call = r.json()
    code = f"BTN-{uuid.uuid4().hex[:6]}"
    r = httpx.post(f"{base}/api/v1/alarm-devices", headers=admin, json={
        "code": code, "name": "测试一键报警柱", "lon": lon + 0.0008, "lat": lat + 0.0005, "agency_id": station_id})
    assert r.status_code == 201, r.text
    secret, ev, ts = r.json()["mqtt_secret"], f"ev-{uuid.uuid4().hex[:6]}", int(time.time())
    publish(f"jingwu/alarm/{code}", json.dumps({"event_id": ev, "ts": ts, "sig": sign_alarm(secret, code, ev, ts)})
            .encode(), code, secret)

    # both on the board without reload (SSE), the alarm flagged as a possible duplicate of the call
    board.wait_for_selector(f"#queue li[data-id='{call['incident_id']}']", timeout=15_000)
    alarm_li = board.wait_for_selector("#queue li[data-channel=alarm]", timeout=15_000)
    assert board.evaluate("window.__noReload") == 1
    assert call["number"] in board.locator("#queue").inner_text()
    assert "P1" in board.locator(f"#queue li[data-id='{call['incident_id']}'] .prio").inner_text()
    board.wait_for_selector("#queue li[data-channel=alarm] .tag.dup", timeout=10_000)
    assert board.locator(".leaflet-marker-pane .inc-marker.st-open").count() >= 2

    # the alarm: keep it separate from the call
    alarm_id = alarm_li.get_attribute("data-id")
    board.click(f"#queue li[data-id='{alarm_id}']")
    board.wait_for_selector(f"#detail[data-incident='{alarm_id}'] .dupprop", timeout=10_000)
    board.click("#detail .dupprop [data-split]")
    board.wait_for_selector(f"#queue li[data-id='{alarm_id}']:not(:has(.tag.dup))", timeout=10_000)

    # the call: details, recommendations; one click dispatches the top unit
    board.click(f"#queue li[data-id='{call['incident_id']}']")
    board.wait_for_selector(f"#detail[data-incident='{call['incident_id']}'] #recs tbody tr", timeout=15_000)
    detail = board.locator("#detail").inner_text()
    assert "测试路 88 号" in detail and "持械" in detail and "ETA" in detail
    top = board.locator("#recs tbody tr").first
    unit_id = top.get_attribute("data-unit")
    call_sign = top.locator("td b").first.inner_text()
    assert ":" in top.locator("td.eta").inner_text()  # mm:ss
    board.screenshot(path=str(shots / "board-recommendations.png"))
    top.locator("button.dispatch").click()
    board.wait_for_selector(f"#queue li[data-id='{call['incident_id']}'].st-dispatched", timeout=10_000)
    assert "已派" in board.locator("#toast").inner_text()
    unit = httpx.get(f"{base}/api/v1/units/{unit_id}", headers=disp).json()
    assert unit["status"] == "dispatched"
    board.wait_for_selector(".leaflet-overlay-pane canvas", timeout=5_000)

    # the caller's phone number, on request with a reason (audited)
    board.once("dialog", lambda d: d.accept("回拨核实现场情况"))
    board.click("#btn-caller")
    board.wait_for_selector("#callerbox .caller", timeout=10_000)
    assert "13800000000" in board.locator("#callerbox").inner_text()
    audit = httpx.get(f"{base}/api/v1/audit", headers=token(base, "auditor", pw["auditor"])).json()
    assert any(e["action"] == "personal_data_read" and e["object_id"] == call["incident_id"] for e in audit)

    # the losing click of a race: the unit is taken meanwhile (API), the board explains the 409
    board.click(f"#queue li[data-id='{alarm_id}']")
    board.wait_for_selector(f"#detail[data-incident='{alarm_id}'] #recs tbody tr", timeout=15_000)
    taken = board.locator("#recs tbody tr").first.get_attribute("data-unit")
    # "another dispatcher" takes the unit; the click lands before the board has refreshed
    status = board.evaluate("""([inc, unit]) => fetch(`/api/v1/incidents/${inc}/dispatch`, {method: "POST",
        credentials: "same-origin", headers: {"Content-Type": "application/json", "X-Jingwu-CSRF": "1"},
        body: JSON.stringify({unit_id: unit})}).then((r) => {
          document.querySelector(`#recs tr[data-unit='${unit}'] button.dispatch`).click(); return r.status; })""",
        [alarm_id, taken])
    assert status == 200
    board.wait_for_selector("#toast.bad", timeout=10_000)
    assert "刚被派出" in board.locator("#toast").inner_text()
    board.wait_for_selector(f"#detail[data-incident='{alarm_id}'][data-status=dispatched]", timeout=10_000)

    # the mobile unit view: the officer of the station if the unit is his, else the dispatcher
    user = "officer" if unit["agency_id"] == station_id else "dispatcher"
    if user == "officer":  # only the unit's crew reports for it (ADR 0018)
        httpx.post(f"{base}/api/v1/units/{unit_id}/crew", headers=officer).raise_for_status()
    phone = browser.new_context(viewport={"width": 412, "height": 860}, is_mobile=True, has_touch=True,
                                locale="zh-CN")
    uv = login(phone, base, user, pw[user], "/unit")
    uv.goto(f"{base}/unit?unit={unit_id}")
    uv.wait_for_selector("#unitview[data-unit-status=dispatched]", timeout=15_000)
    assert call["number"] in uv.locator("#order").inner_text()
    assert uv.locator("#btn-acknowledged").is_enabled() and not uv.locator("#btn-on_scene").is_enabled()
    uv.wait_for_selector("#route-info:not(:empty)", timeout=15_000)
    uv.screenshot(path=str(shots / "unit-order.png"), full_page=True)
    for status in ("acknowledged", "en_route", "on_scene"):
        uv.click(f"#btn-{status}")
        uv.wait_for_selector(f"#unitview[data-unit-status={status}]", timeout=10_000)
    assert uv.locator("#btn-cleared").is_enabled()
    uv.screenshot(path=str(shots / "unit-on-scene.png"), full_page=True)
    assert uv.evaluate("localStorage.getItem('jw.unit')") == unit_id

    # the board follows live; the KPIs count the arrival
    board.wait_for_selector(f"#queue li[data-id='{call['incident_id']}'].st-on_scene", timeout=15_000)
    assert board.evaluate("window.__noReload") == 1
    board.click(f"#queue li[data-id='{call['incident_id']}']")
    board.wait_for_selector(f"#detail[data-incident='{call['incident_id']}'][data-status=on_scene]", timeout=10_000)
    assert call_sign in board.locator("#detail .timeline").inner_text()
    board.screenshot(path=str(shots / "board-on-scene.png"))
    board.goto(f"{base}/kpis")
    board.wait_for_selector("#kpis[data-status=ready]", timeout=15_000)
    assert int(board.get_attribute("#kpis", "data-arrivals") or 0) >= 1
    assert call_sign in board.locator("#ranking").inner_text()
    assert board.locator("canvas#ch-priority").count() == 1
    board.screenshot(path=str(shots / "kpis.png"), full_page=True)
    phone.close()
    ctx.close()


def test_sms_location_link_once_then_expired(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    r = httpx.post(f"{base}/api/v1/calls", headers=disp, json={
        "type_code": "020100", "address": "报警人说不清的位置", "summary": "有人在门外砸门"})
    if r.status_code == 422:  # the type table may differ: fall back to the first type
        code = httpx.get(f"{base}/api/v1/incident-types", headers=disp).json()[0]["code"]
        r = httpx.post(f"{base}/api/v1/calls", headers=disp, json={"type_code": code, "address": "报警人说不清的位置"})
    assert r.status_code == 201, r.text
    inc = r.json()["incident_id"]

    ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    board = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    # a call without a place waits in its own list ("待定位 / 辖区外"), not in the queue
    board.wait_for_selector(f"#locq li[data-id='{inc}'] .tag.ls-unlocated", timeout=15_000)
    board.click(f"#locq li[data-id='{inc}']")
    board.wait_for_selector(f"#detail[data-incident='{inc}'] #btn-link", timeout=10_000)
    assert "尚无位置" in board.locator("#detail").inner_text()
    board.click("#btn-link")
    board.wait_for_selector("#sms-url", timeout=10_000)
    url = board.locator("#sms-url").inner_text()
    assert "/l/" in url and "110" in board.locator("#sms-text").inner_text()
    board.screenshot(path=str(shots / "board-sms-link.png"))

    caller = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, permissions=["geolocation"],
                                 geolocation={"longitude": 104.0665, "latitude": 30.6570, "accuracy": 20})
    page = caller.new_page()
    page.goto(url)
    assert "发送我的位置" in page.locator("#send").inner_text()
    page.screenshot(path=str(shots / "link.png"))
    page.click("#send")
    page.wait_for_selector("#linkpage[data-status=link_ok]", timeout=15_000)
    assert "民警正在赶来" in page.locator("#result").inner_text()
    page.screenshot(path=str(shots / "link-sent.png"))

    # the board moves the incident onto the map (live) and can now recommend units
    board.wait_for_selector(f"#queue li[data-id='{inc}']:not(:has(.tag.noloc))", timeout=15_000)
    board.wait_for_selector(f"#detail[data-incident='{inc}'] #recs tbody tr", timeout=15_000)

    page.goto(url)  # used once: expired
    page.click("#send")
    page.wait_for_selector("#linkpage[data-status=link_expired]", timeout=15_000)
    assert "已失效" in page.locator("#result").inner_text()

    # English by switch
    page.goto(f"{base}/lang/en")
    page.goto(url)
    assert "Send my location" in page.locator("#send").inner_text()
    caller.close()
    ctx.close()


def test_intake_form_map_click_escalate_and_english(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    page = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    page.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)
    page.click("#rt-intake")
    page.wait_for_selector("#f-type-q[data-ready='1']", state="attached", timeout=10_000)
    page.fill("#f-type-q", "xxzs")  # the type picker: initials of 寻衅滋事/扰乱公共秩序
    page.keyboard.press("Enter")
    assert page.input_value("#f-type") == "020300"
    box = page.locator("#dmap").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the caller's position
    page.wait_for_selector("#f-loc.set", timeout=5_000)
    page.fill("#intake input[name=address]", "地图中心附近")
    page.fill("#intake textarea[name=summary]", "酒吧门口有人闹事")
    page.check("#intake input[name=ongoing]")
    page.screenshot(path=str(shots / "board-intake.png"))
    page.click("#f-submit")
    page.wait_for_selector("#toast:not([hidden])", timeout=10_000)
    assert "已登记" in page.locator("#toast").inner_text(), page.locator("#toast").inner_text()
    page.wait_for_selector("#detail[data-status=open] #recs tbody tr", timeout=15_000)
    inc = page.get_attribute("#detail", "data-incident")
    assert "酒吧门口有人闹事" in page.locator("#detail").inner_text()

    # escalate by hand (the reason is asked for): station → branch; the branch board shows it
    page.once("dialog", lambda d: d.accept("现场聚集人数增多"))
    page.click("#btn-escalate")
    page.wait_for_selector(f"#queue li[data-id='{inc}'] .tag.lv", timeout=10_000)
    page.click("#level-switch button[data-level=branch]")
    page.wait_for_selector(f"#queue li[data-id='{inc}']", timeout=10_000)
    assert "分局" in page.locator(f"#queue li[data-id='{inc}']").inner_text()
    page.click("#level-switch button[data-level=station]")

    # English by switch: the board speaks English
    page.click("#lang-switch")
    page.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    assert "Incident queue" in page.locator(".dsp-left").inner_text()
    page.click(f"#queue li[data-id='{inc}']")
    page.wait_for_selector(f"#detail[data-incident='{inc}'] #recs tbody tr", timeout=15_000)
    assert "Dispatch" in page.locator("#recs").inner_text()
    page.screenshot(path=str(shots / "board-en.png"))
    page.click("#lang-switch")
    ctx.close()


def test_board_falls_back_to_polling_without_the_stream(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.route("**/api/v1/stream", lambda route: route.abort())  # a proxy that kills event streams
    page = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    page.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    page.wait_for_selector("#live[data-mode=polling]", timeout=10_000)
    r = httpx.post(f"{base}/api/v1/calls", headers=token(base, "dispatcher", pw["dispatcher"]), json={
        "type_code": "020400", "address": "轮询测试", "summary": "polling"})
    assert r.status_code == 201, r.text
    page.wait_for_selector(f"#locq li[data-id='{r.json()['incident_id']}']", timeout=15_000)  # ≤ 10 s polling
    ctx.close()
