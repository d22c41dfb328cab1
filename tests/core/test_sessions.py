"""Server-side sessions (#13 item 2): logout revokes a token everywhere, a page cookie is not a bearer token,
and a disabled user or changed roles take effect on the very next request, in another process too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from jingwu.app import create_app
from jingwu.platform.container import Container, build_container
from support import Org, login, page_login


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text


def test_api_logout_revokes_the_token(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    other = login(client, "analyst", org.passwords["analyst"])  # a second session of the same user
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert_error(client.get("/api/v1/me", headers=h), 401, "session_revoked")
    assert client.get("/api/v1/me", headers=other).status_code == 200  # only that session ended


def test_the_session_cookie_is_not_a_bearer_token(client: TestClient, org: Org) -> None:
    assert page_login(client, "analyst", org.passwords["analyst"]).status_code == 303
    cookie = client.cookies.get("jingwu_session")
    client.cookies.clear()
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"}), 401, "wrong_token_kind")
    # and an API token set as the cookie is no page session either
    api_token = login(client, "analyst", org.passwords["analyst"])["Authorization"][7:]
    client.cookies.set("jingwu_session", api_token)
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_disable_and_role_change_apply_on_the_next_request_in_another_process(
        client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    admin = login(client, "admin", org.passwords["admin"])
    # a second process on the same database, which has already cached the analyst
    other_c = build_container(container.settings, clock=container.clock)
    with TestClient(create_app(other_c.settings, other_c)) as other:
        assert other.get("/api/v1/me", headers=h).json()["roles"] == ["analyst"]
        uid = other.get("/api/v1/me", headers=h).json()["id"]
        r = client.patch(f"/api/v1/admin/users/{uid}", json={"roles": ["analyst", "auditor"]}, headers=admin)
        assert r.status_code == 200, r.text
        assert sorted(other.get("/api/v1/me", headers=h).json()["roles"]) == ["analyst", "auditor"]
        assert client.post(f"/api/v1/admin/users/{uid}/disable", headers=admin).status_code == 200
        assert_error(other.get("/api/v1/me", headers=h), 401, "invalid_token")
    other_c.engine.dispose()


def test_a_password_reset_ends_the_users_sessions(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    admin = login(client, "admin", org.passwords["admin"])
    uid = client.get("/api/v1/me", headers=h).json()["id"]
    r = client.post(f"/api/v1/admin/users/{uid}/password", json={"password": "a-brand-new-password"}, headers=admin)
    assert r.status_code in (200, 204), r.text
    assert_error(client.get("/api/v1/me", headers=h), 401, "session_revoked")
    assert client.get("/api/v1/me", headers=login(client, "analyst", "a-brand-new-password")).status_code == 200
