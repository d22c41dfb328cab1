"""Issue #11 item 5 in real Chromium on `jingwu demo`: calls outside the served area and calls without a
place are listed apart on the board ("待定位 / 辖区外"), a call-taker places one by typed coordinates and one
by a click on the map (both then join the queue), and transfers another to an outside agency (pending,
then accepted: it leaves the board, closed as "transferred"). The KPI page offers the officer-initiated rule.
Screenshots go to $JINGWU_SCREENSHOT_DIR when set, else the test's tmp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jingwu.platform.settings import PACKAGE_DIR
from support import GRAPH_DIR, REPO, demo_server

pytestmark = pytest.mark.browser
CENTRE = (104.0657, 30.6598)
OUT = (104.5957, 30.6598)  # about 50 km east: outside the demo's served area
SEATTLE = REPO / "tests" / "data" / "seattle" / "spd_calls_denny_blaine_2018-2023_full_schema.csv"
SEATTLE_MAP = PACKAGE_DIR / "data" / "mappings" / "seattle-spd-calls.yaml"


DATA: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    DATA["dir"] = tmp_path_factory.mktemp("calls-demo")
    with demo_server(DATA["dir"], "--no-stream") as srv:
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


def call(base: str, h: dict[str, str], **body: Any) -> str:
    r = httpx.post(f"{base}/api/v1/calls", headers=h, json={"type_code": "020200", **body})
    assert r.status_code == 201, r.text
    return str(r.json()["incident_id"])


def test_board_lists_calls_without_a_place_and_locates_or_transfers_them(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    h = token(base, "calltaker", pw["calltaker"])
    out1 = call(base, h, lon=OUT[0], lat=OUT[1], address="简阳市某镇", summary="报警人称在邻市高速出口")
    out2 = call(base, h, type_code="030200", lon=OUT[0] + 0.02, lat=OUT[1], address="资阳境内")
    unloc = call(base, h, address="说不清的某个小区")
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    board = login(ctx, base, "calltaker", pw["calltaker"], "/dispatch")
    board.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    board.wait_for_selector("#dmap[data-status=ready]", timeout=30_000)
    for iid in (out1, out2, unloc):  # in their own list, not in the queue
        board.wait_for_selector(f"#locq li[data-id='{iid}']", timeout=15_000)
        assert board.locator(f"#queue li[data-id='{iid}']").count() == 0
    assert board.locator(f"#locq li[data-id='{out1}'] .tag.ls-outside_area").inner_text() == "辖区外"
    assert board.locator(f"#locq li[data-id='{unloc}'] .tag.ls-unlocated").inner_text() == "待定位"
    # an outside call: the hint, the reported position, the actions
    board.click(f"#locq li[data-id='{out1}']")
    board.wait_for_selector(f"#detail[data-incident='{out1}'] #locbox", timeout=10_000)
    text = board.locator("#locbox").inner_text()
    assert "辖区外" in text and f"{OUT[0]:.5f}" in text
    board.screenshot(path=str(shots / "board-outside-area.png"))
    # typed coordinates put it inside: it joins the queue with recommendations for a dispatcher
    board.fill("#loc-coords", f"{CENTRE[0]}, {CENTRE[1]}")
    board.click("#btn-coords")
    board.wait_for_selector(f"#queue li[data-id='{out1}']", timeout=10_000)
    assert board.locator(f"#locq li[data-id='{out1}']").count() == 0
    inc = httpx.get(f"{base}/api/v1/incidents/{out1}", headers=h).json()
    assert inc["location_status"] == "located" and inc["snapped_lon"] is not None
    # the unlocated call: a click on the map (its centre, on the demo's roads)
    board.click(f"#locq li[data-id='{unloc}']")
    board.wait_for_selector(f"#detail[data-incident='{unloc}'] #btn-locate", timeout=10_000)
    board.click("#btn-locate")
    assert board.locator("#pickhint").is_visible()
    box = board.locator("#dmap").bounding_box()
    spot = (CENTRE[0] + 0.006, CENTRE[1] + 0.004)  # on 人民南路's neighbourhood roads, clear of markers
    px = board.evaluate("([lat, lon]) => { const p = JW.board.map.latLngToContainerPoint([lat, lon]); "
                        "return [p.x, p.y]; }", [spot[1], spot[0]])
    board.mouse.click(box["x"] + px[0], box["y"] + px[1])
    board.wait_for_selector(f"#locq li[data-id='{unloc}']", state="detached", timeout=10_000)
    placed = httpx.get(f"{base}/api/v1/incidents/{unloc}", headers=h).json()
    assert placed["location_status"] == "located"
    assert abs(placed["lon"] - spot[0]) < 2e-4 and abs(placed["lat"] - spot[1]) < 2e-4  # where it was clicked
    # the second outside call: transfer to an outside agency, then its answer
    board.click(f"#locq li[data-id='{out2}']")
    board.wait_for_selector(f"#detail[data-incident='{out2}'] #xfer-form", timeout=10_000)
    board.fill("#xfer-name", "资阳市公安局110指挥中心")
    board.fill("#xfer-phone", "028-26000110")
    board.screenshot(path=str(shots / "board-transfer-form.png"))
    board.click("#xfer-submit")
    board.wait_for_selector("#xfer-pending [data-outcome=accepted]", timeout=10_000)
    assert "资阳市公安局110指挥中心" in board.locator("#xfer-pending").inner_text()
    board.wait_for_selector(f"#locq li[data-id='{out2}'] .tag.xfer", timeout=10_000)
    board.screenshot(path=str(shots / "board-transfer-pending.png"))
    board.click("#xfer-pending [data-outcome=accepted]")
    board.wait_for_selector(f"#locq li[data-id='{out2}']", state="detached", timeout=10_000)
    inc = httpx.get(f"{base}/api/v1/incidents/{out2}", headers=h).json()
    assert inc["status"] == "closed" and inc["disposition"] == "transferred"
    assert [e["kind"] for e in inc["timeline"]][-3:] == ["transfer_requested", "transfer_accepted", "closed"]
    # in English
    en = ctx.new_page()
    en.goto(f"{base}/dispatch?lang=en")
    en.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    assert "To locate / outside the area" in en.locator(".dsp-left").inner_text()
    ctx.close()
    # historical calls imported from the command line while the server runs: the KPI page shows them
    env = {**os.environ, "JINGWU_DATA_DIR": str(DATA["dir"]), "JINGWU_GRAPH_DIR": str(GRAPH_DIR)}
    env.pop("JINGWU_DATABASE_URL", None)
    done = subprocess.run([str(Path(sys.executable).parent / "jingwu"), "calls", "import", str(SEATTLE),
                           "--mapping", str(SEATTLE_MAP)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "stored 222" in done.stdout
    # the KPI page (a dispatcher's) with the officer-initiated rule
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    k = login(ctx, base, "dispatcher", pw["dispatcher"], "/kpis")
    k.wait_for_selector("#kpis[data-status=ready]", timeout=30_000)
    assert k.locator("#oi button.on").inner_text() == "不含主动发现"
    with k.expect_response(lambda r: "/api/v1/kpis" in r.url):
        k.click("#range button[data-days='36500']")
    k.wait_for_selector("#kpis[data-incidents='225']", timeout=10_000)  # 3 live calls + 222 imported
    without = int(k.get_attribute("#kpis", "data-arrivals") or 0)
    with k.expect_response(lambda r: "officer_initiated=include" in r.url):
        k.click("#oi button[data-oi=include]")
    k.wait_for_function(f"() => document.getElementById('kpis').dataset.arrivals !== '{without}'", timeout=10_000)
    assert "导入 222" in k.locator("#kpi-counts").inner_text()
    k.screenshot(path=str(shots / "kpis-officer-initiated.png"))
    ctx.close()
