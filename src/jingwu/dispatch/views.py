"""Dispatch read models: the live board, KPIs (response times), the alarm-device list, open alerts and
a unit's current order. Queries shaped for a page; each opens its own read transaction."""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.dispatch.domain import IncidentStatus
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    return {"n": len(values), "mean": round(statistics.fmean(values), 1),
            "median": round(statistics.median(values), 1), "p90": round(_pct(values, 0.9), 1)}


def kpis(p: Principal, *, uow: DispatchUnitOfWork, since: datetime, until: datetime, tz: ZoneInfo
         ) -> dict[str, Any]:
    """Response times in seconds (mean, median, p90) by type, priority, station and hour, and unit rankings.

    intake→dispatch = first dispatch − received; dispatch→arrival = first arrival − first dispatch;
    total = first arrival − received.
    """
    if not p.can(Permission.DISPATCH):
        p.require(Permission.ANALYSE)
    with uow:
        incs = uow.incidents.search(path=p.agency_path, since=since, until=until, limit=1_000_000)
        incs = [i for i in incs if i.status != IncidentStatus.MERGED.value]
        asgs = uow.assignments.for_incidents([i.id for i in incs])
        agencies = {a.id: a for a in uow.agencies.in_subtree(p.agency_path)}
        units = {u.id: u for u in uow.units.in_subtree(p.agency_path)}
    groups: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in ("type", "priority", "station", "hour")}
    overall: dict[str, list[float]] = {"intake_to_dispatch": [], "dispatch_to_arrival": [], "total": []}

    def add(dim: str, key: str, metric: str, v: float) -> None:
        groups[dim].setdefault(key, {m: [] for m in overall})[metric].append(v)

    for i in incs:
        keys = {"type": i.type_code, "priority": f"P{i.priority}",
                "station": agencies[i.agency_id].name if i.agency_id in agencies else i.agency_id,
                "hour": f"{i.received_at.astimezone(tz).hour:02d}"}
        vals: dict[str, float] = {}
        if i.dispatched_at:
            vals["intake_to_dispatch"] = (i.dispatched_at - i.received_at).total_seconds()
        if i.dispatched_at and i.arrived_at:
            vals["dispatch_to_arrival"] = (i.arrived_at - i.dispatched_at).total_seconds()
        if i.arrived_at:
            vals["total"] = (i.arrived_at - i.received_at).total_seconds()
        for m, v in vals.items():
            overall[m].append(v)
            for dim, key in keys.items():
                add(dim, key, m, v)
    per_unit: dict[str, list[float]] = {}
    for a in asgs:
        if a.on_scene_at:
            per_unit.setdefault(a.unit_id, []).append((a.on_scene_at - a.dispatched_at).total_seconds())
    ranking: list[dict[str, Any]] = [
        {"unit_id": uid, "call_sign": units[uid].call_sign if uid in units else uid, "arrivals": len(v),
         "median_dispatch_to_arrival": round(statistics.median(v), 1)} for uid, v in per_unit.items()]
    ranking.sort(key=lambda r: (float(r["median_dispatch_to_arrival"]), -int(r["arrivals"])))
    return {
        "since": since.isoformat(), "until": until.isoformat(), "incidents": len(incs),
        "overall": {m: _summary(v) for m, v in overall.items()},
        "by": {dim: {k: {m: _summary(v) for m, v in d.items()} for k, d in sorted(g.items())}
               for dim, g in groups.items()},
        "units": ranking,
    }
