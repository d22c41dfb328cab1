"""The board's recommendations name each unit's travel mode (步行 ETA for a foot patrol, 驾车 ETA for a
car; foot / car ETA in English), in real Chromium against `jingwu demo --no-stream`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("modes-demo"), "--no-stream") as srv:
        yield srv


def test_board_names_the_travel_mode(server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    shots = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "dispatcher", "password": pw["dispatcher"]})
    disp = {"Authorization": f"Bearer {r.json()['access_token']}"}
    units = httpx.get(f"{base}/api/v1/units", headers=disp).json()
    foot = next(u for u in units if u["kind"] == "foot_patrol" and u["lon"] is not None)
    # a domestic violence call (run card: a car and a foot patrol) next to a foot patrol's position
    r = httpx.post(f"{base}/api/v1/calls", headers={**disp, "Idempotency-Key": uuid.uuid4().hex}, json={
        "type_code": "021100", "lon": foot["lon"] + 0.0005, "lat": foot["lat"] + 0.0003, "accuracy_m": 20})
    assert r.status_code == 201, r.text
    inc = r.json()["incident_id"]
    recs = httpx.get(f"{base}/api/v1/incidents/{inc}/recommendations?limit=8", headers=disp).json()["units"]
    assert {"foot", "car"} <= {u["travel_mode"] for u in recs}

    for locale, lang, foot_word, car_word in (("zh-CN", "zh", "步行 ETA", "驾车 ETA"), ("en-US", "en", "foot ETA",
                                                                                    "car ETA")):
        ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale=locale)
        page = ctx.new_page()
        page.goto(f"{base}/login?next=/dispatch")
        page.fill("input[name=username]", "dispatcher")
        page.fill("input[name=password]", pw["dispatcher"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/dispatch")
        if lang == "en":
            page.goto(f"{base}/lang/en")
            page.goto(f"{base}/dispatch")
        page.wait_for_selector("#board[data-status=ready]", timeout=30_000)
        page.click(f"#queue li[data-id='{inc}']")
        page.wait_for_selector(f"#detail[data-incident='{inc}'] #recs tbody tr", timeout=15_000)
        text = page.locator("#recs").inner_text()
        assert foot_word in text and car_word in text, text
        page.screenshot(path=str(shots / f"board-travel-modes-{lang}.png"))
        ctx.close()
