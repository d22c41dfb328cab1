"""The period assessment (考核): per town and per responsible agency over a range of days, mean and
lowest score, days per band, warning onsets and ticket outcomes, with the same period a year
earlier for comparison. Every mean carries the number of scored town-days it is taken over and its
coverage (scored town-days / calendar town-days of the period), so a mean of two scored days is not read
as a year's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index.domain import Band, TicketStatus
from jingwu.safety_index.store import STATE_SCORED, repo


@dataclass
class Assessment:
    key: str  # town id or agency id
    name: str
    days: int = 0
    mean_score: float | None = None
    min_score: float | None = None
    band_days: dict[str, int] = field(default_factory=lambda: {b.value: 0 for b in Band})
    warnings: int = 0
    tickets_opened: int = 0
    tickets_closed: int = 0
    tickets_closed_on_time: int = 0
    tickets_escalated: int = 0
    tickets_open: int = 0
    previous_year_mean: float | None = None
    towns: int = 1
    period_days: int = 0  # calendar town-days in the period: days × towns
    coverage: float | None = None  # days / period_days
    previous_year_days: int = 0  # scored town-days behind previous_year_mean
    previous_year_coverage: float | None = None


def _coverage(n: int, of: int) -> float | None:
    return round(n / of, 4) if of else None


def assessment(first: date, last: date, *, principal: Principal, uow: SqlUnitOfWork,
               ) -> tuple[list[Assessment], list[Assessment]]:
    """Per town and per responsible agency (the town's own agency) for first..last, with the same
    period one year earlier for comparison."""
    principal.require(Permission.ANALYSE)
    if first > last:
        raise InvalidInput("'from' must not be after 'to'", code="invalid_range")
    if first.year < 1900 or last.year > 2999:
        raise InvalidInput("dates must lie between 1900 and 2999", code="invalid_range")
    if (last - first).days > 3 * 366:
        raise InvalidInput("at most three years per report")
    with uow:
        r = repo(uow)
        towns = [t for t in uow.towns.all() if principal.in_scope(t.agency_path)]
        ids = {t.id for t in towns}
        # scored town-days only: a no-data row (a town in its own warm-up) counts in no mean (ADR 0027)
        scores = [x for x in r.scores_between(first, last) if x["town_id"] in ids and x["state"] == STATE_SCORED]
        prev = [x for x in r.scores_between(first - timedelta(days=364), last - timedelta(days=364))
                if x["town_id"] in ids and x["state"] == STATE_SCORED]
        warns = [w for w in r.warnings_between(first, last) if w["onset"] and w["town_id"] in ids]
        tickets = [t for t in r.tickets(town_ids=ids) if first <= t.day <= last]
        agencies = {a.id: a for a in uow.agencies.in_subtree("/")}
    n_days = (last - first).days + 1
    per_town = {t.id: Assessment(t.id, t.name) for t in towns}
    sums: dict[str, list[float]] = {t.id: [] for t in towns}
    for x in scores:
        sums[x["town_id"]].append(x["score"])
        per_town[x["town_id"]].band_days[x["band"]] += 1
    prev_sums: dict[str, list[float]] = {t.id: [] for t in towns}
    for x in prev:
        prev_sums[x["town_id"]].append(x["score"])
    for tid, a in per_town.items():
        v = sums[tid]
        a.days = len(v)
        a.mean_score = round(sum(v) / len(v), 2) if v else None
        a.min_score = min(v) if v else None
        pv = prev_sums[tid]
        a.previous_year_mean = round(sum(pv) / len(pv), 2) if pv else None
        a.period_days, a.previous_year_days = n_days, len(pv)
        a.coverage, a.previous_year_coverage = _coverage(a.days, n_days), _coverage(len(pv), n_days)
    for w in warns:
        per_town[w["town_id"]].warnings += 1
    for t in tickets:
        a = per_town[t.town_id]
        a.tickets_opened += 1
        a.tickets_closed += t.status is TicketStatus.CLOSED
        a.tickets_closed_on_time += bool(t.closed_on_time)
        a.tickets_escalated += t.escalation_level > 0
        a.tickets_open += t.status is not TicketStatus.CLOSED
    per_agency: dict[str, Assessment] = {}
    town_agency = {t.id: t.agency_id for t in towns}
    for tid, a in per_town.items():
        ag = town_agency[tid]
        g = per_agency.setdefault(ag, Assessment(ag, agencies[ag].name, towns=0))
        g.towns += 1
        g.days += a.days
        for b, n in a.band_days.items():
            g.band_days[b] += n
        for f in ("warnings", "tickets_opened", "tickets_closed", "tickets_closed_on_time", "tickets_escalated",
                  "tickets_open"):
            setattr(g, f, getattr(g, f) + getattr(a, f))
    for ag, g in per_agency.items():
        mine = [tid for tid, x in town_agency.items() if x == ag]
        v = [s for tid in mine for s in sums[tid]]
        pv = [s for tid in mine for s in prev_sums[tid]]
        g.mean_score = round(sum(v) / len(v), 2) if v else None
        g.min_score = min(v) if v else None
        g.previous_year_mean = round(sum(pv) / len(pv), 2) if pv else None
        g.period_days, g.previous_year_days = n_days * g.towns, len(pv)
        g.coverage, g.previous_year_coverage = _coverage(g.days, g.period_days), _coverage(len(pv), g.period_days)
    return list(per_town.values()), sorted(per_agency.values(), key=lambda g: g.name)
