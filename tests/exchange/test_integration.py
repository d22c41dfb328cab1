"""Two deployments, two processes, two databases, the local NATS JetStream: deployment A (SQLite file) and
deployment B (PostgreSQL), each with its federation relay running as a process of its own
(`jingwu exchange run`), on a stream and subject space unique to this run.

An incident shared from A appears at B with only the agreed fields; a request from B is answered by A
before its deadline; A's relay is killed with SIGKILL mid-stream and restarted: nothing lost, nothing
applied twice; a tampered message is refused and nothing of it applied; the 12-hour timer fires on a
late notice (test clock)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from exchange.xc_support import Deployment, deployment, h, pair, peer_agreement
from jingwu.exchange.jobs import tick
from support import PG_URL, REPO, StepClock, reset_postgres

pytestmark = pytest.mark.integration

NATS_URL = os.environ.get("JINGWU_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _pg_b_url() -> str:
    """B's database: JINGWU_TEST_PG_URL_B, else the test database's name with ``_b`` (created if missing)."""
    url = os.environ.get("JINGWU_TEST_PG_URL_B")
    if url:
        return url
    u = make_url(PG_URL)
    b = u.set(database=f"{u.database}_b")
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": b.database}).first():
            conn.execute(text(f'CREATE DATABASE "{b.database}"'))
    admin.dispose()
    return b.render_as_string(hide_password=False)


def until(what: str, fn: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


class Relay:
    """`jingwu exchange run` of one deployment, as a process."""

    def __init__(self, d: Deployment, tmp: Path) -> None:
        self.d = d
        self.log = tmp / f"relay-{d.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        s, xs = self.d.settings, self.d.xs
        env = {k: v for k, v in os.environ.items() if not k.startswith("JINGWU_")}
        env.update({"JINGWU_DATA_DIR": str(s.data_dir), "JINGWU_LOG_JSON": "0", "JINGWU_SECRET_KEY": "x" * 40,
                    "JINGWU_EXCHANGE_DEPLOYMENT_ID": self.d.name, "JINGWU_EXCHANGE_KEY_DIR": str(xs.key_dir),
                    "JINGWU_EXCHANGE_STREAM": xs.stream, "JINGWU_EXCHANGE_SUBJECT_PREFIX": xs.subject_prefix,
                    "JINGWU_EXCHANGE_NATS_URL": NATS_URL, "JINGWU_EXCHANGE_RELAY_INTERVAL_S": "0.05",
                    "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])})
        if s.database_url:
            env["JINGWU_DATABASE_URL"] = s.database_url
        return env

    def start(self) -> None:
        jingwu = str(Path(sys.executable).parent / "jingwu")
        self.proc = subprocess.Popen([jingwu, "exchange", "run"], env=self.env(), cwd=REPO,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _scalar(d: Deployment, sql: str, **params: Any) -> Any:
    with d.container.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


async def _publish_raw(subject: str, stream: str, data: bytes) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().publish(subject, data, stream=stream)
    finally:
        await nc.drain()


async def _delete_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(stream)
    except Exception:  # absent already
        pass
    finally:
        await nc.drain()


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def two(tmp_path: Path, run_id: str) -> Iterator[tuple[Deployment, Deployment, StepClock]]:
    clock = StepClock()
    clock.offset = timedelta(0)  # the relay processes run on the real clock
    xs = {"stream": f"EXCHANGE_T{run_id.upper()}", "subject_prefix": f"exchange-{run_id}"}
    b_url = _pg_b_url()
    reset_postgres(b_url)
    try:
        with deployment(tmp_path, "sc", clock=clock, **xs) as a, \
                deployment(tmp_path, "cq", clock=clock, database_url=b_url, **xs) as b:
            assert a.container.engine.dialect.name == "sqlite" and b.container.engine.dialect.name == "postgresql"
            pair(a, b)
            yield a, b, clock
    finally:
        asyncio.run(_delete_stream(xs["stream"]))


def test_two_deployments_over_nats(two: tuple[Deployment, Deployment, StepClock], tmp_path: Path) -> None:
    a, b, clock = two
    ra, rb = Relay(a, tmp_path), Relay(b, tmp_path)
    ra.start()
    rb.start()
    try:
        def move(src: Deployment, dst: Deployment) -> None:  # the relays carry it: wait until it is applied
            until(f"{src.name}'s outbox delivered",
                  lambda: _scalar(src, "SELECT count(*) FROM xc_outbox WHERE sent_at IS NULL") == 0, 90)
            n = _scalar(src, "SELECT count(*) FROM xc_outbox WHERE peer_id=:p", p=dst.name)
            until(f"{dst.name} applied {n} messages",
                  lambda: _scalar(dst, "SELECT count(*) FROM xc_inbox WHERE peer_id=:p", p=src.name) >= n, 90)

        terms = {"incident": ["id", "type_code", "type_name", "priority", "lon", "lat", "reported_at", "summary"],
                 "measure_notice": ["enterprise", "measure", "taken_at", "acting_agency", "case_ref"]}
        aid = peer_agreement(a, b, clock, outgoing=terms, move=move)

        # 1. an incident from A appears at B with only the agreed fields
        record = {"id": "SC-1", "type_code": "0201", "type_name": "盗窃", "priority": 2, "lon": 104.07,
                  "lat": 30.67, "summary": "交界处被盗", "caller_name": "张三", "caller_phone": "13800000000",
                  "address": "某路1号"}
        r = a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "inv_a"),
                          json={"record_type": "incident", "record": record})
        assert r.status_code == 201, r.text
        move(a, b)
        rows = b.client.get("/api/v1/exchange/shares?direction=in", headers=h(b.client, "inv_b")).json()
        assert [x["fields"] for x in rows] == [{"id": "SC-1", "type_code": "0201", "type_name": "盗窃",
                                                "priority": 2, "lon": 104.07, "lat": 30.67,
                                                "summary": "交界处被盗"}]

        # 2. a request from B, answered by A before its deadline
        deadline = clock.now() + timedelta(hours=2)
        r = b.client.post("/api/v1/exchange/requests", headers=h(b.client, "inv_b"), json={
            "agreement_id": aid, "kind": "identity_verification", "title": "核查嫌疑人身份证件",
            "details": "请核查证件真伪", "deadline": deadline.isoformat()})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        move(b, a)
        got = a.client.get(f"/api/v1/exchange/requests/{rid}", headers=h(a.client, "inv_a")).json()
        assert got["status"] == "open" and got["outgoing"] is False and got["title"] == "核查嫌疑人身份证件"
        for action, txt in (("accept", ""), ("progress", "已联系签发机关"), ("result", "证件真实有效")):
            r = a.client.post(f"/api/v1/exchange/requests/{rid}/actions", headers=h(a.client, "inv_a"),
                              json={"action": action, "text": txt})
            assert r.status_code == 200, r.text
        move(a, b)
        done = b.client.get(f"/api/v1/exchange/requests/{rid}", headers=h(b.client, "inv_b")).json()
        assert done["status"] == "completed" and done["result"] == "证件真实有效"
        assert done["answered_at"] < deadline.isoformat() and done["overdue"] is False
        assert [e["kind"] for e in done["events"]] == ["created", "accept", "progress", "result"]

        # 3. A's relay killed mid-stream (SIGKILL) and restarted: nothing lost, nothing applied twice
        ra.stop()
        n = 60
        for i in range(n):
            r = a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "inv_a"),
                              json={"record_type": "incident", "record": {"id": f"SC-K{i:03d}", "summary": f"#{i}"}})
            assert r.status_code == 201
        ra.start()
        until("A's relay started sending", lambda: _scalar(a, "SELECT count(*) FROM xc_outbox WHERE sent_at IS "
                                                              "NOT NULL AND msg_id IN (SELECT msg_id FROM xc_shares "
                                                              "WHERE record_id LIKE 'SC-K%')") >= 1, 90)
        ra.kill()
        sent = _scalar(a, "SELECT count(*) FROM xc_outbox WHERE sent_at IS NOT NULL")
        # the crash window between "published" and "marked sent": the last sent rows are sent again
        with a.container.engine.begin() as conn:
            conn.execute(text("UPDATE xc_outbox SET sent_at=NULL WHERE seq IN (SELECT seq FROM xc_outbox "
                              "WHERE sent_at IS NOT NULL ORDER BY seq DESC LIMIT 5)"))
        assert _scalar(a, "SELECT count(*) FROM xc_outbox WHERE sent_at IS NULL") >= 5
        ra.start()
        move(a, b)
        got_ids = [x["record_id"] for x in b.client.get("/api/v1/exchange/shares?direction=in&record_type=incident",
                                                        headers=h(b.client, "inv_b")).json()]
        killed = sorted(i for i in got_ids if i.startswith("SC-K"))
        assert killed == [f"SC-K{i:03d}" for i in range(n)], f"lost or doubled after the kill (sent {sent})"
        assert _scalar(b, "SELECT count(*) FROM xc_shares WHERE direction='in' AND record_type='incident'") == n + 1
        assert _scalar(b, "SELECT count(*) FROM xc_refusals") == 0

        # 4. a tampered message is refused, logged and audited; nothing applied
        raw = _scalar(a, "SELECT envelope FROM xc_outbox WHERE type='record.shared' ORDER BY seq LIMIT 1")
        env = json.loads(raw)
        env["id"] = str(uuid.uuid4())
        env["payload"]["record"]["notesComponent"][0]["notesActionCommentsText"] = "篡改"
        asyncio.run(_publish_raw(f"{a.xs.subject_prefix}.cq.sc", a.xs.stream, json.dumps(env).encode()))
        until("B refused the tampered message",
              lambda: _scalar(b, "SELECT count(*) FROM xc_refusals WHERE code='bad_signature'") == 1)
        assert _scalar(b, "SELECT count(*) FROM xc_inbox WHERE msg_id=:m", m=env["id"]) == 0
        assert _scalar(b, "SELECT count(*) FROM xc_shares WHERE direction='in' AND record_type='incident'") == n + 1
        assert _scalar(b, "SELECT count(*) FROM audit_log WHERE action='exchange.message_refused' "
                          "AND reason='bad_signature'") == 1

        # 5. the 12-hour timer fires on a late notice (test clock): escalated at A
        r = a.client.post("/api/v1/exchange/enterprises", headers=h(a.client, "cmd_a"), json={
            "name": "重庆某重点工程公司", "credit_code": "91500000MA5U000001", "flagged": True,
            "flag_reason": "成渝重点工程", "home_peer_id": "cq"})
        assert r.status_code == 201, r.text
        r = a.client.post("/api/v1/exchange/measures", headers=h(a.client, "inv_a"), json={
            "enterprise_id": r.json()["id"], "kind": "freeze", "agency_code": "STA", "case_ref": "川公刑2026-1",
            "basis": "刑事诉讼法第144条"})
        mid = r.json()["id"]
        assert a.client.post(f"/api/v1/exchange/measures/{mid}/decision", headers=h(a.client, "cmd_br"),
                             json={"approve": True}).status_code == 200
        taken = a.client.post(f"/api/v1/exchange/measures/{mid}/take", headers=h(a.client, "inv_a")).json()
        assert taken["notice_state"] == "pending"
        assert tick(a.container)["notices_late"] == 0
        clock.advance(hours=12, minutes=1)
        assert tick(a.container)["notices_late"] == 1
        assert tick(a.container)["notices_late"] == 0  # once
        assert _scalar(a, "SELECT count(*) FROM audit_log WHERE action='exchange.measure_notice_late' "
                          "AND object_id=:m", m=mid) == 1
        report = a.client.get("/api/v1/exchange/compliance", headers=h(a.client, "cmd_br")).json()
        assert report["totals"]["late_pending"] == 1 and report["measures"][0]["escalated_at"] is not None
    finally:
        ra.stop()
        rb.stop()
