"""Response-time KPIs a commander can trust (moved out of views.py): response times by type, priority,
station and hour; arrivals flagged as implausible (assignments.arrival_flags: too_soon, far_from_scene, …)
marked and switchable (flagged = include | exclude | only); the Zhuhai-style headline, the average arrival
time (出警平均到场时长: first unit on scene − first dispatch, seed 003: 5 min 43 s in 2019) and its trend by
week; the unit ranking; and the whole as CSV (times in the deployment's zone, the zone shown)."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.dispatch.domain import IncidentStatus
from jingwu.dispatch.records_store import Arrival
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform import timefmt
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput

OFFICER_INITIATED_RULES = ("exclude", "include", "only")
FLAGGED_RULES = ("include", "exclude", "only")
DIMENSIONS = ("type", "priority", "station", "hour")
METRICS = ("intake_to_dispatch", "dispatch_to_arrival", "total")
# the reference figure of seed 003 (Zhuhai, 2019): 出警平均到场时长 5分43秒
ZHUHAI_2019_SECONDS = 5 * 60 + 43


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


def mmss(seconds: float | None) -> str:
    """``5 min 43 s`` (the headline's wording; empty for no value)."""
    if seconds is None:
        return ""
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s"


def week_start(at: datetime, tz: ZoneInfo) -> str:
    """The local Monday (ISO date) of the week an instant falls in."""
    d = timefmt.as_utc(at).astimezone(tz).date()
    return (d - timedelta(days=d.weekday())).isoformat()


def _first_arrival_flags(asg: list[Arrival]) -> str | None:
    """The flags of the assignment whose arrival is the incident's first (the one its times use)."""
    arrived = [(timefmt.as_utc(a.on_scene_at), a.flags) for a in asg if a.on_scene_at is not None]
    return min(arrived, key=lambda x: x[0])[1] if arrived else None


def _v(x: float | int | None) -> str | float | int:
    return "" if x is None else x


def kpis(p: Principal, *, uow: DispatchUnitOfWork, since: datetime, until: datetime, tz: ZoneInfo,
         officer_initiated: str = "exclude", flagged: str = "include") -> dict[str, Any]:
    """Response times in seconds (mean, median, p90) by type, priority, station and hour, the headline and its
    weekly trend, unit rankings, and incident counts.

    intake→dispatch = first dispatch − received; dispatch→arrival = first arrival − first dispatch (the
    headline's average arrival time); total = first arrival − received. Officer-initiated incidents are left
    out by default (``officer_initiated``). An incident whose first arrival is flagged (implausible: too soon
    for the route, far from the scene) is counted and marked; ``flagged`` = include (default) | exclude | only
    decides whether its times enter the figures. Counts always cover every incident in the window.
    """
    if officer_initiated not in OFFICER_INITIATED_RULES:
        raise InvalidInput(f"officer_initiated must be one of {list(OFFICER_INITIATED_RULES)}.",
                           code="invalid_officer_initiated")
    if flagged not in FLAGGED_RULES:
        raise InvalidInput(f"flagged must be one of {list(FLAGGED_RULES)}.", code="invalid_flagged")
    if not p.can(Permission.DISPATCH):
        p.require(Permission.ANALYSE)
    with uow:
        incs = uow.incidents.search(path=p.agency_path, since=since, until=until, limit=1_000_000)
        incs = [i for i in incs if i.status != IncidentStatus.MERGED.value]
        asgs = uow.records.arrival_flags([i.id for i in incs])
        agencies = {a.id: a for a in uow.agencies.in_subtree(p.agency_path)}
        units = {u.id: u for u in uow.units.in_subtree(p.agency_path)}
    groups: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in DIMENSIONS}
    overall: dict[str, list[float]] = {m: [] for m in METRICS}
    weeks: dict[str, list[float]] = {}

    def add(dim: str, key: str, metric: str, v: float) -> None:
        groups[dim].setdefault(key, {m: [] for m in overall})[metric].append(v)

    counts: dict[str, Any] = {"incidents": len(incs), "by_priority": {}, "officer_initiated": 0, "imported": 0,
                              "by_location_status": {}, "flagged_arrivals": 0, "flagged_by_code": {}}
    first_flags: dict[str, str | None] = {}
    for i in incs:
        pk = f"P{i.priority}"
        counts["by_priority"][pk] = counts["by_priority"].get(pk, 0) + 1
        counts["by_location_status"][i.location_status] = counts["by_location_status"].get(i.location_status, 0) + 1
        counts["officer_initiated"] += bool(i.officer_initiated)
        counts["imported"] += i.source == "imported"
        ff = first_flags[i.id] = _first_arrival_flags(asgs.get(i.id, []))
        if ff:
            counts["flagged_arrivals"] += 1
            for code in ff.split(","):
                counts["flagged_by_code"][code] = counts["flagged_by_code"].get(code, 0) + 1
    timed = [i for i in incs if (officer_initiated == "include"
                                 or bool(i.officer_initiated) == (officer_initiated == "only"))
             and (flagged == "include" or bool(first_flags[i.id]) == (flagged == "only"))]
    flagged_in = 0
    for i in timed:
        keys = {"type": i.type_code, "priority": f"P{i.priority}",
                "station": agencies[i.agency_id].name if i.agency_id in agencies else i.agency_id,
                "hour": f"{i.received_at.astimezone(tz).hour:02d}"}
        vals: dict[str, float] = {}
        if i.dispatched_at:
            vals["intake_to_dispatch"] = (i.dispatched_at - i.received_at).total_seconds()
        if i.dispatched_at and i.arrived_at:
            vals["dispatch_to_arrival"] = (i.arrived_at - i.dispatched_at).total_seconds()
            weeks.setdefault(week_start(i.received_at, tz), []).append(vals["dispatch_to_arrival"])
            flagged_in += bool(first_flags[i.id])
        if i.arrived_at:
            vals["total"] = (i.arrived_at - i.received_at).total_seconds()
        for m, v in vals.items():
            overall[m].append(v)
            for dim, key in keys.items():
                add(dim, key, m, v)
    timed_ids = {i.id for i in timed}
    per_unit: dict[str, list[float]] = {}
    per_unit_flagged: dict[str, int] = {}
    for iid, rows in asgs.items():
        if iid not in timed_ids:
            continue
        for a in rows:
            if a.on_scene_at is None or (flagged == "exclude" and a.flags) or (flagged == "only" and not a.flags):
                continue
            per_unit_flagged[a.unit_id] = per_unit_flagged.get(a.unit_id, 0) + bool(a.flags)
            per_unit.setdefault(a.unit_id, []).append((a.on_scene_at - a.dispatched_at).total_seconds())
    ranking: list[dict[str, Any]] = [
        {"unit_id": uid, "call_sign": units[uid].call_sign if uid in units else uid, "arrivals": len(v),
         "flagged_arrivals": per_unit_flagged.get(uid, 0),
         "median_dispatch_to_arrival": round(statistics.median(v), 1)} for uid, v in per_unit.items()]
    ranking.sort(key=lambda r: (float(r["median_dispatch_to_arrival"]), -int(r["arrivals"])))
    head = _summary(overall["dispatch_to_arrival"])
    return {
        "since": since.isoformat(), "until": until.isoformat(), "timezone": tz.key, "incidents": len(incs),
        "officer_initiated": officer_initiated, "flagged": flagged, "timed_incidents": len(timed),
        "counts": {**counts, "by_priority": dict(sorted(counts["by_priority"].items()))},
        "headline": {"metric": "dispatch_to_arrival", "mean_seconds": head["mean"], "n": head["n"],
                     "text": mmss(head["mean"]), "flagged_included": flagged_in,
                     "reference": {"label": "Zhuhai 2019 (seed 003)", "mean_seconds": ZHUHAI_2019_SECONDS,
                                   "text": mmss(ZHUHAI_2019_SECONDS)},
                     "weekly": [{"week": w, **_summary(v)} for w, v in sorted(weeks.items())]},
        "overall": {m: _summary(v) for m, v in overall.items()},
        "by": {dim: {k: {m: _summary(v) for m, v in d.items()} for k, d in sorted(g.items())}
               for dim, g in groups.items()},
        "units": ranking,
    }


def kpis_csv(data: dict[str, Any], tz: ZoneInfo) -> str:
    """The KPIs as one CSV table: section, key, metric, n, mean_s, median_s, p90_s (the window and the zone
    in the first rows, local times with their offset)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("section", "key", "metric", "n", "mean_s", "median_s", "p90_s"))
    w.writerow(("window", "since", timefmt.local(data["since"], tz), "", "", "", ""))
    w.writerow(("window", "until", timefmt.local(data["until"], tz), "", "", "", ""))
    w.writerow(("window", "timezone", tz.key, "", "", "", ""))
    w.writerow(("window", "officer_initiated", data["officer_initiated"], "", "", "", ""))
    w.writerow(("window", "flagged", data["flagged"], data["counts"]["flagged_arrivals"], "", "", ""))
    h = data["headline"]
    w.writerow(("headline", "average_arrival", "dispatch_to_arrival", h["n"], _v(h["mean_seconds"]), "", ""))
    for wk in h["weekly"]:
        w.writerow(("headline_week", wk["week"], "dispatch_to_arrival", wk["n"], _v(wk["mean"]), _v(wk["median"]),
                    _v(wk["p90"])))
    for m, s in data["overall"].items():
        w.writerow(("overall", "", m, s["n"], _v(s["mean"]), _v(s["median"]), _v(s["p90"])))
    for dim, g in data["by"].items():
        for key, ms in g.items():
            for m, s in ms.items():
                w.writerow((dim, key, m, s["n"], _v(s["mean"]), _v(s["median"]), _v(s["p90"])))
    for u in data["units"]:
        w.writerow(("unit", u["call_sign"], "median_dispatch_to_arrival", u["arrivals"],
                    "", u["median_dispatch_to_arrival"], ""))
    return "\ufeff" + buf.getvalue()
