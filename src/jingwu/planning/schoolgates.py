"""School-gate peak duty (护学岗): which units send how many officers to which school gate, at the
morning and afternoon peaks (seed 004: Shenzhen, 5,000+ officers a day at school start and end).

Input: schools ``id,lon,lat[,officers]`` (officers needed at the gate per peak, default 1) and units
``id,lon,lat,officers`` (officers a unit or station can give to the peak). The assignment is the
transportation problem

    min Σ_ij t_ij z_ij   s.t.  Σ_i z_ij = need_j (each school),  Σ_j z_ij ≤ cap_i (each unit),  z ≥ 0

with ``t_ij`` the travel time from unit i to school j on the road graph (pairs beyond ``within`` are not
allowed); its constraint matrix is totally unimodular, so the LP optimum (HiGHS) is integral. The same
assignment serves both peaks (the peaks are an hour each, hours apart). Checks before any work:
schools needing more officers than all units have (``short``), duplicate ids, missing columns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from jingwu.planning.inputs import _number, _rows
from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import Metric, RoutingError

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

PEAKS = ("07:30-08:30", "16:30-17:30")


def read_places(text: str, name: str, *, count_col: str, default: int | None) -> tuple[list[str], np.ndarray,
                                                                                       np.ndarray]:
    """(ids, lon/lat (n, 2), counts) from ``id,lon,lat[,count_col]``."""
    required = ["id", "lon", "lat"] + ([count_col] if default is None else [])
    rows, header = _rows(text, name, required)
    ids: list[str] = []
    xy = np.zeros((len(rows), 2))
    counts = np.zeros(len(rows), dtype=np.int64)
    seen: set[str] = set()
    for n, r in enumerate(rows):
        line = n + 2
        pid = r["id"]
        if not pid:
            raise InvalidInput(f"{name} line {line}: empty id", code="missing_id")
        if pid in seen:
            raise InvalidInput(f"{name} line {line}: duplicate id {pid!r}", code="duplicate_id")
        seen.add(pid)
        ids.append(pid)
        if not r.get("lon") or not r.get("lat"):
            raise InvalidInput(f"{name} line {line}: {pid!r} has no coordinates", code="missing_coordinates")
        xy[n] = _number(r["lon"], name, line, "lon"), _number(r["lat"], name, line, "lat")
        raw = r.get(count_col, "") if count_col in header else ""
        c = default if not raw and default is not None else _number(raw, name, line, count_col)
        if c is None or c < 0 or c != int(c) or c > 10_000:
            raise InvalidInput(f"{name} line {line}: {count_col} must be a whole number 0 to 10000",
                               code="invalid_count")
        counts[n] = int(c)
    return ids, xy, counts


def check_peaks(peaks: str) -> list[str]:
    out = []
    for part in peaks.split(","):
        part = part.strip()
        try:
            a, b = part.split("-")
            ha, ma = (int(x) for x in a.split(":"))
            hb, mb = (int(x) for x in b.split(":"))
        except ValueError:
            raise InvalidInput(f"peaks must look like 07:30-08:30,16:30-17:30, got {part!r}", code="invalid_peaks")
        if not (0 <= ha < 24 and 0 <= hb < 24 and 0 <= ma < 60 and 0 <= mb < 60 and (ha, ma) < (hb, mb)):
            raise InvalidInput(f"invalid peak {part!r}", code="invalid_peaks")
        out.append(f"{ha:02d}:{ma:02d}-{hb:02d}:{mb:02d}")
    return out


def plan_gates(schools_csv: str, units_csv: str, graph: Any, *, within: float = 900.0, peaks: str = ",".join(PEAKS),
               snap_m: float = 500.0) -> dict[str, Any]:
    """``graph`` is a callable returning the road graph (loaded only after the tables pass their checks)."""
    sid, sxy, need = read_places(schools_csv, "schools", count_col="officers", default=1)
    uid, uxy, cap = read_places(units_csv, "units", count_col="officers", default=None)
    windows = check_peaks(peaks)
    if not (math.isfinite(within) and within > 0):
        raise InvalidInput("the travel limit must be a positive number of seconds", code="invalid_within")
    if need.sum() > cap.sum():
        raise InvalidInput(f"the schools need {int(need.sum())} officers per peak but the units have "
                           f"{int(cap.sum())}", code="short")
    g: RoadGraph = graph()
    snaps = []
    for name, ids, xy in (("units", uid, uxy), ("schools", sid, sxy)):
        got, off = [], []
        for pid, (x, y) in zip(ids, xy.tolist(), strict=True):
            try:
                got.append(g.snap(x, y, snap_m))
            except RoutingError:
                off.append(pid)
        if off:
            raise InvalidInput(f"{name}: {len(off)} point(s) more than {snap_m:g} m from any road: "
                               f"{', '.join(off[:10])}", code="off_network")
        snaps.append(got)
    t = g.matrix(snaps[0], g.prepare(snaps[1]), Metric.TIME, max_cost=within)  # units × schools
    reach = np.isfinite(t)
    lonely = [sid[j] for j in range(len(sid)) if need[j] > 0 and not reach[:, j].any()]
    if lonely:
        raise InvalidInput(f"{len(lonely)} school(s) have no unit within {within:g} s: {', '.join(lonely[:10])}",
                           code="unreachable")
    ii, jj = np.nonzero(reach)
    nv = ii.size
    cost = t[ii, jj]
    a_eq = sparse.csr_matrix((np.ones(nv), (jj, np.arange(nv))), shape=(len(sid), nv))
    a_ub = sparse.csr_matrix((np.ones(nv), (ii, np.arange(nv))), shape=(len(uid), nv))
    res = linprog(cost, A_ub=a_ub, b_ub=cap.astype(float), A_eq=a_eq, b_eq=need.astype(float), bounds=(0, None),
                  method="highs")
    if res.status != 0 or res.x is None:
        raise InvalidInput("the units within reach cannot cover every school's need", code="infeasible")
    z = np.round(res.x).astype(np.int64)
    by_school: list[dict[str, Any]] = []
    used = np.zeros(len(uid), dtype=np.int64)
    for j in range(len(sid)):
        sel = np.flatnonzero((jj == j) & (z > 0))
        sends = [{"unit": uid[ii[k]], "officers": int(z[k]), "travel_s": round(float(cost[k]), 1)} for k in sel]
        for k in sel:
            used[ii[k]] += z[k]
        by_school.append({"school": sid[j], "lon": float(sxy[j, 0]), "lat": float(sxy[j, 1]),
                          "officers": int(need[j]), "from": sends})
    travel = [float(cost[k]) for k in range(nv) for _ in range(int(z[k]))]
    return {"peaks": windows, "schools": len(sid), "officers_per_peak": int(need.sum()),
            "officer_duties_per_day": int(need.sum()) * len(windows),
            "mean_travel_s": round(float(np.mean(travel)), 1) if travel else 0.0,
            "max_travel_s": round(float(np.max(travel)), 1) if travel else 0.0,
            "total_travel_s": round(float(res.fun), 1), "assignments": by_school,
            "units": [{"unit": uid[i], "officers": int(cap[i]), "assigned": int(used[i])} for i in range(len(uid))]}
