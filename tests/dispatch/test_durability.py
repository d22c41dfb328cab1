"""An accepted call is never lost: the server is killed with SIGKILL during a
burst of calls; after a restart every call that got a 201 is there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from support import GRAPH_DIR, PG_URL, free_port, reset_postgres, start_jingwu

pytestmark = pytest.mark.integration
JINGWU = str(Path(sys.executable).parent / "jingwu")


def start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = start_jingwu(["serve", "--port", str(port)], env, port)
    return proc


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkill_during_burst_loses_no_accepted_call(tmp_path: Path, backend: str) -> None:
    env = {**os.environ, "JINGWU_DATA_DIR": str(tmp_path / "var"), "JINGWU_SECRET_KEY": "kill-test-secret-123456789",
           "JINGWU_MQTT_ENABLED": "0", "JINGWU_GRAPH_DIR": str(GRAPH_DIR), "JINGWU_LOG_LEVEL": "WARNING"}
    env.pop("JINGWU_DATABASE_URL", None)
    if backend == "postgresql":
        reset_postgres(PG_URL)
        env["JINGWU_DATABASE_URL"] = PG_URL
    load = ("from jingwu.platform.settings import get_settings; from jingwu.platform.container import build_container;"
            "from jingwu.platform.db import upgrade; from jingwu.demo import city as demo; import json;"
            "c=build_container(get_settings()); upgrade(c.engine); print(json.dumps(demo.load_demo_city(c)))")
    out = subprocess.run([sys.executable, "-c", load], env=env, capture_output=True, text=True, check=True)
    pw = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(env, port)
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": "calltaker", "password": pw["calltaker"]}).json()["access_token"]
    accepted: dict[str, str] = {}  # idempotency key -> incident id
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=5) as cl:
            i = 0
            while not stop.is_set():
                key = f"kill-{k}-{i}"
                i += 1
                try:
                    r = cl.post("/api/v1/calls", headers={"Idempotency-Key": key},
                                json={"type_code": "020200", "lon": 104.0657 + k * 1e-3, "lat": 30.6598 + i * 1e-5})
                except httpx.HTTPError:
                    continue  # connection dropped by the kill: not accepted, may or may not be stored
                if r.status_code == 201:
                    with lock:
                        accepted[key] = r.json()["incident_id"]

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(accepted) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-burst
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(accepted) >= 60

    proc = start(env, port)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as cl:
            missing = [k for k, iid in accepted.items() if cl.get(f"/api/v1/incidents/{iid}").status_code != 200]
            assert missing == []
            # a retry of an accepted call after the restart answers with the same incident, not a new one
            key, iid = next(iter(accepted.items()))
            k, i = key.split("-")[1:]
            body = {"type_code": "020200", "lon": 104.0657 + int(k) * 1e-3, "lat": 30.6598 + (int(i) + 1) * 1e-5}
            r = cl.post("/api/v1/calls", headers={"Idempotency-Key": key}, json=body)
            assert r.status_code == 200 and r.json()["incident_id"] == iid
        verify = subprocess.run([JINGWU, "audit", "verify"], env=env, capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr  # the audit chain survived the kill
    finally:
        proc.terminate()
        proc.wait(timeout=20)
