"""Dispatch fixtures: the Chengdu demo city (loaded once per database kind, copied per test on SQLite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from jingwu.app import create_app
from jingwu.demo import city as demo
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.settings import Settings
from support import PG_URL, StepClock, make_settings


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("demo-template")
    s = make_settings(base, "sqlite")
    c = build_container(s)
    upgrade(c.engine)
    pw = demo.load_demo_city(c)
    c.dispose()  # every engine, the read one too: an open one keeps the last writes in -wal, not copied
    return s.data_dir / "jingwu.db", pw


PG_ADMIN = PG_URL.rsplit("/", 1)[0] + "/postgres"
# named after the test database, so runs against different test databases never share these
_PG_DB = PG_URL.rsplit("/", 1)[1]
PG_TEMPLATE, PG_CITY = f"{_PG_DB}_demo_tpl", f"{_PG_DB}_demo_t"


def _pg_admin(sql: str) -> None:
    eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(sql))
    eng.dispose()


@pytest.fixture(scope="session")
def pg_demo_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The demo city loaded once into a PostgreSQL template database; each test gets a fresh copy."""
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {PG_TEMPLATE}")
    s = make_settings(tmp_path_factory.mktemp("pg-tpl"), "sqlite",
                      database_url=PG_URL.rsplit("/", 1)[0] + "/" + PG_TEMPLATE)
    c = build_container(s)
    upgrade(c.engine)
    pw = demo.load_demo_city(c)
    c.engine.dispose()
    return pw


@pytest.fixture
def city(tmp_path: Path, backend: str, demo_template: tuple[Path, dict[str, str]], request: pytest.FixtureRequest,
         clock: StepClock) -> Iterator[tuple[Container, dict[str, str]]]:
    if backend == "sqlite":
        s: Settings = make_settings(tmp_path, backend)
        s.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(demo_template[0], s.data_dir / "jingwu.db")
        pw = demo_template[1]
    else:
        pw = request.getfixturevalue("pg_demo_template")
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_CITY} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {PG_CITY} TEMPLATE {PG_TEMPLATE}")
        s = make_settings(tmp_path, "sqlite", database_url=PG_URL.rsplit("/", 1)[0] + "/" + PG_CITY)
    c = build_container(s, clock=clock)
    yield c, pw
    c.engine.dispose()


@pytest.fixture
def api(city: tuple[Container, dict[str, str]]) -> Iterator[TestClient]:
    c, _ = city
    with TestClient(create_app(c.settings, c)) as tc:
        yield tc
