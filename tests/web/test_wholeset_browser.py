"""Issue #12 items 3 and 4 in real Chromium over `jingwu demo --no-stream`: the dispatcher sends the run
card's required set (two patrol cars) with one click and both assignments carry an ETA; a consultation
call shows no recommendations and closes without units with a reason; an incident closed short of its set
raises the board alert, in English too. Screenshots go to $JINGWU_SCREENSHOT_DIR when set."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import bearer as token
from support import browser_login as login
from support import demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("wholeset-demo"), "--no-stream") as srv:
        yield srv


def new_call(base: str, h: dict[str, str], type_code: str, **extra: Any) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/v1/calls", headers={**h, "Idempotency-Key": uuid.uuid4().hex}, json={
        "type_code": type_code, "lon": 104.0657, "lat": 30.6598, "accuracy_m": 25, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def open_board(browser: Any, base: str, pw: dict[str, str], lang: str = "zh-CN") -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale=lang)
    board = login(ctx, base, "dispatcher", pw["dispatcher"], "/dispatch")
    if lang == "en":
        board.goto(f"{base}/dispatch?lang=en")
    board.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    return ctx, board


def test_dispatcher_sends_the_required_set_with_one_click(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    call = new_call(base, disp, "010600", address="测试路 12 号", summary="入室盗窃")  # run card: two patrol cars
    iid = call["incident_id"]
    ctx, board = open_board(browser, base, pw)
    board.wait_for_selector(f"#queue li[data-id='{iid}']", timeout=15_000)
    board.click(f"#queue li[data-id='{iid}']")
    board.wait_for_selector(f"#detail[data-incident='{iid}'] #ws-send-set", timeout=15_000)
    assert "巡逻车×2" in board.locator("#ws-set").inner_text()
    board.screenshot(path=str(shots / "wholeset-board-before.png"))
    board.click("#ws-send-set")
    board.wait_for_selector("#toast:not([hidden])", timeout=10_000)
    assert "已派出" in board.locator("#toast").inner_text()
    board.wait_for_selector(f"#detail[data-incident='{iid}'] #ws-set[data-missing='0']", timeout=15_000)
    inc = httpx.get(f"{base}/api/v1/incidents/{iid}", headers=disp).json()
    asgs = [a for a in inc["assignments"] if a["active"]]
    assert len(asgs) == 2 and all(a["eta_seconds"] and a["route_metres"] for a in asgs)
    assert board.locator("#detail ul.asg li").count() == 2
    assert "ETA" in board.locator("#detail ul.asg").inner_text()
    board.screenshot(path=str(shots / "wholeset-board-sent.png"))
    # the set is complete: the server says so too
    r = httpx.post(f"{base}/api/v1/incidents/{iid}/dispatch-set", headers=disp)
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_missing"
    ctx.close()


def test_consultation_closes_without_units(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    iid = new_call(base, disp, "120100", handling="consultation", summary="咨询户籍办理")["incident_id"]
    ctx, board = open_board(browser, base, pw)
    board.wait_for_selector(f"#queue li[data-id='{iid}'] .tag.ws-h[data-handling=consultation]", timeout=15_000)
    board.click(f"#queue li[data-id='{iid}']")
    board.wait_for_selector(f"#detail[data-incident='{iid}'] #ws-withheld", timeout=15_000)
    assert board.locator("#detail #recs").count() == 0 and not board.locator("#detail .runcard").is_visible()
    assert board.locator("#f-handling option").count() == 4  # the call-taker form offers the handling too
    assert board.locator("#detail #ws-override").count() == 0  # never overridden for a consultation here
    board.screenshot(path=str(shots / "wholeset-consultation.png"))
    board.once("dialog", lambda d: d.accept("已电话解答"))
    board.click("#ws-close")
    board.wait_for_selector(f"#detail[data-incident='{iid}'][data-status=closed]", timeout=15_000)
    inc = httpx.get(f"{base}/api/v1/incidents/{iid}", headers=disp).json()
    assert inc["status"] == "closed" and inc["disposition"] == "consultation" and inc["assignments"] == []
    ctx.close()


def test_closed_short_alert_in_english(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    disp = token(base, "dispatcher", pw["dispatcher"])
    iid = new_call(base, disp, "010600")["incident_id"]
    recs = httpx.get(f"{base}/api/v1/incidents/{iid}/recommendations", headers=disp).json()["units"]
    unit = next(u["unit_id"] for u in recs if u["kind"] == "patrol_car")
    assert httpx.post(f"{base}/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=disp).is_success
    for st in ("acknowledged", "en_route", "on_scene", "cleared"):
        r = httpx.post(f"{base}/api/v1/units/{unit}/status", json={"status": st}, headers=disp)
        assert r.status_code == 200, r.text
    assert httpx.post(f"{base}/api/v1/units/{unit}/feedback", json={"text": "已处理"}, headers=disp).status_code == 204
    ctx, board = open_board(browser, base, pw, "en")
    li = board.wait_for_selector("#alerts li.k-closed_short", timeout=15_000)
    assert "Closed short" in li.inner_text()
    board.wait_for_selector("#alerts li.k-closed_short .amsg[data-ws]", timeout=5_000)
    assert "Closed with 1 of 2 required units on scene" in li.inner_text()
    board.screenshot(path=str(shots / "wholeset-closed-short-en.png"))
    ctx.close()
