"""The audit chain anchored outside the database: signed checkpoints catch a cut tail, a reset chain
and a rewritten head; a malformed row is named, never a 500 or a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.domain import audit_hash
from support import Org, both_databases, login, page_login

JINGWU = str(Path(sys.executable).parent / "jingwu")


def run(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k != "JINGWU_DATABASE_URL"}
    e.update({"JINGWU_DATA_DIR": str(data), "JINGWU_SECRET_KEY": "cli-test-secret-0123456789"})
    return subprocess.run([JINGWU, *args], env=e, capture_output=True, text=True, timeout=120)


def seed_chain(data: Path, n: int) -> None:
    """A migrated database with ``n`` agencies created through the service layer (one audit entry each)."""
    assert run(["db", "upgrade"], data).returncode == 0
    code = ("from jingwu.platform.container import build_container;from jingwu.platform.settings import get_settings;"
            "from jingwu.platform import services as s;c=build_container(get_settings());"
            f"[s.create_agency(s.CreateAgency(f'C{{i}}','市局','city_bureau'),uow=c.uow(),actor=None) "
            f"for i in range({n})]")
    env = {**os.environ, "JINGWU_DATA_DIR": str(data)}
    env.pop("JINGWU_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def sql(data: Path, *stmts: str) -> None:
    db = sqlite3.connect(data / "jingwu.db")
    for s in stmts:
        db.execute(s)
    db.commit()
    db.close()


def test_checkpoints_catch_cut_tail_reset_and_rewrite(tmp_path: Path) -> None:
    seed_chain(tmp_path, 4)
    a = run(["audit", "anchor"], tmp_path)
    assert a.returncode == 0 and "entry 4" in a.stdout, a.stderr
    key = tmp_path / "audit-anchor.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "nothing to anchor" in run(["audit", "anchor"], tmp_path).stdout  # head unchanged: no new line
    lines = (tmp_path / "audit-anchors.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == 4
    ok = run(["audit", "verify"], tmp_path)
    assert ok.returncode == 0 and "4 entries, 1 signed checkpoints" in ok.stdout, ok.stdout + ok.stderr

    # the classic cut: drop the last entry and move the head back to the one before (the chain alone holds)
    pristine = (tmp_path / "jingwu.db").read_bytes()
    sql(tmp_path, "DELETE FROM audit_log WHERE seq = 4",
        "UPDATE audit_head SET last_seq = 3, last_hash = (SELECT hash FROM audit_log WHERE seq = 3)")
    cut = run(["audit", "verify"], tmp_path)
    assert cut.returncode == 1 and "cut from the end" in cut.stderr and "Traceback" not in cut.stderr

    # everything deleted, the head reset to the genesis
    (tmp_path / "jingwu.db").write_bytes(pristine)
    sql(tmp_path, "DELETE FROM audit_log", "DELETE FROM audit_head")
    reset = run(["audit", "verify"], tmp_path)
    assert reset.returncode == 1 and "entry 4" in reset.stderr

    # entry 3 rewritten with every hash after it recomputed and the head moved along: only the checkpoint knows
    (tmp_path / "jingwu.db").write_bytes(pristine)
    db = sqlite3.connect(tmp_path / "jingwu.db")
    rows = db.execute("SELECT seq, at, actor, agency_id, action, object_type, object_id, reason, detail, "
                      "prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
    prev = rows[1][10]  # entry 2's hash
    for r in rows[2:]:
        reason = "nothing happened" if r[0] == 3 else r[7]
        h = audit_hash(seq=r[0], at=datetime.fromisoformat(r[1]), actor=r[2], agency_id=r[3], action=r[4],
                       object_type=r[5], object_id=r[6], reason=reason, detail=r[8], prev_hash=prev)
        db.execute("UPDATE audit_log SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (reason, prev, h, r[0]))
        prev = h
    db.execute("UPDATE audit_head SET last_hash = ?", (prev,))
    db.commit()
    db.close()
    rewritten = run(["audit", "verify"], tmp_path)
    assert rewritten.returncode == 1 and "entry 4" in rewritten.stderr and "checkpoint" in rewritten.stderr

    # the anchor file itself edited: its signature fails
    (tmp_path / "jingwu.db").write_bytes(pristine)
    d = json.loads(lines[0])
    d["seq"] = 2
    (tmp_path / "audit-anchors.jsonl").write_text(json.dumps(d) + "\n")
    forged = run(["audit", "verify"], tmp_path)
    assert forged.returncode == 1 and "bad signature" in forged.stderr


def test_malformed_row_is_named_not_a_traceback(tmp_path: Path) -> None:
    seed_chain(tmp_path, 3)
    sql(tmp_path, "UPDATE audit_log SET at = 'yesterday-ish' WHERE seq = 2")
    r = run(["audit", "verify"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "entry 2" in r.stderr and "malformed" in r.stderr and "yesterday-ish" in r.stderr


def test_malformed_row_on_the_api_and_page(client: TestClient, org: Org, container: Container) -> None:
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET at = 'not a time' WHERE seq = 3"))
    h = login(client, "auditor", org.passwords["auditor"])
    rows = client.get("/api/v1/audit?limit=1000", headers=h)
    assert rows.status_code == 200
    bad = next(x for x in rows.json() if x["seq"] == 3)
    assert bad["at"] is None and "not a time" in bad["problem"]
    v = client.get("/api/v1/audit/verify", headers=h).json()
    assert v["ok"] is False and v["first_bad_seq"] == 3 and "malformed" in v["problem"]
    client.cookies.clear()
    page_login(client, "auditor", org.passwords["auditor"])
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "not a time" in page.text


@both_databases
def test_anchor_job_signs_the_head_and_publishes_it(container: Container, org: Org) -> None:
    s = container.settings
    cp = services.anchor_audit(uow=container.uow(), settings=s)
    assert cp is not None and cp.seq > 0
    assert services.anchor_audit(uow=container.uow(), settings=s) is None  # nothing new
    with container.engine.connect() as conn:
        q = text("SELECT payload FROM outbox WHERE topic = 'jingwu.audit.checkpoint'")
        topics = [r[0] for r in conn.execute(q)]
    assert len(topics) == 1 and json.loads(topics[0])["seq"] == cp.seq
    n, brk = services.verify_audit(uow=container.uow(), anchors=services.read_anchors(s))
    assert brk is None and n == cp.seq
    # a new entry, then the tail cut back below the checkpoint: caught on either database
    services.create_agency(services.CreateAgency("X9", "另一市局", "city_bureau"), uow=container.uow(), actor=None)
    assert services.anchor_audit(uow=container.uow(), settings=s) is not None
    with container.engine.begin() as conn:
        top = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": top})
        conn.execute(text("UPDATE audit_head SET last_seq = :s, "
                          "last_hash = (SELECT hash FROM audit_log WHERE seq = :s)"), {"s": top - 1})
    n, brk = services.verify_audit(uow=container.uow(), anchors=services.read_anchors(s))
    assert brk is not None and brk.seq == top and "cut from the end" in brk.problem
