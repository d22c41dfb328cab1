"""Issue #12 item 6 in real Chromium: a call taken with the keyboard only — Alt+N opens a new call in the
type picker, the type is found by pinyin initials and chosen with ↓ and Enter, Tab walks the form, Ctrl+Enter
stores the call — and the picker finds types by Chinese, pinyin and initials (ADR 0024)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path_factory.mktemp("keys-demo"), "--no-stream") as srv:
        yield srv


def test_keyboard_only_intake_with_the_type_picker(server, browser, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, pw = server
    ctx = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{base}/login?next=/dispatch")
    page.fill("input[name=username]", "calltaker")
    page.fill("input[name=password]", pw["calltaker"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dispatch")
    page.wait_for_selector("#board[data-status=ready]", timeout=30_000)
    page.wait_for_selector("#f-type-q[data-ready='1']", state="attached", timeout=10_000)

    # the picker's search: Chinese, pinyin, initials (ranked), English, nothing
    first = lambda q: page.evaluate("(q) => JW.typePicker.search(q).map((x) => x.name_zh)", q)  # noqa: E731
    assert first("盗窃")[:1] == ["盗窃"] and "入室盗窃" in first("盗窃")
    assert first("daoqie")[0] == "盗窃" and first("dq")[0] == "盗窃"
    assert set(first("dq")) >= {"盗窃", "入室盗窃", "盗窃机动车", "盗窃（治安）"}
    assert first("dj")[0] == "打架斗殴" and first("dajia")[0] == "打架斗殴"
    assert first("DQ ")[0] == "盗窃"  # case and spaces do not matter
    assert first("theft")[:1] and first("zzzzzz") == []

    # keyboard only: Alt+N, type "dq", ↓ (second hit), Enter, Tab through the form, Ctrl+Enter
    page.keyboard.press("Alt+n")
    page.wait_for_selector("#f-type-q:focus", timeout=5_000)  # the pane opens, then the picker takes the focus
    assert page.evaluate("document.activeElement.id") == "f-type-q"
    assert page.locator("#pane-intake").is_visible()
    page.keyboard.type("dq", delay=30)
    page.wait_for_selector("#f-type-list li[data-code]", timeout=5_000)
    hits = page.locator("#f-type-list li[data-code]").all_inner_texts()
    assert "盗窃" in hits[0] and len(hits) >= 5
    page.keyboard.press("ArrowDown")
    second = page.get_attribute("#f-type-list li.on", "data-code")
    page.keyboard.press("Enter")
    assert page.input_value("#f-type") == second and second != ""
    assert page.locator("#f-type-list").is_hidden()
    assert page.evaluate("document.activeElement.name") == "channel"
    page.keyboard.press("Tab")  # accuracy
    page.keyboard.type("40")
    page.keyboard.press("Tab")  # address
    assert page.evaluate("document.activeElement.id") == "f-address"
    page.keyboard.type("键盘测试路 7 号", delay=20)
    page.keyboard.press("Escape")  # close the address suggestions, keep the text
    page.keyboard.press("Tab")  # summary
    assert page.evaluate("document.activeElement.name") == "summary"
    page.keyboard.type("电动车被盗")
    page.keyboard.press("Tab")
    page.keyboard.type("李四")
    page.keyboard.press("Tab")
    page.keyboard.type("13900000000")
    page.screenshot(path=str(shots / "intake-keys.png"))
    page.keyboard.press("Control+Enter")
    # the confirmation is written, though the form may already have folded away for the stored call's detail
    page.wait_for_selector("#f-msg:not(:empty)", state="attached", timeout=15_000)
    assert "已登记" in (page.locator("#f-msg").text_content() or ""), page.locator("#f-msg").text_content()
    # the stored call is shown for dispatch; Alt+N again: an empty form, the focus in the picker
    page.wait_for_selector("#detail[data-status=open]", timeout=15_000)
    page.keyboard.press("Alt+n")
    page.wait_for_selector("#f-type-q:focus", timeout=5_000)
    assert page.input_value("#f-type-q") == "" and page.input_value("#f-type") == ""

    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "calltaker", "password": pw["calltaker"]})
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    inc = httpx.get(f"{base}/api/v1/incidents/{page.get_attribute('#detail', 'data-incident')}", headers=h).json()
    assert (inc["type_code"], inc["summary"], inc["address"]) == (second, "电动车被盗", "键盘测试路 7 号")
    ctx.close()
