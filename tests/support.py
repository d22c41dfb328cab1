"""Test support: settings on a temporary SQLite file or the local PostgreSQL,
a small organisation (two stations), login helper, the both-databases marker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jingwu.dispatch.settings import DispatchSettings
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.settings import Settings
from jingwu.routing.settings import RoutingSettings

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"  # copied into the repository with its attribution (tests/data/ATTRIBUTION.md)
PACKAGED_DATA = REPO / "src" / "jingwu" / "data"  # shipped with the product (the Chengdu demo extract)
PG_URL = os.environ.get("JINGWU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-" + "x" * 20
# One compiled road graph for the whole run (built on first use; rebuilt only when the OSM file changes).
GRAPH_DIR = Path(os.environ.get("JINGWU_TEST_GRAPH_DIR", "/tmp/jingwu-test-graphs"))


def data_file(path: Path) -> Path:
    """A data file a test needs: a missing file fails the test naming it (tests never shrink silently)."""
    if not path.is_file():
        pytest.fail(f"test data missing: {path} (see tests/data/ATTRIBUTION.md for where it comes from)",
                    pytrace=False)
    return path


class StepClock:
    """Real-looking time that tests can move forward. ``JINGWU_TEST_CLOCK_SHIFT_HOURS`` starts every clock
    that many hours from now, to run the suite as if at another hour of the day (tests must not depend on it)."""

    def __init__(self) -> None:
        self.offset = timedelta(hours=float(os.environ.get("JINGWU_TEST_CLOCK_SHIFT_HOURS", "0")))

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


METRICS_TOKEN = "test-metrics-token"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def make_settings(tmp_path: Path, backend: str, **extra: object) -> Settings:
    url = None
    if backend == "postgresql":
        reset_postgres(PG_URL)
        url = PG_URL
    url = extra.pop("database_url", url)  # type: ignore[assignment]
    routing = RoutingSettings(graph_dir=extra.pop("graph_dir", GRAPH_DIR))  # type: ignore[arg-type]
    dispatch = DispatchSettings(mqtt_enabled=extra.pop("mqtt_enabled", False))  # type: ignore[arg-type]
    extra.setdefault("metrics_token", METRICS_TOKEN)
    # no periodic audit checkpoints in the app under test (they write outbox rows tests count);
    # tests/core/test_audit_anchor.py signs them explicitly
    extra.setdefault("audit_anchor_interval_s", 0)
    return Settings(data_dir=tmp_path / "var", database_url=url, secret_key=SECRET, log_json=False,
                    **extra).with_sections(routing, dispatch)  # type: ignore[arg-type]


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


def page_login(client: TestClient, username: str, password: str, next: str = "/map") -> Any:
    """Log in through the login page as a browser does: fetch the form (its CSRF cookie and field), post it."""
    form = client.get("/login")
    m = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert m, "the login form carries a CSRF token"
    return client.post("/login", data={"username": username, "password": password, "next": next,
                                       "csrf": m.group(1)}, follow_redirects=False)


# Store and integration tests run on both databases: `@both_databases` on a test or module.
both_databases = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


# ------------------------------------------------------------------ real servers for end-to-end tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_jingwu(args: list[str], env: dict[str, str], port: int, timeout: float = 120.0) -> Any:
    """Start ``jingwu <args>`` as a real server process and wait until /healthz answers."""
    import subprocess
    import sys
    import time

    import httpx

    jingwu = str(Path(sys.executable).parent / "jingwu")
    proc = subprocess.Popen([jingwu, *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"jingwu {' '.join(args)} exited with {proc.returncode}")
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"jingwu {' '.join(args)} did not answer within {timeout:.0f} s")


@contextmanager
def demo_server(data_dir: Path, *extra: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`jingwu demo` on a free port with its own data dir: (base URL, demo passwords)."""
    import json

    port = free_port()
    env = {**os.environ, "JINGWU_DATA_DIR": str(data_dir), "JINGWU_PORT": str(port), "JINGWU_LOG_JSON": "0",
           "JINGWU_GRAPH_DIR": str(GRAPH_DIR),
           "JINGWU_MQTT_CLIENT_ID": f"jingwu-test-{port}"}  # its own persistent session on the broker (ADR 0025)
    env.pop("JINGWU_DATABASE_URL", None)
    proc = start_jingwu(["demo", *extra], env, port, timeout=240)
    try:
        yield f"http://127.0.0.1:{port}", json.loads((data_dir / "demo-passwords.json").read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def bearer(base: str, user: str, password: str) -> dict[str, str]:
    """Authorization headers for ``user`` on a running server (its token endpoint)."""
    import httpx

    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def browser_login(ctx: Any, base: str, user: str, password: str, path: str) -> Any:
    """A new page of ``ctx`` logged in through the real login form, landed on ``path``."""
    page = ctx.new_page()
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    return page
