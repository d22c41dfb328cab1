"""Coverage planning use case: read and check the tables, get the costs (the table or the road graph),
solve, shape the answer. Every check runs before the road graph is touched or the solver starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from jingwu.planning import inputs
from jingwu.planning.coverage import METHODS, CoverageProblem, check_params, solve
from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import Metric, RoutingError

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

MAX_PAIRS = 50_000_000  # sites × demand cells held in memory


@dataclass(frozen=True)
class CoverageRequest:
    demand_csv: str
    sites_csv: str
    k: int
    within: float
    costs_csv: str | None = None
    method: str = "exact"
    backup: bool = False
    metric: str = "time"          # road-graph costs: time (seconds) or distance (metres)
    snap_m: float = 500.0
    time_limit: float | None = None


def road_costs(graph: RoadGraph, sites: inputs.Points, demand: inputs.Points, within: float, metric: Metric,
               snap_m: float) -> npt.NDArray[np.float64]:
    """(sites × demand) travel costs from each site to each demand point on the road graph, ``inf`` beyond
    ``within`` (each search stops there). Points farther than ``snap_m`` from any road are refused."""
    def snaps(points: inputs.Points, name: str) -> list[Any]:
        out, off = [], []
        for pid, x, y in zip(points.ids, points.lon.tolist(), points.lat.tolist(), strict=True):
            try:
                out.append(graph.snap(x, y, snap_m))
            except RoutingError:
                off.append(pid)
        if off:
            more = f" and {len(off) - 10} more" if len(off) > 10 else ""
            raise InvalidInput(f"{name}: {len(off)} point(s) more than {snap_m:g} m from any road: "
                               f"{', '.join(off[:10])}{more}", code="off_network")
        return out

    s_snaps = snaps(sites, "sites")
    d_snaps = snaps(demand, "demand")
    return graph.matrix(s_snaps, graph.prepare(d_snaps), metric, max_cost=within)


def plan_coverage(req: CoverageRequest, graph: Callable[[], RoadGraph] | None = None) -> dict[str, Any]:
    """The coverage answer as a JSON-ready dict (see docs/methods/planning.md)."""
    if req.method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, got {req.method!r}", code="invalid_method")
    try:
        metric = Metric(req.metric)
    except ValueError:
        raise InvalidInput(f"metric must be time or distance, got {req.metric!r}", code="invalid_metric")
    if not (req.snap_m > 0):
        raise InvalidInput("the snap distance must be positive", code="invalid_snap")
    need_xy = req.costs_csv is None
    demand = inputs.read_demand(req.demand_csv, need_coords=need_xy)
    sites = inputs.read_sites(req.sites_csv, need_coords=need_xy)
    levels = 2 if req.backup else 1
    check_params(req.k, req.within, len(sites), levels)
    if len(sites) * len(demand) > MAX_PAIRS:
        raise InvalidInput(f"{len(sites)} sites × {len(demand)} demand points is more than {MAX_PAIRS} pairs",
                           code="too_large")
    t0 = time.perf_counter()
    if req.costs_csv is not None:
        costs = inputs.read_costs(req.costs_csv, sites, demand)
        unit = "cost table"
    else:
        if graph is None:
            raise InvalidInput("no cost table and no road graph", code="no_costs")
        costs = road_costs(graph(), sites, demand, req.within, metric, req.snap_m)
        unit = "seconds" if metric is Metric.TIME else "metres"
    t_costs = time.perf_counter() - t0
    problem = CoverageProblem.from_costs(costs, demand.weight, req.within, req.k, levels)
    res = solve(problem, req.method, time_limit=req.time_limit)
    cover = problem.cover
    chosen = []
    for j in res.chosen:
        row: dict[str, Any] = {"id": sites.ids[j], "covers_weight": round(float(demand.weight[cover[:, j]].sum()), 6),
                               "covers_points": int(cover[:, j].sum())}
        if np.isfinite(sites.lon[j]):
            row["lon"], row["lat"] = float(sites.lon[j]), float(sites.lat[j])
        chosen.append(row)
    counts = cover[:, res.chosen].sum(axis=1)
    answer: dict[str, Any] = {
        "method": res.method,
        "backup": req.backup,
        "k": req.k,
        "within": req.within,
        "unit": unit,
        "demand_points": len(demand),
        "candidate_sites": len(sites),
        "chosen": chosen,
        "covered_weight": round(res.covered_weight, 6),
        "covered_share": round(res.covered_share, 6),
        "total_weight": round(res.total_weight, 6),
        "uncovered_points": int((counts == 0).sum()),
        "objective": round(res.objective, 6),
        "bound": round(res.bound, 6),
        "proven_optimal": res.proven_optimal,
        "gap": None if res.gap is None else round(res.gap, 8),
        "seconds": round(res.seconds, 4),
        "cost_seconds": round(t_costs, 4),
        "details": res.details,
    }
    if req.backup:
        answer["backup_weight"] = round(res.backup_weight, 6)
        answer["backup_share"] = round(res.backup_share, 6)
    answer["demand"] = [{"id": pid, "covered_by": int(n)} for pid, n in zip(demand.ids, counts.tolist(), strict=True)]
    return answer
