"""Shared fixtures: settings, a migrated container, an HTTP client, a small organisation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jingwu.app import create_app
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.settings import Settings
from support import CHROMIUM, CHROMIUM_ARGS, Org, StepClock, build_org, make_settings


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> Settings:
    return make_settings(tmp_path, backend)


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def container(settings: Settings, clock: StepClock) -> Iterator[Container]:
    c = build_container(settings, clock=clock)
    upgrade(c.engine)
    yield c
    c.engine.dispose()


@pytest.fixture
def org(container: Container) -> Org:
    return build_org(container)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container.settings, container)
    with TestClient(app) as tc:
        yield tc


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite never shrinks silently: any skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; a test that cannot run must fail, naming why",
                            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests write their screenshots (JINGWU_SCREENSHOT_DIR to keep them)."""
    d = Path(os.environ.get("JINGWU_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d
