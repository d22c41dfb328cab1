"""Simulation benchmarks on the Chengdu demo network.

(a) One simulated year of a 1,000-calls/day city (goal ≤ 60 s), every policy, timed by phase, against two
    baselines measured in the same run on a sample of the same calls and scaled to the year: dispatch's own
    per-call search (snap the call, one many-to-one search from all units, as the recommendation does) and
    one route per unit–call pair.
(c) The policies on one call stream: fastest by road and coverage-aware against straight-line nearest, mean
    and p90 response (goal: ≥ 20 % lower mean), for a car-only fleet and a mixed fleet (3 cars : 1 foot patrol).

Run: ``.venv/bin/python bench/bench_simulation.py [--days 365] [--calls-per-day 1000] [--units 60]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from jingwu.routing.graph import RoadGraph
from jingwu.simulation import engine, generator
from jingwu.simulation.domain import SimParams
from jingwu.simulation.services import spread_posts

ROOT = Path(__file__).resolve().parents[1]
CHENGDU = ROOT / "src" / "jingwu" / "data" / "chengdu" / "chengdu_central_osm_2018.osm"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--calls-per-day", type=float, default=1000.0)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--sample", type=int, default=2000, help="calls timed for the per-call baseline")
    args = ap.parse_args()
    cache = Path(os.environ.get("JINGWU_GRAPH_DIR") or tempfile.mkdtemp(prefix="jw-simbench-"))
    car = RoadGraph.load_or_build(CHENGDU, cache)
    foot = RoadGraph.load_or_build(CHENGDU, cache, mode="foot")
    graphs = {"car": car, "foot": foot}
    posts = spread_posts(car, args.units)
    print(f"Chengdu demo network: car {car.n_nodes:,} nodes / {car.n_edges:,} edges, foot {foot.n_nodes:,} nodes; "
          f"{args.units} units at {len(set(posts))} posts; {os.cpu_count()} cores")

    # (a) a year -------------------------------------------------------------------------------------------
    p = SimParams(days=args.days, calls_per_day=args.calls_per_day, units=args.units,
                  policies=("nearest", "fastest", "coverage"), seed=2026).check()
    engine.run(graphs, posts, p.with_(days=1), generator.generate(p.with_(days=1), car.node_lon, car.node_lat))
    t0, c0 = time.perf_counter(), time.process_time()
    calls = generator.generate(p, car.node_lon, car.node_lat)
    t_gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    prep = engine.prepare(graphs, posts, p, calls)
    t_prep = time.perf_counter() - t1
    results = {}
    cpu_pol = {}
    for pol in p.policies:
        cp = time.process_time()
        results[pol] = engine.simulate(prep, pol)
        cpu_pol[pol] = time.process_time() - cp
    total = time.perf_counter() - t0
    total_cpu = time.process_time() - c0
    n = len(calls)
    per_pol = {k: v["seconds"] for k, v in results.items()}
    print(f"\n(a) {args.days} days x {args.calls_per_day:g} calls/day = {n:,} calls, {args.units} car units")
    print(f"    generate {t_gen:.2f} s, prepare (post tables, call/cell nodes) {t_prep:.2f} s, simulate "
          + ", ".join(f"{k} {v:.1f} s" for k, v in per_pol.items()))
    one = t_gen + t_prep + per_pol["fastest"]
    print("    CPU: " + ", ".join(f"{k} {v:.1f} s" for k, v in cpu_pol.items()) + f"; all three with preparation "
          f"{total_cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"    one policy end to end: {one:.1f} s ({one / n * 1e6:.0f} µs per call); all three: {total:.1f} s "
          f"(goal <= 60 s: {'PASS' if one <= 60 else 'FAIL'} for one policy, "
          f"{'PASS' if total <= 60 else 'FAIL'} for three)")

    # baselines on a sample of the same calls, scaled to the year
    rng = np.random.default_rng(1)
    sample = rng.choice(n, min(args.sample, n), replace=False)
    unit_snaps = car.prepare([car.snap(x, y, 5000.0) for x, y in posts])
    car.many_to_one(unit_snaps, car.snap(float(calls.lon[0]), float(calls.lat[0]), 5000.0))
    tb = time.perf_counter()
    for i in sample:
        car.many_to_one(unit_snaps, car.snap(float(calls.lon[i]), float(calls.lat[i]), 5000.0))
    per_call = (time.perf_counter() - tb) / sample.size
    k_route = 100
    tr = time.perf_counter()
    for i in sample[:k_route]:
        s = car.snap(float(calls.lon[i]), float(calls.lat[i]), 5000.0)
        for u in unit_snaps:
            car.route(u, s)
    per_call_routes = (time.perf_counter() - tr) / k_route
    print(f"    baseline, dispatch's search per call (snap + many-to-one from {args.units} units): "
          f"{per_call * 1e3:.2f} ms per call -> {per_call * n:.0f} s for the year's ETAs alone "
          f"({per_call * n / max(per_pol['fastest'], 1e-9):.0f}x the simulation's lookup)")
    print(f"    baseline, one route per unit-call pair: {per_call_routes * 1e3:.1f} ms per call -> "
          f"{per_call_routes * n / 3600:.1f} h for the year")

    # (c) policies ------------------------------------------------------------------------------------------
    print("\n(c) same call stream, policy against straight-line nearest (mean / p90 response, s):")
    n_mixed = args.units + args.units // 3
    for label, mix, units, res in ((f"{args.units} cars, {args.days} days", {"car": 1.0}, args.units, results),
                                   (f"{args.units} cars + {args.units // 3} foot patrols", {"car": 3.0, "foot": 1.0},
                                    n_mixed, None)):
        if res is None:
            q = p.with_(mix=mix, units=units, days=min(args.days, 90))
            cs = generator.generate(q, car.node_lon, car.node_lat)
            pr = engine.prepare(graphs, spread_posts(car, units), q, cs)
            res = {pol: engine.simulate(pr, pol) for pol in q.policies}
            label += f", {q.days} days"
        base = res["nearest"]
        print(f"    {label}: nearest {base['response_mean_s']:.0f} / {base['response_p90_s']:.0f} "
              f"(travel {base['travel_mean_s']:.0f}, within 300 s {base['within_target_share']:.1%}, "
              f"uncovered {base['uncovered_mean_share']:.1%})")
        for pol in ("fastest", "coverage"):
            r = res[pol]
            dm = 1 - r["response_mean_s"] / base["response_mean_s"]
            dp = 1 - r["response_p90_s"] / base["response_p90_s"]
            dt = 1 - r["travel_mean_s"] / base["travel_mean_s"]
            print(f"      {pol:9s} {r['response_mean_s']:.0f} / {r['response_p90_s']:.0f}: mean {dm:+.1%} lower, "
                  f"p90 {dp:+.1%} lower, travel {dt:+.1%} lower, within 300 s {r['within_target_share']:.1%}, "
                  f"uncovered {r['uncovered_mean_share']:.1%} (goal >= 20 % lower mean: "
                  f"{'PASS' if dm >= 0.2 else 'FAIL'})")


if __name__ == "__main__":
    main()
