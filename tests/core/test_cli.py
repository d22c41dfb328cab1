"""The command line as a user runs it: real subprocesses on a temporary data dir."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

JINGWU = str(Path(sys.executable).parent / "jingwu")


def run(args: list[str], data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k != "JINGWU_DATABASE_URL"}
    e.update({"JINGWU_DATA_DIR": str(data), "JINGWU_SECRET_KEY": "cli-test-secret-0123456789", **env})
    return subprocess.run([JINGWU, *args], env=e, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cmd", [[], ["serve"], ["demo"], ["db", "upgrade"], ["import", "osm"], ["audit", "verify"],
                                 ["users", "create"], ["route"], ["isochrone"], ["setup"]])
def test_every_command_has_help(cmd: list[str], tmp_path: Path) -> None:
    r = run([*cmd, "--help"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout


def test_upgrade_create_user_and_verify_then_tamper(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    # an agency to put the user in (no CLI verb for agencies yet: insert through the service layer)
    code = ("from jingwu.platform.container import build_container;from jingwu.platform.settings import get_settings;"
            "from jingwu.platform import services as s;c=build_container(get_settings());"
            "s.create_agency(s.CreateAgency('C1','市局','city_bureau'),uow=c.uow(),actor=None)")
    env = {**os.environ, "JINGWU_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    r = run(["users", "create", "alice", "--agency", "C1", "--role", "dispatcher", "--role", "analyst"],
            tmp_path, JINGWU_NEW_PASSWORD="a-long-password")
    assert r.returncode == 0, r.stderr
    bad = run(["users", "create", "bob", "--agency", "C1", "--role", "wizard"], tmp_path,
              JINGWU_NEW_PASSWORD="a-long-password")
    assert bad.returncode != 0 and "unknown_role" in bad.stderr
    ok = run(["audit", "verify"], tmp_path)
    assert ok.returncode == 0 and "intact: 2 entries" in ok.stdout
    db = sqlite3.connect(tmp_path / "jingwu.db")
    db.execute("UPDATE audit_log SET reason = 'covered up' WHERE seq = 2")
    db.commit()
    db.close()
    broken = run(["audit", "verify"], tmp_path)
    assert broken.returncode == 1
    assert "entry 2" in broken.stderr


def test_serve_refuses_default_secret_outside_demo(tmp_path: Path) -> None:
    e = {**os.environ, "JINGWU_DATA_DIR": str(tmp_path)}
    e.pop("JINGWU_SECRET_KEY", None)
    r = subprocess.run([JINGWU, "serve", "--port", "8999"], env=e, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "default secret" in r.stderr


def test_upgrade_against_unreachable_database_fails_cleanly(tmp_path: Path) -> None:
    r = run(["db", "upgrade"], tmp_path, JINGWU_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert r.returncode == 2 and "migration failed" in r.stderr
