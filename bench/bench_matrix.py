"""Travel-time matrix 300 × 2,000 on the 1M-node synthetic bench graph: the project's Dijkstra
(:meth:`RoadGraph.matrix`, one early-stopping search per source, threaded) against a contraction-hierarchy
library from PyPI (pandana 0.8; fast-paths does not install here, see docs/methods/simulation.md), in the
same run, exactness checked pair by pair. Also the simulation's table (one full search per source to every
node, :meth:`RoadGraph.node_costs`) for the same sources.

Sources and targets are random graph nodes (a snap exactly at a node costs 0 to enter it), so both engines
answer the same node-to-node question; the synthetic grid has no turn restrictions (pandana cannot model
them). Run: ``.venv/bin/python bench/bench_matrix.py [--side 1000] [--sources 300] [--targets 2000]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from jingwu.routing.domain import Metric
from jingwu.routing.graph import RoadGraph
from jingwu.routing.synthetic import grid_city


def timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=1000)
    ap.add_argument("--sources", type=int, default=300)
    ap.add_argument("--targets", type=int, default=2000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    g = RoadGraph.from_pieces(grid_city(args.side))
    print(f"synthetic grid {args.side}x{args.side}: {g.n_nodes:,} nodes, {g.n_edges:,} directed edges, "
          f"built in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores")
    assert g.n_search == g.n_nodes, "turn-restriction copies: pandana cannot answer the same question"
    rng = np.random.default_rng(11)
    src_nodes = rng.choice(g.n_nodes, args.sources, replace=False)
    tgt_nodes = rng.choice(g.n_nodes, args.targets, replace=False)
    src = [g.snap(float(g.node_lon[i]), float(g.node_lat[i])) for i in src_nodes]
    tgt = [g.snap(float(g.node_lon[i]), float(g.node_lat[i])) for i in tgt_nodes]
    g.matrix(src[:2], tgt[:10])  # JIT warm-up (cached on disk)

    w_dij, c_dij, m_dij = timed(lambda: g.matrix(src, tgt, Metric.TIME))
    print(f"\nproject Dijkstra matrix {args.sources} x {args.targets}: {w_dij:.2f} s wall, {c_dij:.2f} s CPU "
          f"({c_dij / args.sources * 1000:.0f} ms CPU per source)")
    n_tab = min(20, args.sources)
    w_tab, _c_tab, tab = timed(lambda: g.node_costs(src[:n_tab]))
    print(f"project one-to-all tables (simulation): {n_tab} sources x {g.n_nodes:,} nodes: {w_tab:.2f} s "
          f"({w_tab / n_tab * 1000:.0f} ms per source)")
    assert np.allclose(tab[:, tgt_nodes], m_dij[:n_tab], rtol=0, atol=1e-6)

    try:
        import pandana
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - reported, not hidden
        print(f"pandana not installed: {exc}")
        return
    a = g.a
    tail, head, w = a["ftail"].astype(np.int64), a["fadj"].astype(np.int64), a["ftime"]
    key = tail * g.n_nodes + head  # collapse parallel arcs to their minimum
    order = np.lexsort((w, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    ids = pd.Index(np.arange(g.n_nodes), name="id")

    def build():  # type: ignore[no-untyped-def]
        return pandana.Network(pd.Series(g.node_lon, index=ids), pd.Series(g.node_lat, index=ids),
                               pd.Series(tail[keep]), pd.Series(head[keep]),
                               pd.DataFrame({"time": w[keep]}), twoway=False)

    w_ch, c_ch, net = timed(build)
    print(f"\npandana {pandana.__version__} contraction hierarchy: preprocessing {w_ch:.1f} s wall, {c_ch:.1f} s CPU")
    oa = np.repeat(src_nodes, args.targets)
    ob = np.tile(tgt_nodes, args.sources)
    w_q, c_q, lengths = timed(lambda: np.asarray(net.shortest_path_lengths(oa, ob, "time"), dtype=np.float64))
    m_ch = lengths.reshape(args.sources, args.targets)
    print(f"pandana matrix {args.sources} x {args.targets}: {w_q:.2f} s wall, {c_q:.2f} s CPU")
    fin = np.isfinite(m_dij)
    unreach_ch = m_ch >= 1e9  # pandana's "no path" value
    diff = np.abs(m_ch[fin & ~unreach_ch] - m_dij[fin & ~unreach_ch])
    print(f"exactness: {fin.sum():,} finite pairs; max |difference| {diff.max():.6f} s, "
          f"{int((diff > 0.01).sum())} pairs differ by > 0.01 s; unreachable agree: "
          f"{bool(np.array_equal(~fin, unreach_ch))}")
    print(f"\nsummary (goal <= 2 s): project Dijkstra {w_dij:.2f} s; pandana query {w_q:.2f} s "
          f"(+ {w_ch:.1f} s preprocessing once per graph) -> query speed-up {w_dij / max(w_q, 1e-9):.1f}x; "
          f"break-even after {w_ch / max(w_dij - w_q, 1e-9):.1f} matrices of this size")


if __name__ == "__main__":
    main()
