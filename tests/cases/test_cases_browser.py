"""The public case lookup page in real headless Chromium against a served app: a party enters the case number
and its code and sees status timeline, unit, next step, seized property, masked frozen account and the
redacted decision; a wrong code and an unknown number show the same message; guessing is throttled; no seeded
name, ID number, phone or address on the page; English switch. Also the investigator's case file page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jingwu.app import create_app
from jingwu.platform import services
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from support import SECRET, build_org, free_port, login, make_settings, start_jingwu

from .test_public_lookup import SEEDED, SUSPECT, VICTIM

pytestmark = pytest.mark.browser


def prepare(data_dir: Path) -> dict[str, str]:
    s = make_settings(data_dir.parent, "sqlite").copy_with(data_dir=data_dir)
    c = build_container(s)
    upgrade(c.engine)
    build_org(c)
    services.create_user(services.CreateUser("inv", "inv", "pw-inv-123", "STA", ("investigator",)),
                         uow=c.uow(), actor=None)
    app = create_app(s, c)
    with TestClient(app) as tc:
        h = login(tc, "inv", "pw-inv-123")
        case = tc.post("/api/v1/cases", headers=h, json={"track": "administrative", "title": "殴打他人案"}).json()
        cid = case["id"]
        vid = tc.post(f"/api/v1/cases/{cid}/parties", headers=h, json=VICTIM).json()["id"]
        sid = tc.post(f"/api/v1/cases/{cid}/parties", headers=h, json=SUSPECT).json()["id"]
        tc.post(f"/api/v1/cases/{cid}/transitions", headers=h, json={"to": "investigating", "reason": "立案调查"})
        tc.post(f"/api/v1/cases/{cid}/property", headers=h, json={
            "description": f"{SUSPECT['name']}持有的木棍", "category": "作案工具", "storage_place": "甲所物证室"})
        tc.post(f"/api/v1/cases/{cid}/accounts", headers=h, json={
            "bank": "建设银行", "number": "6227001234567890123", "amount": "3000", "holder_party_id": sid})
        r = tc.post(f"/api/v1/cases/{cid}/decision", headers=h, json={
            "offender_party_id": sid, "facts": f"{SUSPECT['name']}殴打{VICTIM['name']}，致其轻微伤。",
            "legal_basis": "《治安管理处罚法》第五十一条", "penalty": "行政拘留五日", "fine_yuan": "200"})
        assert r.status_code == 201, r.text
        code = tc.post(f"/api/v1/cases/{cid}/parties/{vid}/code", headers=h).json()["code"]
    c.dispose()
    return {"number": case["number"], "code": code, "id": cid}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("cases") / "var"
    data.mkdir()
    seeded = prepare(data)
    port = free_port()
    env = {**os.environ, "JINGWU_DATA_DIR": str(data), "JINGWU_PORT": str(port), "JINGWU_LOG_JSON": "0",
           "JINGWU_SECRET_KEY": SECRET, "JINGWU_CASES_PUBLIC_FAILURES": "3"}
    env.pop("JINGWU_DATABASE_URL", None)
    proc = start_jingwu(["serve"], env, port)
    try:
        yield f"http://127.0.0.1:{port}", seeded
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _lookup(page: Any, number: str, code: str) -> None:
    page.fill("#case-number", number)
    page.fill("#access-code", code)
    page.click("#lookup-go")


def test_public_lookup_page(server: tuple[str, dict[str, str]], browser: Any, shots: Path) -> None:
    base, seeded = server
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    foreign: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(base) else foreign.append(req.url))
    page.goto(f"{base}/case-lookup")
    assert "/login" not in page.url and page.locator("h1").inner_text() == "案件进展查询"
    # wrong code, then unknown number: the same message
    _lookup(page, seeded["number"], "ZZZZZ-ZZZZZ")
    page.wait_for_function("() => !document.getElementById('lookup-error').hidden")
    wrong_code = page.locator("#lookup-error").inner_text()
    page.evaluate("() => { document.getElementById('lookup-error').hidden = true; }")
    _lookup(page, "STA-2030-123456", seeded["code"])
    page.wait_for_function("() => !document.getElementById('lookup-error').hidden")
    assert page.locator("#lookup-error").inner_text() == wrong_code
    # the right pair
    _lookup(page, seeded["number"], seeded["code"])
    page.wait_for_function("() => !document.getElementById('result').hidden")
    assert page.locator("#r-number").inner_text() == seeded["number"]
    assert page.locator("#r-state").inner_text() == "已作出处理决定"
    assert page.locator("#r-unit").inner_text() == "甲派出所"
    assert page.locator("#r-role").inner_text() == "被害人"
    assert "决定书送达被侵害人" in page.locator("#r-next").inner_text()
    assert page.locator("#r-timeline li").count() == 3
    assert "作案工具" in page.locator("#r-property").inner_text()
    assert "**** 0123" in page.locator("#r-accounts").inner_text()
    assert "行政拘留五日" in page.locator("#r-decision").inner_text()
    html = page.content()
    for s in [*SEEDED, "6227001234567890123", "甲所物证室"]:
        assert s not in html, s
    page.screenshot(path=str(shots / "cases_public_zh.png"), full_page=True)
    # English
    page.click("#lang-switch")
    page.wait_for_selector("#lookup-form")
    assert page.locator("h1").inner_text() == "Case progress lookup"
    _lookup(page, seeded["number"], seeded["code"])
    page.wait_for_function("() => !document.getElementById('result').hidden")
    assert page.locator("#r-state").inner_text() == "Decision made"
    assert page.locator("#r-role").inner_text() == "Victim"
    page.screenshot(path=str(shots / "cases_public_en.png"), full_page=True)
    assert not foreign
    page.close()


def test_guessing_on_the_page_is_throttled(server: tuple[str, dict[str, str]], browser: Any) -> None:
    base, _seeded = server
    page = browser.new_page()
    page.goto(f"{base}/case-lookup")
    codes = []
    for i in range(5):
        page.evaluate("() => { const e = document.getElementById('lookup-error'); "
                      "e.hidden = true; e.dataset.code = ''; }")
        _lookup(page, "STB-2026-000009", f"AAAAA-{i:05d}")
        page.wait_for_function("() => !document.getElementById('lookup-error').hidden")
        codes.append(page.get_attribute("#lookup-error", "data-code"))
    assert codes[:3] == ["no_match"] * 3 and codes[-1] == "rate_limited"
    page.close()


def test_case_file_page(server: tuple[str, dict[str, str]], browser: Any, shots: Path) -> None:
    base, seeded = server
    ctx = browser.new_context(viewport={"width": 1300, "height": 1400})
    page = ctx.new_page()
    page.goto(f"{base}/login?next=/cases")
    page.fill("input[name=username]", "inv")
    page.fill("input[name=password]", "pw-inv-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases")
    assert seeded["number"] in page.locator("#case-list").inner_text()
    page.click(f"text={seeded['number']}")
    page.wait_for_selector("#deadlines")
    assert "送达处罚决定书" in page.locator("#deadlines").inner_text()
    # the next step from the page: penalty executed
    page.fill("form[data-op=transition] input[name=reason]", "罚款已缴纳，拘留执行完毕")
    page.click("form[data-op=transition] button")
    page.wait_for_function("() => document.getElementById('state').textContent.includes('处罚已执行')")
    page.screenshot(path=str(shots / "cases_file_zh.png"), full_page=True)
    ctx.close()
