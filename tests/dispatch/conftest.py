"""Dispatch fixtures: the Chengdu demo city (loaded once per database kind, copied per test on SQLite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jingwu import demo
from jingwu.app import create_app
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.settings import Settings
from support import StepClock, make_settings


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("demo-template")
    s = make_settings(base, "sqlite")
    c = build_container(s)
    upgrade(c.engine)
    pw = demo.load_demo_city(c)
    c.engine.dispose()
    return s.data_dir / "jingwu.db", pw


@pytest.fixture
def city(tmp_path: Path, backend: str, demo_template: tuple[Path, dict[str, str]],
         clock: StepClock) -> Iterator[tuple[Container, dict[str, str]]]:
    s: Settings = make_settings(tmp_path, backend)
    if backend == "sqlite":
        s.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(demo_template[0], s.data_dir / "jingwu.db")
        c = build_container(s, clock=clock)
        pw = demo_template[1]
    else:
        c = build_container(s, clock=clock)
        upgrade(c.engine)
        pw = demo.load_demo_city(c)
    yield c, pw
    c.engine.dispose()


@pytest.fixture
def api(city: tuple[Container, dict[str, str]]) -> Iterator[TestClient]:
    c, _ = city
    with TestClient(create_app(c.settings, c)) as tc:
        yield tc
