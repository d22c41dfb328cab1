"""Server-rendered pages: login flow with the session cookie, language switch,
module navigation, the audit page's chain status."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.app import create_app
from jingwu.features import FEATURES
from jingwu.platform.container import Container
from jingwu.platform.feature import Feature, NavEntry
from support import Org
from support import page_login as form_login


def page_login(client: TestClient, user: str, pw: str) -> None:
    r = form_login(client, user, pw)
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
    r = form_login(client, "admin", "bad-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert "jingwu_session" not in r.headers.get("set-cookie", "")


def test_open_redirect_is_refused(client: TestClient, org: Org) -> None:
    r = form_login(client, "admin", org.passwords["admin"], next="//evil.example/")
    assert r.headers["location"] == "/"


def test_shell_lists_every_module_and_coming_pages(client: TestClient, org: Org) -> None:
    page_login(client, "analyst", org.passwords["analyst"])
    html = client.get("/map").text
    for slug in ["dispatch", "incidents", "safety-index", "cases", "exchange", "planning", "simulation"]:
        assert f'data-module="{slug}"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "//unpkg" not in html and "cdn" not in html.lower()
    for slug in ("cases", "exchange", "planning", "simulation"):  # every announced module is built now
        assert client.get(f"/m/{slug}", follow_redirects=False).headers["location"] == f"/{slug}"
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
    html = client.get("/map").text
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    client.post("/logout", data={"csrf": m.group(1)})
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


def test_login_form_needs_its_csrf_token(client: TestClient, org: Org) -> None:
    """A login posted without the form's token (or with another one) is refused and logs nobody in."""
    bare = client.post("/login", data={"username": "admin", "password": org.passwords["admin"]},
                       follow_redirects=False)
    assert bare.status_code == 403 and "jingwu_session" not in bare.headers.get("set-cookie", "")
    client.get("/login")  # now the browser has the cookie, but the form field is forged
    forged = client.post("/login", data={"username": "admin", "password": org.passwords["admin"],
                                         "csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and "表单已过期" in forged.text
    assert form_login(client, "admin", org.passwords["admin"]).status_code == 303


def test_logout_is_a_post_with_the_page_token_and_ends_the_session(client: TestClient, org: Org) -> None:
    page_login(client, "analyst", org.passwords["analyst"])
    html = client.get("/map").text
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token and 'action="/logout"' in html
    stolen = client.cookies.get("jingwu_session")
    assert client.get("/logout", follow_redirects=False).status_code == 405  # a link cannot log anyone out
    assert client.post("/logout", data={"csrf": "x"}, follow_redirects=False).status_code == 403
    assert client.get("/map", follow_redirects=False).status_code == 200  # still in
    r = client.post("/logout", data={"csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # the old cookie, replayed, no longer works: the session was ended server-side
    client.cookies.set("jingwu_session", stolen or "")
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_every_response_carries_the_security_headers(client: TestClient, org: Org) -> None:
    """CSP without inline or foreign scripts and no framing, nosniff, referrer policy; no-store except static."""
    page_login(client, "analyst", org.passwords["analyst"])
    for path in ["/login", "/map", "/api/v1/me", "/healthz", "/api/v1/nope"]:
        r = client.get(path, headers={"X-Jingwu-CSRF": "1"})
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY", path
        assert r.headers["cache-control"] == "no-store", path
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and css.headers.get("cache-control") != "no-store"
    assert css.headers["x-content-type-options"] == "nosniff"


def test_metrics_without_a_token_serve_only_the_loopback_address(container: Container) -> None:
    from jingwu.app import create_app

    settings = container.settings.model_copy(update={"metrics_token": None})
    app = create_app(settings, container)
    with TestClient(app, client=("203.0.113.9", 5555)) as remote:
        r = remote.get("/metrics")
        assert r.status_code == 403 and r.json()["error"]["code"] == "metrics_loopback_only"
    with TestClient(app, client=("127.0.0.1", 5555)) as local:
        assert local.get("/metrics").status_code == 200


def test_secret_path_parameters_never_reach_the_request_log() -> None:
    from jingwu.platform.http import _loggable_path

    scope = {"path": "/l/Zq3-secret-token", "path_params": {"token": "Zq3-secret-token"}}
    assert _loggable_path(scope) == "/l/***"
    assert _loggable_path({"path": "/api/v1/me", "path_params": {}}) == "/api/v1/me"


def test_an_announced_module_without_its_package_shows_a_coming_page(container: Container, org: Org) -> None:
    """A module announced in the navigation before its package exists ("coming") gets a placeholder page."""
    coming = Feature(name="coming", nav=(NavEntry("patrol-boats", "nav_exchange", order=95, ready=False,
                                                  labels=(("zh-CN", "水上巡逻"), ("en", "Boat patrols"))),))
    app = create_app(container.settings, container, features=(*FEATURES, coming))
    with TestClient(app) as client:
        page_login(client, "analyst", org.passwords["analyst"])
        assert 'data-module="patrol-boats"' in client.get("/map").text
        r = client.get("/m/patrol-boats", follow_redirects=False)
        assert r.status_code == 200 and "建设中" in r.text
