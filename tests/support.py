"""Test support: settings on a temporary SQLite file or the local PostgreSQL,
a small organisation (two stations), login helper, the both-databases marker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PG_URL = os.environ.get("JINGWU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-" + "x" * 20
# One compiled road graph for the whole run (built on first use; rebuilt only when the OSM file changes).
GRAPH_DIR = Path(os.environ.get("JINGWU_TEST_GRAPH_DIR", "/tmp/jingwu-test-graphs"))


class StepClock:
    """Real-looking time that tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def make_settings(tmp_path: Path, backend: str, **extra: object) -> Settings:
    url = None
    if backend == "postgresql":
        reset_postgres(PG_URL)
        url = PG_URL
    url = extra.pop("database_url", url)  # type: ignore[assignment]
    extra.setdefault("graph_dir", GRAPH_DIR)
    extra.setdefault("mqtt_enabled", False)
    return Settings(data_dir=tmp_path / "var", database_url=url, secret_key=SECRET, log_json=False,
                    **extra)  # type: ignore[arg-type]


@dataclass
class Org:
    city: str
    branch: str
    station_a: str
    station_b: str
    unit_a: str
    unit_b: str
    passwords: dict[str, str]


def build_org(c: Container) -> Org:
    mk = services.create_agency
    city = mk(services.CreateAgency("CITY", "测试市公安局", "city_bureau"), uow=c.uow(), actor=None)
    branch = mk(services.CreateAgency("BR1", "第一分局", "branch_bureau", parent_code="CITY"), uow=c.uow(), actor=None)
    sa = mk(services.CreateAgency("STA", "甲派出所", "station", parent_code="BR1", lon=104.07, lat=30.67),
            uow=c.uow(), actor=None)
    sb = mk(services.CreateAgency("STB", "乙派出所", "station", parent_code="BR1", lon=104.10, lat=30.68),
            uow=c.uow(), actor=None)
    with c.uow() as uow:
        ua = uow.units.add(call_sign="A1", kind="patrol_car", agency_id=sa, lon=104.07, lat=30.67, at=c.clock.now())
        ub = uow.units.add(call_sign="B1", kind="patrol_car", agency_id=sb, lon=104.10, lat=30.68, at=c.clock.now())
        uow.commit()
    users = {
        "admin": ("CITY", ("admin",)),
        "auditor": ("CITY", ("auditor",)),
        "disp_a": ("STA", ("dispatcher",)),
        "officer_b": ("STB", ("patrol_officer",)),
        "analyst": ("CITY", ("analyst",)),
    }
    pws = {}
    for name, (agency, roles) in users.items():
        pws[name] = f"pw-{name}-123"
        services.create_user(services.CreateUser(name, name, pws[name], agency, roles), uow=c.uow(), actor=None)
    return Org(city, branch, sa, sb, ua, ub, pws)


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# Store and integration tests run on both databases: `@both_databases` on a test or module.
both_databases = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
