"""Coverage planning (MCLP) on a road graph: the fast method against the exact one (share of the optimum,
time) and against PySAL spopt's MCLP solved by HiGHS through PuLP (time), all in the same run.

The instance: ``--demand`` points (default 2,000) and ``--sites`` candidate sites (300) on road nodes of
the graph, demand weights log-normal and heavier towards the centre (a city's call density), costs the
car travel times from each site to each demand point on the road graph (the matrix the command
computes), ``--k`` sites (20) within ``--within`` seconds (300 = 5 min). Graphs: a synthetic grid city of
side N (``--graph grid:N``, default grid:250: 25 × 25 km, 62,500 nodes, the road classes and speeds of
jingwu.routing.synthetic) or the packaged Chengdu demo map (``--graph chengdu``: too small for this test,
20 sites within 5 min cover all of it).

spopt is timed from the cost matrix to the answer (model build + solve), as a user of spopt pays it; our
methods likewise from the cost matrix. Goals (issue #17): fast ≥ 99.5 % of the optimum, ≥ 10× faster than
spopt; the exact method proves optimality.

    PYTHONPATH=src .venv/bin/python bench/bench_coverage.py [--seeds 1,2,3] [--graph grid:150]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from jingwu.planning.coverage import CoverageProblem, solve
from jingwu.routing.domain import Metric
from jingwu.routing.graph import RoadGraph
from jingwu.routing.synthetic import grid_city

CHENGDU = Path(__file__).resolve().parents[1] / "src/jingwu/data/chengdu/chengdu_central_osm_2018.osm"


def load_graph(spec: str, cache: Path) -> RoadGraph:
    if spec == "chengdu":
        return RoadGraph.load_or_build(CHENGDU, cache)
    if spec.startswith("grid:"):
        return RoadGraph.from_pieces(grid_city(int(spec.split(":")[1])))
    raise SystemExit(f"unknown --graph {spec!r}")


def instance(g: RoadGraph, n_demand: int, n_sites: int, within: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon, lat = g.node_lon, g.node_lat
    cx, cy = float(np.median(lon)), float(np.median(lat))
    d2 = ((lon - cx) * 96_000) ** 2 + ((lat - cy) * 111_000) ** 2
    p = np.exp(-d2 / (2 * (0.35 * np.sqrt(d2.max())) ** 2))  # busier towards the centre
    dem = rng.choice(g.n_nodes, size=n_demand, replace=False, p=p / p.sum())
    sit = rng.choice(g.n_nodes, size=n_sites, replace=False)
    w = np.round(rng.lognormal(1.0, 0.8, n_demand), 2)
    d_snaps = g.prepare([g.snap(float(lon[i]), float(lat[i])) for i in dem])
    s_snaps = [g.snap(float(lon[i]), float(lat[i])) for i in sit]
    t0 = time.perf_counter()
    costs = g.matrix(s_snaps, d_snaps, Metric.TIME, max_cost=within)
    print(f"  cost matrix {n_sites} × {n_demand} (searches bounded at {within:g} s): {time.perf_counter() - t0:.2f} s")
    return costs, w


def run_spopt(costs: np.ndarray, w: np.ndarray, within: float, k: int) -> tuple[float, float]:
    import pulp
    from spopt.locate import MCLP

    c = np.where(np.isfinite(costs), costs, within * 10).T  # spopt: demand × facility, finite costs
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MCLP.from_cost_matrix(c, w, service_radius=within, p_facilities=k)
        model.solve(pulp.HiGHS(msg=False))
    took = time.perf_counter() - t0
    return float(pulp.value(model.problem.objective)), took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="grid:250")
    ap.add_argument("--demand", type=int, default=2000)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--within", type=float, default=300.0)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        g = load_graph(args.graph, Path(tmp))
    print(f"graph {args.graph}: {g.n_nodes} nodes; {args.demand} demand, {args.sites} sites, K={args.k}, "
          f"T={args.within:g} s")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        print(f"seed {seed}")
        costs, w = instance(g, args.demand, args.sites, args.within, seed)
        for levels in (1, 2):
            p = CoverageProblem.from_costs(costs, w, args.within, args.k, levels)
            ex = solve(p, "exact")
            fa = solve(p, "fast")
            share = fa.objective / ex.objective if ex.objective else 1.0
            line = (f"  {'backup' if levels == 2 else 'MCLP  '}: exact {ex.objective:10.2f} "
                    f"({'proven optimal' if ex.proven_optimal else f'gap {ex.gap}'}) {ex.seconds:7.3f} s | fast "
                    f"{fa.objective:10.2f} = {share * 100:7.3f} % of optimum, LP gap {100 * (fa.gap or 0):.3f} %, "
                    f"{fa.seconds:7.3f} s | covered share {ex.covered_share * 100:.1f} %")
            sp_time = None
            if levels == 1 and not args.no_spopt:
                sp_val, sp_time = run_spopt(costs, w, args.within, args.k)
                line += f"\n          spopt MCLP (HiGHS) {sp_val:10.2f} in {sp_time:7.3f} s → fast is " \
                        f"{sp_time / fa.seconds:6.1f}× faster, exact {sp_time / ex.seconds:5.1f}× faster"
                assert abs(sp_val - ex.objective) <= 1e-6 * max(1.0, ex.objective), "exact and spopt disagree"
            print(line)
            rows.append((levels, share, fa.seconds, ex.seconds, sp_time, ex.proven_optimal))
    mclp = [r for r in rows if r[0] == 1]
    shares = [100 * r[1] for r in mclp]
    print(f"summary (MCLP): fast share of optimum min {min(shares):.3f} %, mean {float(np.mean(shares)):.3f} %; "
          f"fast mean {float(np.mean([r[2] for r in mclp])):.3f} s, "
          f"exact mean {float(np.mean([r[3] for r in mclp])):.3f} s")
    if not args.no_spopt:
        print(f"         spopt mean {float(np.mean([r[4] for r in mclp])):.3f} s; "
              f"speed-up fast vs spopt min {min(r[4] / r[2] for r in mclp):.1f}×")
    print(f"exact proved optimality in {sum(r[5] for r in rows)} of {len(rows)} runs")


if __name__ == "__main__":
    main()
