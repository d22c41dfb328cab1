"""The discrete-event simulation: units at their posts answer a call stream on a simulated clock.

Events (one heapq queue, ordered by simulated time): a call arrives; a unit is back at its post (free again);
an hour begins (shift changes, coverage sampled). A call is given, when it arrives, to the unit the policy
picks among the available units (on duty and at their post); with none available it waits in a first-come
queue and goes to the next unit that becomes available. The unit departs after the call-handling time, drives
the road network of its own travel mode at the routed speeds (the routing graph's travel times), stays the
call's on-scene time, drives back to its post and is available again on arrival there.

Travel times are looked up, never routed per pair: each unit's post is placed on its mode's graph and one
full Dijkstra per post gives the time to every node (:meth:`RoadGraph.node_costs`), one reverse search the
time back; calls and demand cells are placed on their nearest node (a KD-tree). The unit choice is
:func:`jingwu.routing.ranking.rank_units`, the order the dispatch recommendation ranks by.
docs/methods/simulation.md gives the formulas.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import RoutingError
from jingwu.routing.graph import RoadGraph
from jingwu.routing.ranking import rank_units
from jingwu.simulation.domain import Policy, SimParams
from jingwu.simulation.generator import M_PER_DEG, CallStream

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Progress = Callable[[float], None]

CHUNK = 4096  # calls whose unit ETAs are looked up at once
POST_SNAP_M = 5000.0
MAX_CALL_GAP_M = 2000.0  # a call farther than this from every node of a unit mode's graph is refused


def _xy(lon: F64, lat: F64, lat0: float) -> F64:
    """Local equirectangular metres (for nearest-node lookups and cells)."""
    return np.column_stack([lon * M_PER_DEG * math.cos(math.radians(lat0)), lat * M_PER_DEG])


def _haversine(lon1: F64, lat1: F64, lon2: float, lat2: float) -> F64:
    p1, p2 = np.radians(lat1), math.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


@dataclass
class Prepared:
    """Everything the event loop looks up: per unit its mode's tables, per call its nodes and ETAs."""

    params: SimParams
    calls: CallStream
    modes: list[str]
    post_lon: F64
    post_lat: F64
    fwd: dict[str, npt.NDArray[np.float32]]  # mode -> (posts of that mode, nodes) seconds post -> node
    back: dict[str, npt.NDArray[np.float32]]  # mode -> (posts, nodes) seconds node -> post
    unit_row: I64  # row of the unit's post in its mode's tables
    call_node: dict[str, I64]  # mode -> nearest node of each call on that mode's graph
    zone_lon: F64
    zone_lat: F64
    zone_w: F64  # demand share of each cell (sums to 1)
    covers: npt.NDArray[np.bool_]  # (units, zones): the unit at its post reaches the cell within the target
    prepare_s: float

    def etas(self, lo: int, hi: int) -> F64:
        """(hi - lo, units) seconds from each unit's post to each call lo..hi-1."""
        out = np.empty((hi - lo, len(self.modes)))
        for m, table in self.fwd.items():
            us = np.flatnonzero(np.asarray(self.modes) == m)
            out[:, us] = table[self.unit_row[us]][:, self.call_node[m][lo:hi]].T
        return out

    def back_time(self, u: int, i: int) -> float:
        m = self.modes[u]
        return float(self.back[m][self.unit_row[u], self.call_node[m][i]])


def prepare(graphs: Mapping[str, RoadGraph], posts: Sequence[tuple[float, float]], p: SimParams,
            calls: CallStream) -> Prepared:
    """Place posts, calls and demand cells on the graphs and compute the travel-time tables.

    ``posts``: one (lon, lat) per unit. Raises InvalidInput (``post_off_network``) for a post no road of its
    unit's mode comes within 5 km of, (``no_calls``) for an empty stream."""
    t0 = time.perf_counter()
    p.check()
    if len(posts) != p.units:
        raise InvalidInput(f"{len(posts)} posts for {p.units} units", code="invalid_input")
    if len(calls) == 0:
        raise InvalidInput("the call stream is empty: raise the calls per day or the days", code="no_calls")
    modes = p.unit_modes()
    post_lon = np.array([x for x, _ in posts], dtype=np.float64)
    post_lat = np.array([y for _, y in posts], dtype=np.float64)
    lat0 = float(np.mean(calls.lat))
    call_xy = _xy(calls.lon, calls.lat, lat0)
    # demand cells: the calls' own locations binned into square cells; a cell's point is its calls' centroid
    cell = np.floor(call_xy / p.cell_m).astype(np.int64)
    _, zone_of_call, counts = np.unique(cell, axis=0, return_inverse=True, return_counts=True)
    zone_of_call = zone_of_call.ravel()
    nz = counts.size
    zone_lon = np.bincount(zone_of_call, weights=calls.lon, minlength=nz) / counts
    zone_lat = np.bincount(zone_of_call, weights=calls.lat, minlength=nz) / counts
    zone_w = counts / counts.sum()
    zone_xy = _xy(zone_lon, zone_lat, lat0)
    fwd: dict[str, npt.NDArray[np.float32]] = {}
    back: dict[str, npt.NDArray[np.float32]] = {}
    call_node: dict[str, I64] = {}
    zone_node: dict[str, I64] = {}
    unit_row = np.zeros(p.units, dtype=np.int64)
    for m in dict.fromkeys(modes):
        g = graphs[m]
        tree = cKDTree(_xy(g.node_lon, g.node_lat, lat0))
        gap, near = tree.query(call_xy)
        far = np.flatnonzero(gap > MAX_CALL_GAP_M)
        if far.size:
            i = int(far[0])
            raise InvalidInput(f"{far.size} call(s) lie more than {MAX_CALL_GAP_M:g} m from the {m} network, e.g. "
                               f"({calls.lon[i]:.6f}, {calls.lat[i]:.6f}): replay only calls of the served area",
                               code="calls_off_network")
        call_node[m] = near.astype(np.int64)
        zone_node[m] = tree.query(zone_xy)[1].astype(np.int64)
        us = [u for u in range(p.units) if modes[u] == m]
        keys = list(dict.fromkeys((post_lon[u], post_lat[u]) for u in us))
        snaps = []
        for lon, lat in keys:
            try:
                snaps.append(g.snap(lon, lat, POST_SNAP_M))
            except RoutingError as exc:
                raise InvalidInput(f"a post at ({lon:.6f}, {lat:.6f}) is off the {m} network: {exc.message}",
                                   code="post_off_network") from None
        row_of = {k: r for r, k in enumerate(keys)}
        for u in us:
            unit_row[u] = row_of[(post_lon[u], post_lat[u])]
        fwd[m] = g.node_costs(snaps).astype(np.float32)
        back[m] = g.node_costs(snaps, reverse=True).astype(np.float32)
    covers = np.zeros((p.units, nz), dtype=bool)
    for u in range(p.units):
        m = modes[u]
        covers[u] = fwd[m][unit_row[u], zone_node[m]] <= p.target_s
    return Prepared(p, calls, modes, post_lon, post_lat, fwd, back, unit_row, call_node, zone_lon, zone_lat,
                    zone_w, covers, time.perf_counter() - t0)


def _duty_seconds(p: SimParams, u: int, days: int) -> float:
    return 3600.0 * days * sum(1 for h in range(24) if p.on_duty(u, h))


def _off_duty_overlap(p: SimParams, u: int, a: float, b: float) -> float:
    """Seconds of [a, b) that fall in hours unit ``u`` is off duty."""
    s = 0.0
    h = int(a // 3600)
    while h * 3600.0 < b:
        if not p.on_duty(u, h % 24):
            s += min(b, (h + 1) * 3600.0) - max(a, h * 3600.0)
        h += 1
    return s


def simulate(prep: Prepared, policy: str, progress: Progress | None = None) -> dict[str, Any]:
    """Run one policy over the prepared stream; the figures of docs/methods/simulation.md ("Outputs")."""
    t_start = time.perf_counter()
    p, calls = prep.params, prep.calls
    pol = Policy(policy)
    n, nu = len(calls), p.units
    horizon_h = calls.days * 24
    horizon_s = horizon_h * 3600.0
    w = prep.zone_w
    covers = prep.covers
    duty = np.array([[p.on_duty(u, h) for h in range(24)] for u in range(nu)], dtype=bool)
    idle = np.ones(nu, dtype=bool)
    avail = duty[:, 0] & idle
    cover_count = covers[avail].sum(axis=0).astype(np.int64)
    busy_s = np.zeros(nu)
    busy_off = np.zeros(nu)
    jobs = np.zeros(nu, dtype=np.int64)
    response = np.full(n, math.nan)
    wait = np.zeros(n)
    travel = np.full(n, math.nan)
    unit_of = np.full(n, -1, dtype=np.int64)
    unreachable = 0
    uncovered = np.zeros(horizon_h)
    zone_uncovered_h = np.zeros(w.size)
    on_duty_n = np.zeros(horizon_h, dtype=np.int64)
    queue: deque[int] = deque()
    heap: list[tuple[float, int, int]] = []  # (time back at post, seq, unit)
    seq = 0
    eta_lo, eta_hi, eta_tab = 0, 0, np.empty((0, nu))
    tol = p.tolerance_s

    def eta_row(i: int) -> F64:
        nonlocal eta_lo, eta_hi, eta_tab
        if not (eta_lo <= i < eta_hi):
            eta_lo, eta_hi = i, min(n, i + CHUNK)
            eta_tab = prep.etas(eta_lo, eta_hi)
        return eta_tab[i - eta_lo]

    def choose(i: int, cands: I64) -> int:
        """The unit (index into all units) the policy sends to call ``i``, or -1 when none can reach it."""
        etas = eta_row(i)[cands]
        if pol is Policy.NEAREST:
            d = _haversine(prep.post_lon[cands], prep.post_lat[cands], float(calls.lon[i]), float(calls.lat[i]))
            for j in rank_units(d):
                if math.isfinite(etas[j]):
                    return int(cands[j])
            return -1
        order = rank_units(etas)
        best = float(etas[order[0]])
        if not math.isfinite(best):
            return -1
        if pol is Policy.FASTEST:
            return int(cands[order[0]])
        near = order[etas[order] <= best + tol]
        if near.size == 1:
            return int(cands[near[0]])
        alone = cover_count == 1  # cells only one available unit covers: its departure uncovers them
        loss = (covers[cands[near]] & alone) @ w
        return int(cands[near[int(np.argmin(loss))]])  # argmin: the first (fastest) among equal losses

    def dispatch(i: int, u: int, now: float) -> None:
        nonlocal seq
        e = float(eta_row(i)[u]) if eta_lo <= i < eta_hi else float(prep.etas(i, i + 1)[0, u])
        depart = max(now, float(calls.t[i]) + p.handling_s)
        arrive = depart + e
        free_at = arrive + float(calls.service_s[i]) + prep.back_time(u, i)
        response[i] = arrive - float(calls.t[i])
        wait[i] = now - float(calls.t[i])
        travel[i] = e
        unit_of[i] = u
        idle[u] = False
        if avail[u]:
            avail[u] = False
            cover_count[:] -= covers[u]
        end = min(free_at, horizon_s)  # utilisation counts the simulated period only
        if end > now:
            busy_s[u] += end - now
            busy_off[u] += _off_duty_overlap(p, u, now, end)
        jobs[u] += 1
        seq += 1
        heapq.heappush(heap, (free_at, seq, u))

    def serve_queue(u: int, now: float) -> None:
        nonlocal unreachable
        while queue and avail[u]:
            i = queue.popleft()
            if math.isfinite(float(prep.etas(i, i + 1)[0, u])):
                dispatch(i, u, now)
            else:
                unreachable += 1

    i = 0
    hour = 0
    report_every = max(1, n // 200)
    while i < n or heap or hour < horizon_h:
        t_call = float(calls.t[i]) if i < n else math.inf
        t_free = heap[0][0] if heap else math.inf
        t_hour = hour * 3600.0 if hour < horizon_h else math.inf
        if t_hour <= t_call and t_hour <= t_free:  # an hour begins: shifts change, coverage sampled
            now_duty = duty[:, hour % 24]
            change = np.flatnonzero((now_duty & idle) != avail)
            for u in change.tolist():
                avail[u] = not avail[u]
                cover_count[:] += covers[u] if avail[u] else -covers[u].astype(np.int64)
            gap = cover_count == 0
            uncovered[hour] = float(w[gap].sum())
            zone_uncovered_h += gap
            on_duty_n[hour] = int(now_duty.sum())
            for u in change.tolist():
                if avail[u]:
                    serve_queue(int(u), t_hour)
            hour += 1
        elif t_free <= t_call:  # a unit is back at its post
            _, _, u = heapq.heappop(heap)
            idle[u] = True
            if duty[u, int(t_free // 3600) % 24]:
                avail[u] = True
                cover_count[:] += covers[u]
                serve_queue(u, t_free)
        else:  # a call arrives
            cands = np.flatnonzero(avail)
            if cands.size == 0:
                queue.append(i)
            else:
                u = choose(i, cands)
                if u < 0:
                    unreachable += 1
                else:
                    dispatch(i, u, t_call)
            i += 1
            if progress is not None and i % report_every == 0:
                progress(i / n)
    unreachable += len(queue)
    if progress is not None:
        progress(1.0)
    served = np.isfinite(response)
    r = response[served]
    duty_s = np.array([_duty_seconds(p, u, calls.days) for u in range(nu)])
    denom = duty_s + busy_off
    util = np.divide(busy_s, denom, out=np.zeros(nu), where=denom > 0)
    day_uncovered = uncovered.reshape(calls.days, 24).mean(axis=1)
    hod_uncovered = uncovered.reshape(calls.days, 24).mean(axis=0)

    def q(x: F64, f: float) -> float | None:
        return round(float(np.percentile(x, f)), 1) if x.size else None

    return {
        "policy": pol.value,
        "calls": n,
        "served": int(served.sum()),
        "unreachable": int(unreachable),
        "queued_share": round(float((wait[served] > 0).mean()), 4) if r.size else None,
        "response_mean_s": round(float(r.mean()), 1) if r.size else None,
        "response_median_s": q(r, 50),
        "response_p90_s": q(r, 90),
        "within_target_share": round(float((r <= p.target_s).mean()), 4) if r.size else None,
        "travel_mean_s": round(float(travel[served].mean()), 1) if r.size else None,
        "wait_mean_s": round(float(wait[served].mean()), 1) if r.size else None,
        "utilisation_mean": round(float(util.mean()), 4),
        "utilisation": [round(float(x), 4) for x in util],
        "jobs": jobs.tolist(),
        "uncovered_mean_share": round(float(uncovered.mean()), 4),
        "uncovered_by_day": [round(float(x), 4) for x in day_uncovered],
        "uncovered_by_hour_of_day": [round(float(x), 4) for x in hod_uncovered],
        "on_duty_by_hour_of_day": [int(x) for x in on_duty_n.reshape(calls.days, 24).mean(axis=0).round()],
        "zone_uncovered_share": [round(float(x), 3) for x in zone_uncovered_h / horizon_h],
        "response_histogram": _histogram(r),
        "seconds": round(time.perf_counter() - t_start, 2),
    }


def _histogram(r: F64, step: float = 60.0, top: int = 30) -> list[int]:
    """Counts of responses per minute (0–1 min, …, the last bin holds ≥ ``top - 1`` min)."""
    b = np.minimum((r // step).astype(np.int64), top - 1) if r.size else np.zeros(0, np.int64)
    return np.bincount(b, minlength=top).tolist()


def run(graphs: Mapping[str, RoadGraph], posts: Sequence[tuple[float, float]], p: SimParams, calls: CallStream,
        progress: Progress | None = None) -> dict[str, Any]:
    """Prepare once, then every policy of ``p`` on the same stream; the whole result (JSON-ready)."""
    prep = prepare(graphs, posts, p, calls)
    results = []
    k = len(p.policies)
    for j, pol in enumerate(p.policies):
        step: Progress | None = None
        if progress is not None:
            def step(f: float, j: int = j, cb: Progress = progress) -> None:
                cb((j + f) / k)
        results.append(simulate(prep, pol, step))
    return {
        "params": {"days": calls.days, "calls_per_day": p.calls_per_day, "units": p.units, "seed": p.seed,
                   "target_s": p.target_s, "handling_s": p.handling_s, "tolerance_s": p.tolerance_s,
                   "cell_m": p.cell_m, "shifts": list(p.shifts), "mix": p.mix if p.modes is None else None,
                   "service": {c: {"median_s": s.median_s, "sigma": s.sigma} for c, s in p.service.items()}},
        "calls": len(calls),
        "prepare_seconds": round(prep.prepare_s, 2),
        "posts": [{"lon": round(float(x), 6), "lat": round(float(y), 6), "mode": m}
                  for x, y, m in zip(prep.post_lon, prep.post_lat, prep.modes, strict=True)],
        "zones": {"lon": [round(float(x), 5) for x in prep.zone_lon],
                  "lat": [round(float(y), 5) for y in prep.zone_lat],
                  "weight": [round(float(x), 6) for x in prep.zone_w]},
        "results": results,
    }
