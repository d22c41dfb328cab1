"""Server-rendered pages: login flow with the session cookie, language switch,
module navigation, the audit page's chain status."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform.container import Container
from support import Org


def page_login(client: TestClient, user: str, pw: str) -> None:
    r = client.post("/login", data={"username": user, "password": pw, "next": "/map"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/map"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_pages_redirect_to_login(client: TestClient) -> None:
    r = client.get("/map", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_page_is_chinese_by_default_and_english_on_switch(client: TestClient) -> None:
    zh = client.get("/login").text
    assert 'lang="zh-CN"' in zh and "登录" in zh
    en = client.get("/login?lang=en").text
    assert 'lang="en"' in en and "Log in" in en
    client.get("/lang/en", headers={"referer": "http://testserver/login"})
    assert 'lang="en"' in client.get("/login").text


def test_wrong_password_shows_message_and_sets_no_cookie(client: TestClient, org: Org) -> None:
    r = client.post("/login", data={"username": "admin", "password": "bad-password"}, follow_redirects=False)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert "set-cookie" not in r.headers


def test_open_redirect_is_refused(client: TestClient, org: Org) -> None:
    r = client.post("/login", data={"username": "admin", "password": org.passwords["admin"],
                                    "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_shell_lists_every_module_and_coming_pages(client: TestClient, org: Org) -> None:
    page_login(client, "analyst", org.passwords["analyst"])
    html = client.get("/map").text
    for slug in ["dispatch", "incidents", "safety-index", "cases", "exchange", "planning", "simulation"]:
        assert f'data-module="{slug}"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "//unpkg" not in html and "cdn" not in html.lower()
    assert "建设中" in client.get("/m/cases").text
    assert client.get("/m/nope").status_code == 404
    assert "审计日志" not in html  # analysts do not see the audit link
    assert client.get("/admin/audit").status_code == 403


def test_audit_page_shows_a_broken_chain(client: TestClient, org: Org, container: Container) -> None:
    page_login(client, "auditor", org.passwords["auditor"])
    assert "哈希链完整" in client.get("/admin/audit").text
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action='nothing' WHERE seq=2"))
    html = client.get("/admin/audit").text
    assert "哈希链被破坏" in html and "#2" in html


def test_logout_clears_the_session(client: TestClient, org: Org) -> None:
    page_login(client, "analyst", org.passwords["analyst"])
    assert client.get("/map", follow_redirects=False).status_code == 200
    client.get("/logout")
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_safety_index_page_says_when_its_data_is_a_demo(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jingwu.app import create_app
    from jingwu.platform.container import build_container
    from jingwu.platform.db import upgrade
    from support import make_settings

    assert 'id="demo-notice"' not in client.get("/safety-index").text
    s = make_settings(tmp_path / "demo", "sqlite", demo_mode=True)
    c = build_container(s)
    upgrade(c.engine)
    with TestClient(create_app(s, c)) as demo_client:
        html = demo_client.get("/safety-index").text
    c.dispose()
    assert 'id="demo-notice"' in html and "演示数据" in html
