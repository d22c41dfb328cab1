"""Dispatch benchmark: durable intake throughput and latency, position ingest.

For each database (PostgreSQL, SQLite) it loads the Chengdu demo city, starts
the real app under uvicorn (N worker processes) and measures over HTTP:

1. saturation intake with wrk (POST /api/v1/calls, unique Idempotency-Key each, calls drawn from the
   demo call generator) -> calls/s and latency; then checks that every 2xx call is in the database and
   waits until the events it produced are relayed (the sustained rate counts that time too);
2. an open-loop stream of 200 calls/s where each call is POST /calls followed by
   GET /incidents/{id}/recommendations -> end-to-end p50/p99;
3. AVL position ingest: POST /units/{id}/positions batches -> positions/s.
Baseline in the same run: GET /healthz under the same wrk load (the HTTP
stack's ceiling on this machine). Goals (issue #4): >= 1,000 calls/s on
PostgreSQL, p99 <= 50 ms at 200 calls/s, >= 20,000 positions/s.

    .venv/bin/python bench/bench_dispatch.py [--quick] [--workers 2] [--backends postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cpuacct
import httpx
from rawhttp import RawPool

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/jingwu_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(backend: str, data: Path) -> tuple[dict[str, str], dict[str, str]]:
    from sqlalchemy import create_engine, text

    env = {**os.environ, "JINGWU_DATA_DIR": str(data), "JINGWU_SECRET_KEY": "bench-secret-0123456789abcdef",
           "JINGWU_MQTT_ENABLED": "0", "JINGWU_LOG_LEVEL": "WARNING", "JINGWU_GRAPH_DIR": "/tmp/jingwu-test-graphs"}
    if backend == "postgresql":
        eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS jingwu_bench WITH (FORCE)"))
            c.execute(text("CREATE DATABASE jingwu_bench"))
        eng.dispose()
        env["JINGWU_DATABASE_URL"] = PG_URL
    else:
        env.pop("JINGWU_DATABASE_URL", None)
    code = ("from jingwu.platform.settings import get_settings; from jingwu.platform.container import build_container;"
            "from jingwu.platform.db import upgrade; from jingwu.demo import city as demo; import json;"
            "c=build_container(get_settings()); upgrade(c.engine); print(json.dumps(demo.load_demo_city(c)))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    return env, json.loads(out.stdout.strip().splitlines()[-1])


def sample_calls(env: dict[str, str], out: Path, n: int = 5000) -> list[tuple[float, float, str]]:
    """Calls drawn from the demo call generator (hot spots + anywhere on the roads, type mix;
    docs/methods/dispatch.md), written as a Lua table for wrk."""
    code = ("import json, numpy as np; from zoneinfo import ZoneInfo; from datetime import datetime, UTC;"
            "from jingwu.platform.settings import get_settings; from jingwu.platform.container import build_container;"
            "from jingwu.demo.generator import CallGenerator; from jingwu.dispatch.domain import TypeTable;"
            "from jingwu.routing.api import ROAD_GRAPH;"
            "c=build_container(get_settings()); nodes=np.asarray(c.get(ROAD_GRAPH).node_coords());"
            "pick=nodes[np.random.default_rng(7).choice(len(nodes), size=min(3000, len(nodes)), replace=False)];"
            "g=CallGenerator(TypeTable.load(), [(float(p[0]), float(p[1])) for p in pick], calls_per_hour=100,"
            " tz=ZoneInfo('Asia/Shanghai'), seed=4);"
            "now=datetime.now(UTC);"
            f"print(json.dumps([(x.lon, x.lat, x.type_code) for x in (g.call(now) for _ in range({n}))]))")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    import json

    calls = [tuple(x) for x in json.loads(res.stdout.strip().splitlines()[-1])]
    out.write_text("return {\n" + ",\n".join(f'{{{lon:.6f}, {lat:.6f}, "{t}"}}' for lon, lat, t in calls) + "\n}\n")
    return calls  # type: ignore[return-value]


def start_nats(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private JetStream server for this run (the app's subjects are fixed, so a shared server's stream
    would mix runs). Several worker processes need a real bus: the in-process one serves one process."""
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    proc = subprocess.Popen([exe, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"nats://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nats-server did not start")


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(BIN / "uvicorn"), "jingwu.app:create_app", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning",
                             "--no-access-log"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


def wrk(url: str, script: Path | None, duration: int, conns: int, token: str,
        calls_file: Path | None = None) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], env={**os.environ, "JINGWU_BENCH_TOKEN": token,
                                            "JINGWU_BENCH_CALLS": str(calls_file or "")}, capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"WRK requests=(\d+) duration_s=([\d.]+) non2xx=(\d+) rps=([\d.]+) p50_ms=([\d.]+) "
                  r"p99_ms=([\d.]+)", out)
    if m:
        return {"requests": float(m[1]), "non2xx": float(m[3]), "rps": float(m[4]), "p50_ms": float(m[5]),
                "p99_ms": float(m[6])}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"rps": rps, "p99_ms": float(p99[1]) * scale[p99[2]] if p99 else float("nan")}


async def open_loop(base: str, token: str, rate: float, seconds: float,
                    calls: list[tuple[float, float, str]]) -> list[float]:
    """POST a call then GET its recommendations, started at a fixed rate regardless of answers.

    Latency is measured from each call's scheduled start, so time spent waiting for a free connection
    counts (no coordinated omission)."""
    host, port = base.removeprefix("http://").split(":")
    pool = RawPool(host, int(port), size=64, headers={"Authorization": f"Bearer {token}"})
    await pool.start()
    lat: list[float] = []
    errors: list[str] = []

    async def one(i: int, t0: float) -> None:
        try:
            clon, clat, type_code = calls[i % len(calls)]
            st, body = await pool.request("POST", "/api/v1/calls", {
                "channel": "phone", "type_code": type_code, "lon": clon, "lat": clat, "accuracy_m": 30},
                headers={"Idempotency-Key": f"ol-{i}-{t0}"})
            if st != 201:
                errors.append(f"POST {st}")
                return
            st, _ = await pool.request("GET", f"/api/v1/incidents/{body['incident_id']}/recommendations")
            if st != 200:
                errors.append(f"GET {st}")
                return
            lat.append((time.perf_counter() - t0) * 1000)
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors.append(type(exc).__name__)

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        t0 = start + i / rate
        delay = t0 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, t0)))
    await asyncio.gather(*tasks)
    await pool.close()
    if errors:
        print(f"  open loop: {len(errors)} errors ({sorted(set(errors))})", flush=True)
    return lat


async def positions(base: str, token: str, unit_ids: list[str], seconds: float, batch: int) -> float:
    host, port = base.removeprefix("http://").split(":")
    pool = RawPool(host, int(port), size=8, headers={"Authorization": f"Bearer {token}"})
    await pool.start()
    sent = 0
    end = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal sent
        i = 0
        while time.perf_counter() < end:
            uid = unit_ids[(k + i) % len(unit_ids)]
            now = datetime.now(UTC)
            body = {"positions": [{"lon": 104.07 + j * 1e-5, "lat": 30.66,
                                   "at": (now + timedelta(milliseconds=j)).isoformat()} for j in range(batch)]}
            st, _ = await pool.request("POST", f"/api/v1/units/{uid}/positions", body)
            if st >= 300:
                raise RuntimeError(f"positions: HTTP {st}")
            sent += batch
            i += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(8)))
    await pool.close()
    return sent / (time.perf_counter() - t0)


class CpuMeter:
    """CPU time of the server's process tree (with the bus server), PostgreSQL and the load generator (a
    waited-for child of this process) over a block, as milliseconds per request: where a core's time goes
    for one request."""

    def __init__(self, *server_pids: int) -> None:
        self.pids = server_pids

    def _now(self) -> tuple[float, float, float, float]:
        procs = cpuacct.snapshot()
        return (sum(cpuacct.tree_cpu(p, procs) for p in self.pids), cpuacct.postgres_cpu(procs),
                _children_cpu(), time.perf_counter())

    def __enter__(self) -> CpuMeter:
        self.t0 = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        t1 = self._now()
        self.server, self.pg, self.client, self.wall = (b - a for a, b in zip(self.t0, t1, strict=True))

    def per_request(self, n: float, key: str) -> dict[str, float]:
        n = max(n, 1.0)
        return {f"{key}_server_ms": 1000 * self.server / n, f"{key}_pg_ms": 1000 * self.pg / n,
                f"{key}_client_ms": 1000 * self.client / n, f"{key}_busy_cores": (self.server + self.pg
                                                                                  + self.client) / self.wall}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def wait_drained(env: dict[str, str], limit_s: float = 120.0) -> float:
    """Seconds until the outbox is empty and the Safety Index holds every incident (events relayed and
    consumed): the work the intake left behind."""
    code = ("import time; from jingwu.platform.settings import get_settings;"
            "from jingwu.platform.engine import make_engine;"
            "e=make_engine(get_settings().db_url); t0=time.perf_counter();"
            f"\nwhile time.perf_counter()-t0 < {limit_s}:\n"
            " c=e.connect(); n=c.exec_driver_sql('SELECT count(*) FROM outbox WHERE published_at IS NULL')"
            ".scalar_one();"
            " n+=c.exec_driver_sql('SELECT (SELECT count(*) FROM incidents)-(SELECT count(*) FROM si_incidents)')"
            ".scalar_one();"
            " c.close()\n if n <= 0: break\n time.sleep(0.2)\n"
            "print(time.perf_counter()-t0)")
    waited = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                  check=True).stdout.strip())
    if waited >= limit_s:
        print(f"  WARNING: events not drained after {limit_s:.0f} s: the sustained rate below is an upper bound",
              flush=True)
    return waited


def count_incidents(env: dict[str, str]) -> int:
    code = ("from jingwu.platform.settings import get_settings; from jingwu.platform.engine import make_engine;"
            "e=make_engine(get_settings().db_url); c=e.connect(); "
            "print(c.exec_driver_sql('SELECT count(*) FROM incidents').scalar_one()); c.close()")
    return int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              check=True).stdout.strip())


def run(backend: str, args: argparse.Namespace) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix=f"jw-bench-{backend}-"))
    try:
        env, pw = prepare(backend, data)
        calls_file = data / "calls.lua"
        calls = sample_calls(env, calls_file)
        port = free_port()
        nats = None
        if args.workers > 1:
            nats, env["JINGWU_NATS_URL"] = start_nats(data / "nats")
        proc = start_server(env, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(f"{base}/api/v1/auth/token",
                               data={"username": "dispatcher", "password": pw["dispatcher"]}).json()["access_token"]
            res: dict[str, float] = {}
            server_pids = [proc.pid] + ([nats.pid] if nats is not None else [])
            with CpuMeter(*server_pids) as m_hz:
                hz = wrk(f"{base}/healthz", None, args.duration, args.conns, token)
            res["healthz_rps"] = hz["rps"]
            res.update(m_hz.per_request(hz["rps"] * args.duration, "hz"))
            print(f"  [{backend}] healthz {hz}", flush=True)
            before = count_incidents(env)
            with CpuMeter(*server_pids) as m_in:
                w = wrk(f"{base}/", REPO / "bench" / "wrk_calls.lua", args.duration, args.conns, token,
                        calls_file)
            stored = count_incidents(env) - before
            res.update(m_in.per_request(w["requests"], "intake"))
            res.update(intake_rps=w["rps"], intake_p50_ms=w["p50_ms"], intake_p99_ms=w["p99_ms"],
                       intake_non2xx=w["non2xx"], intake_ok=w["requests"] - w["non2xx"], stored=stored)
            print(f"  [{backend}] intake {w} stored={stored}", flush=True)
            res["drain_s"] = wait_drained(env)
            res["sustained_rps"] = stored / (args.duration + res["drain_s"])
            lat = asyncio.run(open_loop(base, token, args.rate, args.open_seconds, calls))
            res.update(ol_p50_ms=statistics.median(lat), ol_p99_ms=pct(lat, 0.99), ol_n=len(lat))
            light = asyncio.run(open_loop(base, token, args.light_rate, args.open_seconds, calls))
            res.update(lo_p50_ms=statistics.median(light), lo_p99_ms=pct(light, 0.99), lo_n=len(light))
            units = [u["id"] for u in httpx.get(f"{base}/api/v1/units",
                                                 headers={"Authorization": f"Bearer {token}"}).json()]
            res["positions_per_s"] = asyncio.run(positions(base, token, units, args.duration / 2, 200))
            return res
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if nats is not None:
                nats.terminate()
                nats.wait(timeout=30)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (5 s)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--light-rate", type=float, default=20.0, help="second open-loop rate, below saturation")
    ap.add_argument("--backends", default="postgresql,sqlite")
    args = ap.parse_args()
    args.duration = 5 if args.quick else 20
    args.open_seconds = 5 if args.quick else 20
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (make bench installs it: apt-get install -y wrk)")
    print(f"dispatch bench: uvicorn workers={args.workers}, wrk -t2 -c{args.conns} {args.duration}s, "
          f"open loop {args.rate:.0f} calls/s x {args.open_seconds}s, cores={os.cpu_count()}")
    for backend in args.backends.split(","):
        r = run(backend, args)
        extra = r["stored"] - r["intake_ok"]
        print(f"\n[{backend}]")
        print(f"  baseline GET /healthz            {r['healthz_rps']:9.0f} req/s")
        print(f"  durable intake POST /calls       {r['intake_rps']:9.0f} calls/s  p50 {r['intake_p50_ms']:.1f} ms"
              f"  p99 {r['intake_p99_ms']:.1f} ms  non-2xx {r['intake_non2xx']:.0f}  "
              f"stored beyond counted 2xx {extra:.0f} (requests still in flight when wrk stopped)  "
              f"({r['intake_rps'] / r['healthz_rps']:.0%} of the HTTP ceiling)")
        cores = os.cpu_count() or 1
        floor = r["hz_server_ms"] + r["hz_pg_ms"]
        per_call = r["intake_server_ms"] + r["intake_pg_ms"]
        print(f"  CPU per request   GET /healthz: server {r['hz_server_ms']:.2f} ms + database {r['hz_pg_ms']:.2f} ms"
              f" (+ load generator {r['hz_client_ms']:.2f} ms)")
        print(f"                    POST /calls:  server {r['intake_server_ms']:.2f} ms + database "
              f"{r['intake_pg_ms']:.2f} ms (+ load generator {r['intake_client_ms']:.2f} ms); "
              f"{r['intake_busy_cores']:.2f} of {cores} cores busy")
        print(f"  capacity model    {per_call:.2f} ms of CPU per durable call -> at most "
              f"{cores * 1000 / per_call:.0f} calls/s on {cores} cores with a free load generator; "
              f"1,000 calls/s needs {per_call:.1f} cores (the HTTP stack alone, /healthz: {floor:.2f} ms)")
        print(f"  events and Safety Index caught up {r['drain_s']:.1f} s after the burst -> sustained "
              f"{r['sustained_rps']:.0f} calls/s including that work")
        if extra < 0:
            print("  ERROR: a call answered 2xx is missing from the database")
        print(f"  {args.rate:.0f} calls/s + recommendation   p50 {r['ol_p50_ms']:.1f} ms  p99 {r['ol_p99_ms']:.1f} ms"
              f"  (n={r['ol_n']:.0f})")
        print(f"  {args.light_rate:.0f} calls/s + recommendation    p50 {r['lo_p50_ms']:.1f} ms"
              f"  p99 {r['lo_p99_ms']:.1f} ms  (n={r['lo_n']:.0f}; a rate this machine sustains)")
        print(f"  positions ingest (HTTP, 200/batch) {r['positions_per_s']:9.0f} positions/s")
        if backend == "postgresql":
            print(f"  goals: >=1000 calls/s {'MET' if r['intake_rps'] >= 1000 else 'NOT MET'}; "
                  f"p99<=50 ms at 200/s {'MET' if r['ol_p99_ms'] <= 50 else 'NOT MET'}; "
                  f">=20000 positions/s {'MET' if r['positions_per_s'] >= 20000 else 'NOT MET'}")


if __name__ == "__main__":
    main()
