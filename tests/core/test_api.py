"""The HTTP contract: authentication, role and agency scope, the error shape,
OpenAPI, health and metrics. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform.container import Container
from support import METRICS, Org, both_databases, login, page_login

pytestmark = both_databases


def assert_error(r, status: int, code: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


def test_health_is_public(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


def test_metrics_are_prometheus_text_behind_their_token(client: TestClient) -> None:
    client.get("/healthz")
    assert_error(client.get("/metrics"), 401, "metrics_token")
    assert_error(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "metrics_token")
    r = client.get("/metrics", headers=METRICS)
    assert r.status_code == 200
    assert "jingwu_http_requests_total" in r.text and 'route="/healthz"' in r.text


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/agencies", "/api/v1/units", "/api/v1/towns",
                                  "/api/v1/audit", "/api/v1/users", "/api/v1/map/roads"])
def test_api_needs_a_token(client: TestClient, org: Org, path: str) -> None:
    assert_error(client.get(path), 401, "not_authenticated")


def test_every_api_route_is_protected_except_public_ones(client: TestClient, org: Org) -> None:
    public = {"/api/v1/auth/token"}
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1") or path in public or path.startswith("/api/v1/public"):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}:
            concrete = path.replace("{", "").replace("}", "")
            if "_id" in path:
                concrete = path.split("{")[0] + str(uuid.uuid4())
            r = client.request(method, concrete)
            assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a token"


def test_wrong_password_is_401_and_audited(client: TestClient, org: Org, container: Container) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope-nope"})
    assert_error(r, 401, "invalid_credentials")
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action='login_failed'")).scalar_one() == 1


def test_unknown_user_is_the_same_401(client: TestClient, org: Org) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "whatever1"})
    assert_error(r, 401, "invalid_credentials")


def test_token_grants_access_and_expires(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    me = client.get("/api/v1/me", headers=h)
    assert me.status_code == 200 and me.json()["roles"] == ["admin"]
    container.clock.advance(minutes=container.settings.token_ttl_minutes + 1)  # type: ignore[attr-defined]
    assert_error(client.get("/api/v1/me", headers=h), 401, "token_expired")


def test_a_user_removed_after_its_principal_was_cached_is_401(client: TestClient, org: Org,
                                                              container: Container) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    assert client.get("/api/v1/me", headers=h).status_code == 200  # the principal is now cached
    with container.engine.begin() as conn:
        conn.execute(text("DELETE FROM auth_sessions WHERE user_id IN "
                          "(SELECT id FROM users WHERE username = 'analyst')"))
        conn.execute(text("DELETE FROM users WHERE username = 'analyst'"))
    assert_error(client.get("/api/v1/me", headers=h), 401, "invalid_token")


def test_garbage_token_is_401(client: TestClient, org: Org) -> None:
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer abc.def"}), 401, "invalid_token")


def test_missing_role_is_403(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    assert_error(client.get("/api/v1/audit", headers=h), 403, "missing_role")
    assert_error(client.get("/api/v1/users", headers=h), 403, "missing_role")


def test_station_a_user_cannot_read_station_b_objects(client: TestClient, org: Org) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    assert client.get(f"/api/v1/units/{org.unit_a}", headers=h).status_code == 200
    assert_error(client.get(f"/api/v1/units/{org.unit_b}", headers=h), 403, "out_of_scope")
    assert_error(client.get(f"/api/v1/agencies/{org.station_b}", headers=h), 403, "out_of_scope")
    listed = {u["id"] for u in client.get("/api/v1/units", headers=h).json()}
    assert listed == {org.unit_a}
    agencies = {a["id"] for a in client.get("/api/v1/agencies", headers=h).json()}
    assert agencies == {org.station_a}


def test_city_user_sees_the_whole_tree(client: TestClient, org: Org) -> None:
    h = login(client, "admin", org.passwords["admin"])
    assert {u["id"] for u in client.get("/api/v1/units", headers=h).json()} == {org.unit_a, org.unit_b}


def test_malformed_and_unknown_ids(client: TestClient, org: Org) -> None:
    h = login(client, "admin", org.passwords["admin"])
    assert_error(client.get("/api/v1/units/not-a-uuid", headers=h), 422, "validation_error")
    assert_error(client.get(f"/api/v1/units/{uuid.uuid4()}", headers=h), 404, "not_found")


def test_create_user_checks_role_scope_and_input(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    body = {"username": "newdisp", "display_name": "新调度", "password": "longpassword",
            "agency_code": "STB", "roles": ["dispatcher"], "reason": "onboarding"}
    r = client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["roles"] == ["dispatcher"]
    assert_error(client.post("/api/v1/users", json=body, headers=h), 409, "username_taken")
    assert_error(client.post("/api/v1/users", json={**body, "username": "xx2", "roles": ["wizard"]}, headers=h),
                 422, "unknown_role")
    assert_error(client.post("/api/v1/users", json={**body, "password": "short"}, headers=h), 422)
    login(client, "newdisp", "longpassword")
    hd = login(client, "disp_a", org.passwords["disp_a"])
    assert_error(client.post("/api/v1/users", json={**body, "username": "xx3"}, headers=hd), 403, "missing_role")
    with container.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM users WHERE username IN ('xx2','xx3')")).scalar_one()
    assert n == 0


def test_cookie_writes_need_the_csrf_header(client: TestClient, org: Org) -> None:
    r = page_login(client, "admin", org.passwords["admin"])
    assert r.status_code == 303
    body = {"username": "viacookie", "display_name": "c", "password": "longpassword", "agency_code": "STA",
            "roles": ["analyst"]}
    assert_error(client.post("/api/v1/users", json=body), 403, "csrf")
    assert client.post("/api/v1/users", json=body, headers={"X-Jingwu-CSRF": "1"}).status_code == 201


def test_auditor_reads_the_log_and_verifies(client: TestClient, org: Org) -> None:
    h = login(client, "auditor", org.passwords["auditor"])
    rows = client.get("/api/v1/audit?limit=5", headers=h).json()
    assert len(rows) == 5 and rows[0]["seq"] > rows[-1]["seq"]
    v = client.get("/api/v1/audit/verify", headers=h).json()
    assert v["ok"] is True and v["entries"] > 5


def test_openapi_documents_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "ErrorBody" in spec["components"]["schemas"]
    op = spec["paths"]["/api/v1/units/{unit_id}"]["get"]
    assert op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "/api/v1/auth/token" in spec["paths"]
    # every authenticated operation documents the errors the middleware and policy can answer
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/public") or path == "/api/v1/auth/token":
            continue
        for method, op in ops.items():
            for status in ("400", "401", "403", "413", "422", "429"):
                assert status in op["responses"], (method, path, status)


def test_unknown_route_uses_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nope"), 404, "not_found")


def test_role_changes_take_effect_on_the_next_request(client: TestClient, org: Org,
                                                     container: Container) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    assert client.get("/api/v1/audit", headers=h).status_code == 403  # the principal is now cached
    with container.uow() as uow:  # what the administration API does: the store bumps auth_version
        uid = uow.users.by_username("analyst").id  # type: ignore[union-attr]
        uow.users.update(uid, {"roles": ["auditor"]})
        uow.commit()
    assert client.get("/api/v1/audit", headers=h).status_code == 200  # no waiting for a cache to expire
