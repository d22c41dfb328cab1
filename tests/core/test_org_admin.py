"""Organisation administration through HTTP (``/api/v1/admin``) on SQLite and PostgreSQL: create, update,
deactivate and delete agencies, towns, units and users; scope (a branch admin stays in its branch); in-use
refusal with nothing changed; bad geometry; population; audit entries with before/after and no password."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform import services
from jingwu.platform.container import Container
from support import Org, both_databases, login

pytestmark = both_databases

A = "/api/v1/admin"


def square(lon: float, lat: float, d: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d],
                                                [lon, lat]]]}


BOWTIE = {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.1, 30.7], [104.1, 30.6], [104.0, 30.7],
                                              [104.0, 30.6]]]}


def audit(c: Container, action: str | None = None) -> list[dict[str, Any]]:
    q = ("SELECT action, object_id, detail, actor FROM audit_log" + (" WHERE action=:a" if action else "")
         + " ORDER BY seq")
    with c.engine.connect() as conn:
        return [{"action": r[0], "object_id": r[1], "detail": json.loads(r[2]), "actor": r[3]}
                for r in conn.execute(text(q), {"a": action})]


def count(c: Container, sql: str, **kw: Any) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text(sql), kw).scalar_one())


def err(r: Any, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return str(r.json()["error"]["message"])


@pytest.fixture
def two_branches(container: Container, org: Org) -> dict[str, str]:
    """A second branch with a station, and an admin of the first branch."""
    br2 = services.create_agency(services.CreateAgency("BR2", "第二分局", "branch_bureau", parent_code="CITY"),
                                 uow=container.uow(), actor=None)
    stc = services.create_agency(services.CreateAgency("STC", "丙派出所", "station", parent_code="BR2", lon=104.2,
                                                       lat=30.7), uow=container.uow(), actor=None)
    services.create_user(services.CreateUser("br1admin", "br1admin", "pw-br1admin-1", "BR1", ("admin",)),
                         uow=container.uow(), actor=None)
    return {"br2": br2, "stc": stc}


# ---------------------------------------------------------------- agencies

def test_agency_create_update_deactivate_delete_audited(client: TestClient, org: Org,
                                                         container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    r = client.post(f"{A}/agencies", headers=h, json={"code": "STD", "name": "丁派出所", "kind": "station",
                                                       "parent_id": org.branch, "lon": 104.08, "lat": 30.66,
                                                       "jurisdiction": square(104.07, 30.65, 0.02)})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["active"] and a["path"].endswith(f"/{org.branch}/{a['id']}/") and a["jurisdiction"]["type"] == "Polygon"
    created = audit(container, "agency_created")[-1]
    assert created["object_id"] == a["id"] and created["detail"]["after"]["code"] == "STD"

    r = client.patch(f"{A}/agencies/{a['id']}", headers=h, json={"name": "丁所", "name_en": "Ding Station"})
    assert r.status_code == 200 and r.json()["name"] == "丁所" and r.json()["name_en"] == "Ding Station"
    upd = audit(container, "agency_updated")[-1]["detail"]
    assert upd == {"name": {"before": "丁派出所", "after": "丁所"},
                   "name_en": {"before": None, "after": "Ding Station"}}

    err(client.post(f"{A}/agencies", headers=h, json={"code": "STA", "name": "x", "kind": "station",
                                                      "parent_id": org.branch}), 409, "agency_code_taken")
    err(client.post(f"{A}/agencies", headers=h, json={"code": "ZZ", "name": "x", "kind": "branch_bureau",
                                                      "parent_id": org.branch}), 422, "invalid_agency_tree")
    err(client.post(f"{A}/agencies", headers=h, json={"code": "ZZ", "name": "x", "kind": "station",
                                                      "parent_id": org.branch, "lon": 200, "lat": 30}),
        422, "invalid_position")

    r = client.post(f"{A}/agencies/{a['id']}/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert audit(container, "agency_deactivated")[-1]["detail"] == {"active": {"before": True, "after": False}}
    # nothing refers to it: it can be removed
    assert client.delete(f"{A}/agencies/{a['id']}", headers=h).status_code == 204
    assert count(container, "SELECT count(*) FROM agencies WHERE id=:i", i=a["id"]) == 0
    assert audit(container, "agency_deleted")[-1]["object_id"] == a["id"]


def test_deleting_an_agency_in_use_is_refused_and_nothing_changes(client: TestClient, org: Org,
                                                                   container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    n_audit = len(audit(container))
    msg = err(client.delete(f"{A}/agencies/{org.station_b}", headers=h), 409, "in_use")
    # station B has one unit (B1) and one user (officer_b): both are named
    assert "1 units" in msg and "1 users" in msg and "deactivate" in msg
    assert count(container, "SELECT count(*) FROM agencies WHERE id=:i AND active=:t", i=org.station_b, t=True) == 1
    assert len(audit(container)) == n_audit
    msg = err(client.delete(f"{A}/agencies/{org.branch}", headers=h), 409, "in_use")
    assert "2 sub-agencies" in msg


def test_branch_admin_stays_in_its_branch(client: TestClient, org: Org, container: Container,
                                          two_branches: dict[str, str]) -> None:
    h = login(client, "br1admin", "pw-br1admin-1")
    listed = {a["code"] for a in client.get(f"{A}/agencies", headers=h).json()}
    assert listed == {"BR1", "STA", "STB"}
    stc = two_branches["stc"]
    n_audit = len(audit(container))
    err(client.patch(f"{A}/agencies/{stc}", headers=h, json={"name": "偷改"}), 403, "out_of_scope")
    err(client.post(f"{A}/agencies/{stc}/deactivate", headers=h), 403, "out_of_scope")
    err(client.delete(f"{A}/agencies/{stc}", headers=h), 403, "out_of_scope")
    err(client.post(f"{A}/agencies", headers=h, json={"code": "X1", "name": "x", "kind": "station",
                                                      "parent_id": two_branches["br2"]}), 403, "out_of_scope")
    err(client.post(f"{A}/agencies", headers=h, json={"code": "X2", "name": "x", "kind": "city_bureau"}),
        403, "out_of_scope")
    err(client.post(f"{A}/agencies/{org.branch}/deactivate", headers=h), 403, "out_of_scope")  # its own agency
    err(client.post(f"{A}/units", headers=h, json={"call_sign": "C9", "kind": "patrol_car", "station_id": stc}),
        403, "out_of_scope")
    assert len(audit(container)) == n_audit
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM agencies WHERE id=:i"), {"i": stc}).scalar_one() == "丙派出所"
    # inside its branch it may act
    r = client.post(f"{A}/agencies", headers=h, json={"code": "STE", "name": "戊派出所", "kind": "station",
                                                       "parent_id": org.branch})
    assert r.status_code == 201, r.text
    # a non-admin has no administration at all
    hd = login(client, "disp_a", org.passwords["disp_a"])
    err(client.get(f"{A}/agencies", headers=hd), 403, "missing_role")
    err(client.get(f"{A}/users", headers=hd), 403, "missing_role")


# ---------------------------------------------------------------- towns

def test_town_create_with_boundary_update_deactivate(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    body = {"code": "T1", "name": "甲街道", "agency_id": org.station_a, "population": 52_000,
            "population_note": "2020 census", "geometry": {"type": "Feature", "properties": {},
                                                           "geometry": square(104.06, 30.66, 0.02)}}
    r = client.post(f"{A}/towns", headers=h, json=body)
    assert r.status_code == 201, r.text
    t = r.json()
    # independent area: a 0.02° square at latitude ~30.67 on a sphere of radius 6371.0088 km
    rad = math.radians
    expected = 6371.0088 ** 2 * rad(0.02) * (math.sin(rad(30.68)) - math.sin(rad(30.66)))
    assert t["area_km2"] == pytest.approx(expected, rel=2e-3)
    assert t["geometry"]["type"] == "Polygon" and t["population"] == 52_000 and t["active"]
    assert audit(container, "town_created")[-1]["detail"]["after"]["population"] == 52_000

    err(client.post(f"{A}/towns", headers=h, json={**body, "name": "重复"}), 409, "town_code_taken")
    r = client.patch(f"{A}/towns/{t['id']}", headers=h,
                     json={"population": 60_000, "geometry": square(104.06, 30.66, 0.01)})
    assert r.status_code == 200 and r.json()["area_km2"] == pytest.approx(expected / 4, rel=5e-3)
    det = audit(container, "town_updated")[-1]["detail"]
    assert det["population"] == {"before": 52_000, "after": 60_000}
    assert det["area_km2"]["before"] == pytest.approx(expected, rel=2e-3) and "geometry" in det

    r = client.post(f"{A}/towns/{t['id']}/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    with container.uow() as uow:
        assert t["id"] not in {x.id for x in uow.towns.active()}
        assert t["id"] in {x.id for x in uow.towns.all()}


@pytest.mark.parametrize(("geometry", "needle"), [
    (BOWTIE, "Self-intersection"),
    ({"type": "Point", "coordinates": [104.0, 30.6]}, "Point"),
    ({"type": "LineString", "coordinates": [[104.0, 30.6], [104.1, 30.7]]}, "LineString"),
    ({"type": "Polygon", "coordinates": [[[30.6, 104.0], [30.7, 104.0], [30.7, 104.1], [30.6, 104.0]]]}, "range"),
    ({"type": "Polygon", "coordinates": [[[104.0]]]}, "malformed"),
])
def test_bad_boundary_is_refused_and_nothing_stored(client: TestClient, org: Org, container: Container,
                                                   geometry: dict[str, Any], needle: str) -> None:
    h = login(client, "admin", org.passwords["admin"])
    r = client.post(f"{A}/towns", headers=h, json={"code": "BAD", "name": "坏", "agency_id": org.station_a,
                                                    "population": 10, "geometry": geometry})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_geometry", r.text
    assert needle in r.json()["error"]["message"]
    assert count(container, "SELECT count(*) FROM towns") == 0
    # the same check guards station jurisdictions
    r = client.patch(f"{A}/agencies/{org.station_a}", headers=h, json={"jurisdiction": geometry})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_geometry"


@pytest.mark.parametrize("population", [0, -5])
def test_population_below_one_is_refused(client: TestClient, org: Org, container: Container, population: int) -> None:
    h = login(client, "admin", org.passwords["admin"])
    r = client.post(f"{A}/towns", headers=h, json={"code": "T0", "name": "零", "agency_id": org.station_a,
                                                    "population": population, "geometry": square(104.0, 30.6, 0.01)})
    err(r, 422, "invalid_population")
    assert count(container, "SELECT count(*) FROM towns") == 0


def test_town_with_history_cannot_be_deleted(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    t = client.post(f"{A}/towns", headers=h, json={"code": "T2", "name": "乙街道", "agency_id": org.station_b,
                                                    "population": 9, "geometry": square(104.09, 30.67, 0.02)}).json()
    now = datetime.now(UTC)
    with container.engine.begin() as conn:
        conn.execute(text("INSERT INTO si_incidents (incident_id, occurred_at, day, town_id, type_code, category, "
                          "deaths, injuries, source, received_at) VALUES ('x1', :at, :d, :t, '010100', 'order', 0, 0, "
                          "'test', :at)"), {"at": now, "d": date.today(), "t": t["id"]})
    msg = err(client.delete(f"{A}/towns/{t['id']}", headers=h), 409, "in_use")
    assert "1 Safety Index incident facts" in msg
    assert count(container, "SELECT count(*) FROM towns WHERE id=:i", i=t["id"]) == 1
    # scope: another branch's admin cannot touch it
    services.create_agency(services.CreateAgency("BR9", "九分局", "branch_bureau", parent_code="CITY"),
                           uow=container.uow(), actor=None)
    services.create_user(services.CreateUser("br9admin", "br9admin", "pw-br9admin-1", "BR9", ("admin",)),
                         uow=container.uow(), actor=None)
    h9 = login(client, "br9admin", "pw-br9admin-1")
    err(client.patch(f"{A}/towns/{t['id']}", headers=h9, json={"population": 5}), 403, "out_of_scope")
    assert t["id"] not in {x["id"] for x in client.get(f"{A}/towns", headers=h9).json()}


# ---------------------------------------------------------------- units

def test_unit_create_update_deactivate_delete(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    r = client.post(f"{A}/units", headers=h,
                    json={"call_sign": "A7", "kind": "foot_patrol", "station_id": org.station_a})
    assert r.status_code == 201, r.text
    u = r.json()
    # home position: the station's; travel mode from the kind
    assert (u["home_lon"], u["home_lat"]) == (104.07, 30.67)
    assert u["travel_mode"] == "foot" and u["travel_mode_set"] is None and u["active"]
    r = client.patch(f"{A}/units/{u['id']}", headers=h, json={"travel_mode": "bicycle", "station_id": org.station_b})
    assert r.status_code == 200 and r.json()["travel_mode"] == "bicycle" and r.json()["agency_id"] == org.station_b
    det = audit(container, "unit_updated")[-1]["detail"]
    assert det == {"travel_mode": {"before": None, "after": "bicycle"},
                   "agency_id": {"before": org.station_a, "after": org.station_b}}
    r = client.patch(f"{A}/units/{u['id']}", headers=h, json={"travel_mode": None})
    assert r.json()["travel_mode"] == "foot" and r.json()["travel_mode_set"] is None
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT travel_mode FROM units WHERE id=:i"), {"i": u["id"]}).scalar_one() is None
    # null for a required field is refused, never read as "false": the unit stays active and named
    for body in ({"call_sign": None}, {"active": None}, {"kind": None, "travel_mode": "car"}):
        err(client.patch(f"{A}/units/{u['id']}", headers=h, json=body), 422, "null_value")
    got = client.get(f"{A}/units/{u['id']}", headers=h).json()
    assert got["active"] is True and got["call_sign"] == "A7" and got["travel_mode"] == "foot"
    err(client.patch(f"{A}/agencies/{org.station_a}", headers=h, json={"active": None}), 422, "null_value")

    err(client.post(f"{A}/units", headers=h, json={"call_sign": "A1", "kind": "patrol_car",
                                                   "station_id": org.station_a}), 409, "call_sign_taken")
    err(client.post(f"{A}/units", headers=h, json={"call_sign": "A8", "kind": "patrol_car",
                                                   "station_id": org.station_a, "travel_mode": "boat"}),
        422, "unknown_travel_mode")
    err(client.post(f"{A}/units", headers=h, json={"call_sign": "A8", "kind": "tank", "station_id": org.station_a}),
        422, "unknown_unit_kind")
    err(client.post(f"{A}/units", headers=h, json={"call_sign": "A8", "kind": "patrol_car", "station_id": org.branch}),
        422, "not_a_station")
    assert count(container, "SELECT count(*) FROM units WHERE call_sign='A8'") == 0

    r = client.post(f"{A}/units/{u['id']}/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert audit(container, "unit_deactivated")[-1]["object_id"] == u["id"]
    assert client.delete(f"{A}/units/{u['id']}", headers=h).status_code == 204
    assert audit(container, "unit_deleted")[-1]["detail"]["before"]["call_sign"] == "A7"


# ---------------------------------------------------------------- users

def test_user_roles_agency_disable_and_cached_tokens(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    users = {u["username"]: u for u in client.get(f"{A}/users", headers=h).json()}
    target = users["disp_a"]
    ht = login(client, "disp_a", org.passwords["disp_a"])
    assert client.get("/api/v1/me", headers=ht).status_code == 200  # its principal is now cached

    r = client.patch(f"{A}/users/{target['id']}", headers=h, json={"roles": ["dispatcher", "call_taker"],
                                                                    "agency_id": org.station_b})
    assert r.status_code == 200 and r.json()["roles"] == ["call_taker", "dispatcher"]
    det = audit(container, "user_updated")[-1]["detail"]
    assert det == {"roles": {"before": ["dispatcher"], "after": ["call_taker", "dispatcher"]},
                   "agency_id": {"before": org.station_a, "after": org.station_b}}
    me = client.get("/api/v1/me", headers=ht).json()  # the change is seen at once (cache dropped)
    assert me["roles"] == ["call_taker", "dispatcher"] and me["agency_id"] == org.station_b

    r = client.post(f"{A}/users/{target['id']}/disable", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    err(client.get("/api/v1/me", headers=ht), 401, "invalid_token")
    r = client.post("/api/v1/auth/token", data={"username": "disp_a", "password": org.passwords["disp_a"]})
    assert r.status_code == 401
    assert audit(container, "user_disabled")[-1]["object_id"] == target["id"]
    assert client.post(f"{A}/users/{target['id']}/enable", headers=h).json()["active"] is True
    assert client.get("/api/v1/me", headers=login(client, "disp_a", org.passwords["disp_a"])).status_code == 200

    err(client.patch(f"{A}/users/{target['id']}", headers=h, json={"roles": ["pilot"]}), 422, "unknown_role")
    err(client.patch(f"{A}/users/{target['id']}", headers=h, json={"roles": []}), 422, "unknown_role")
    me_id = users["admin"]["id"]
    err(client.post(f"{A}/users/{me_id}/disable", headers=h), 409, "self_lockout")
    err(client.patch(f"{A}/users/{me_id}", headers=h, json={"roles": ["auditor"]}), 409, "self_lockout")


def test_password_reset_generated_or_given_never_audited(client: TestClient, org: Org, container: Container) -> None:
    h = login(client, "admin", org.passwords["admin"])
    uid = {u["username"]: u["id"] for u in client.get(f"{A}/users", headers=h).json()}["analyst"]
    r = client.post(f"{A}/users/{uid}/password", headers=h, json={})
    temp = r.json()["temporary_password"]
    assert r.status_code == 200 and len(temp) >= 12
    login(client, "analyst", temp)
    assert client.post("/api/v1/auth/token", data={"username": "analyst",
                                                   "password": org.passwords["analyst"]}).status_code == 401
    r = client.post(f"{A}/users/{uid}/password", headers=h, json={"password": "chosen-by-admin"})
    assert r.status_code == 200 and r.json()["temporary_password"] is None
    login(client, "analyst", "chosen-by-admin")
    err(client.post(f"{A}/users/{uid}/password", headers=h, json={"password": "short"}), 422, "weak_password")
    entries = audit(container, "user_password_reset")
    # the second reset ended the session opened with the temporary password
    assert [e["detail"] for e in entries] == [{"generated": True, "sessions_revoked": 0},
                                              {"generated": False, "sessions_revoked": 1}]
    with container.engine.connect() as conn:
        details = " ".join(r[0] for r in conn.execute(text("SELECT detail FROM audit_log")))
    assert temp not in details and "chosen-by-admin" not in details


def test_branch_admin_cannot_manage_users_of_another_branch(client: TestClient, org: Org, container: Container,
                                                             two_branches: dict[str, str]) -> None:
    services.create_user(services.CreateUser("officer_c", "officer_c", "pw-officer-c-1", "STC", ("patrol_officer",)),
                         uow=container.uow(), actor=None)
    ha = login(client, "admin", org.passwords["admin"])
    ids = {u["username"]: u["id"] for u in client.get(f"{A}/users", headers=ha).json()}
    h = login(client, "br1admin", "pw-br1admin-1")
    assert {u["username"] for u in client.get(f"{A}/users", headers=h).json()} == {"br1admin", "disp_a", "officer_b"}
    err(client.post(f"{A}/users/{ids['officer_c']}/disable", headers=h), 403, "out_of_scope")
    err(client.post(f"{A}/users/{ids['officer_c']}/password", headers=h, json={}), 403, "out_of_scope")
    err(client.patch(f"{A}/users/{ids['disp_a']}", headers=h, json={"agency_id": two_branches["stc"]}),
        403, "out_of_scope")
    err(client.post(f"{A}/users/{ids['admin']}/disable", headers=h), 403, "out_of_scope")
    assert count(container, "SELECT count(*) FROM users WHERE active=:t", t=True) == 7  # 5 + br1admin + officer_c
