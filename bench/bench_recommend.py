"""Recommendation latency in process: the Chengdu demo city, N calls, ``recommend()`` for each.

Measures the service itself (database read, snapping, one many-to-one search per travel mode present,
ranking, reasons) without HTTP, as wall time and as the calling thread's CPU time (the latter is less
disturbed by other jobs on a shared machine). The first call includes loading (or building) the graphs.

    .venv/bin/python bench/bench_recommend.py [--calls 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ["JINGWU_DATA_DIR"] = tempfile.mkdtemp(prefix="jw-recbench-")
    os.environ.setdefault("JINGWU_SECRET_KEY", "bench-secret-0123456789abcdef")
    os.environ["JINGWU_MQTT_ENABLED"] = "0"
    os.environ.pop("JINGWU_DATABASE_URL", None)
    from jingwu.demo import city as demo
    from jingwu.demo.autopilot import Autopilot
    from jingwu.dispatch.services import intake, recommend
    from jingwu.dispatch.wiring import catalogue, dispatch_read_uow, dispatch_uow, geo
    from jingwu.platform.container import build_container
    from jingwu.platform.db import upgrade
    from jingwu.platform.settings import get_settings

    c = build_container(get_settings())
    upgrade(c.engine)
    demo.load_demo_city(c)
    p = Autopilot(c).principal()
    g = geo(c).graph
    rng = random.Random(5)
    nodes = list(zip(g.node_lon.tolist(), g.node_lat.tolist(), strict=True))
    ids = []
    for _ in range(args.calls):  # a fight (cars), domestic violence (car + foot patrol), a theft
        lon, lat = rng.choice(nodes)
        kind = rng.choice(["020200", "021100", "010400"])
        r = intake.receive_call(intake.ReceiveCall(channel="phone", type_code=kind, lon=lon, lat=lat, accuracy_m=10.0),
                                uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c), actor="bench", actor_agency_id=None)
        ids.append(r.incident_id)
    t0 = time.perf_counter()
    recommend.recommend(p, ids[0], uow=dispatch_read_uow(c), geo=geo(c), cat=catalogue(c))
    first = time.perf_counter() - t0
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for i in ids:
            t0, c0 = time.perf_counter(), time.thread_time()
            recommend.recommend(p, i, uow=dispatch_read_uow(c), geo=geo(c), cat=catalogue(c))
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
    wall.sort()
    cpu.sort()
    with dispatch_uow(c) as uow:
        n_units = len(uow.units.in_subtree("/"))

    def q(xs: list[float], f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    print(f"recommend() on the Chengdu demo ({n_units} units, {len(wall)} calls; first call {first * 1000:.0f} ms):")
    print(f"  wall p50 {statistics.median(wall):.2f} ms  p90 {q(wall, 0.9):.2f} ms  p99 {q(wall, 0.99):.2f} ms")
    print(f"  CPU  p50 {statistics.median(cpu):.2f} ms  p90 {q(cpu, 0.9):.2f} ms  p99 {q(cpu, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
