"""Safety Index read models: the index of a day per town (authenticated, in the caller's scope; and
public, with small counts withheld), the range of published days, one town's daily series and the
public warnings of a day (for the CAP feed). Pure reads, each in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput, NotFound
from jingwu.platform.org_store import TownRow
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index.domain import CURRENT_DAYS, RATE_PER, SUB_INDICES, Band, Ticket, TicketStatus, suppress
from jingwu.safety_index.services.tickets import known_status, tickets_in_scope
from jingwu.safety_index.store import STATE_NO_DATA, STATE_SCORED, repo


@dataclass(frozen=True)
class TownScore:
    """A town on a day. ``state`` is ``scored`` or ``no_data``; a no-data town (before its own warm-up
    ends, after the data's horizon, a day never computed, a town added later) has score, band, rank,
    sub-indices, rates and counts None: never 100."""

    town_id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    population: int
    day: date
    state: str
    score: float | None
    band: str | None
    rank: int | None
    sub_indices: dict[str, float] | None
    rates_per_10k: dict[str, float] | None
    total_rate_per_10k: float | None
    count_7d: int | None
    deaths_7d: int | None
    warnings: list[str]
    note: str | None = None  # method v2: why band and warning differ (docs/methods/safety-index.md §13)


def _latest_or(day: date | None, uow: SqlUnitOfWork) -> date:
    """The requested day, or the latest day on which any town is scored (the published default)."""
    if day is not None:
        return day
    last = repo(uow).scored_days()[1]
    if last is None:
        raise NotFound("No Safety Index has been computed yet.")
    return last


def _town_scores(day: date | None, uow: SqlUnitOfWork) -> tuple[date, list[TownScore]]:
    """Every town on the day: the scored ones by rank, then the no-data ones by code."""
    d = _latest_or(day, uow)
    r = repo(uow)
    by_town = {row["town_id"]: row for row in r.scores_on(d)}
    warns: dict[str, list[str]] = {}
    for w in r.warnings_between(d, d):
        warns.setdefault(w["town_id"], []).append(w["kind"])
    scored, missing = [], []
    for t in uow.towns.all():
        row = by_town.get(t.id)
        if row is None or row["state"] != STATE_SCORED:
            missing.append(TownScore(
                town_id=t.id, code=t.code, name=t.name, name_en=t.name_en, agency_id=t.agency_id,
                population=t.population, day=d, state=STATE_NO_DATA, score=None, band=None, rank=None,
                sub_indices=None, rates_per_10k=None, total_rate_per_10k=None, count_7d=None, deaths_7d=None,
                warnings=[]))
            continue
        scored.append(TownScore(
            town_id=t.id, code=t.code, name=t.name, name_en=t.name_en, agency_id=t.agency_id,
            population=t.population, day=d, state=STATE_SCORED, score=row["score"], band=row["band"],
            rank=row["rank"], sub_indices={s.value: round(row[f"s_{s.value}"], 2) for s in SUB_INDICES},
            rates_per_10k={s.value: round(row[f"h7_{s.value}"] / CURRENT_DAYS * RATE_PER / max(t.population, 1), 4)
                           for s in SUB_INDICES},
            total_rate_per_10k=round(row["total_rate"], 4), count_7d=row["count_7d"], deaths_7d=row["deaths_7d"],
            warnings=sorted(warns.get(t.id, [])), note=row.get("note")))
    scored.sort(key=lambda x: (x.rank or 0, x.code))
    missing.sort(key=lambda x: x.code)
    return d, scored + missing


def index_for(day: date | None, *, principal: Principal, uow: SqlUnitOfWork
              ) -> tuple[date, list[TownScore], int]:
    """Authenticated: every town in the caller's agency scope (ranks are city-wide), and the number of
    towns ranked city-wide that day (the scored ones)."""
    principal.require(Permission.ANALYSE)
    with uow:
        d, rows = _town_scores(day, uow)
        paths = {t.id: t.agency_path for t in uow.towns.all()}
    ranked = sum(1 for x in rows if x.state == STATE_SCORED)
    return d, [x for x in rows if principal.in_scope(paths[x.town_id])], ranked


@dataclass(frozen=True)
class PublicTownScore:
    """What the public sees: aggregates only; counts below 3 (and rates built on them) withheld; a
    no-data town with state ``no_data`` and score, band, rank and sub-indices None."""

    town_code: str
    name: str
    name_en: str | None
    day: date
    state: str
    score: float | None
    band: str | None
    rank: int | None
    sub_indices: dict[str, float] | None
    incidents_7d: int | None
    rate_per_10k: float | None
    warnings: list[str]
    geometry: dict[str, Any] | None
    note: str | None = None


@dataclass(frozen=True)
class PublicIndex:
    """The published index of a day, with the range of days published (days with at least one scored
    town) and how many towns are ranked (scored) of all towns that day."""

    day: date
    first_date: date | None
    last_date: date | None
    towns: list[PublicTownScore]
    ranked_towns: int = 0


def public_index(day: date | None, *, uow: SqlUnitOfWork, with_geometry: bool = False) -> PublicIndex:
    with uow:
        d, rows = _town_scores(day, uow)
        geo = {t.id: t.geometry for t in uow.towns.all()} if with_geometry else {}
        first, last = repo(uow).scored_days()
    out = []
    for x in rows:
        shown = suppress(x.count_7d) if x.count_7d is not None else None
        out.append(PublicTownScore(
            town_code=x.code, name=x.name, name_en=x.name_en, day=d, state=x.state, score=x.score, band=x.band,
            rank=x.rank, sub_indices=x.sub_indices, incidents_7d=shown,
            rate_per_10k=round(x.total_rate_per_10k, 3) if shown is not None and x.total_rate_per_10k is not None
            else None,
            warnings=x.warnings, geometry=geo.get(x.town_id), note=x.note))
    return PublicIndex(d, first, last, out, sum(1 for x in rows if x.state == STATE_SCORED))


def public_dates(*, uow: SqlUnitOfWork) -> tuple[date | None, date | None]:
    with uow:
        return repo(uow).scored_days()


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    state: str
    score: float | None
    band: str | None
    rank: int | None


def series(town_ref: str, first: date | None, last: date | None, *, uow: SqlUnitOfWork,
           principal: Principal | None = None) -> tuple[TownRow, list[SeriesPoint]]:
    """Score per day for one town (by id or code); public when ``principal`` is None. Every day of the
    range is a point: days without a scored row are ``no_data`` points (score None)."""
    with uow:
        towns = uow.towns.all()
        t = next((x for x in towns if town_ref in (x.id, x.code)), None)
        if t is None:
            raise NotFound(f"Town {town_ref} does not exist.")
        if principal is not None:
            principal.require(Permission.ANALYSE, t.agency_path)
        r = repo(uow)
        if any(d is not None and not 1900 <= d.year <= 2999 for d in (first, last)):
            raise InvalidInput("dates must lie between 1900 and 2999", code="invalid_range")
        last = last or r.scored_days()[1] or uow.clock.now().date()
        first = first or last - timedelta(days=89)
        if first > last:
            raise InvalidInput("'from' must not be after 'to'", code="invalid_range")
        if (last - first).days > 3 * 366:
            raise InvalidInput("at most three years per request")
        rows = {x["day"]: x for x in r.scores_between(first, last, t.id) if x["state"] == STATE_SCORED}
    pts = []
    for k in range((last - first).days + 1):
        d = first + timedelta(days=k)
        x = rows.get(d)
        pts.append(SeriesPoint(d, STATE_SCORED, x["score"], x["band"], x["rank"]) if x is not None
                   else SeriesPoint(d, STATE_NO_DATA, None, None, None))
    return t, pts


@dataclass(frozen=True)
class PublicWarning:
    day: date
    town_code: str
    name: str
    name_en: str | None
    kind: str  # red | surge_7d | mom_28d
    geometry: dict[str, Any] | None


def public_warnings(day: date | None, *, uow: SqlUnitOfWork) -> tuple[date, list[PublicWarning], int, int]:
    """Red bands and trend warnings of a day (no counts: the public CAP feed carries none), with the number
    of scored towns and of all towns (a town without data raises no alert)."""
    with uow:
        d, rows = _town_scores(day, uow)
        towns = {t.id: t for t in uow.towns.all()}
    out: list[PublicWarning] = []
    for x in rows:
        if x.state != STATE_SCORED:
            continue  # no alert for a town without data
        t = towns[x.town_id]
        kinds = (["red"] if x.band == Band.RED.value else []) + x.warnings
        out.extend(PublicWarning(d, t.code, t.name, t.name_en, k, t.geometry) for k in kinds)
    return d, out, sum(1 for x in rows if x.state == STATE_SCORED), len(rows)


@dataclass(frozen=True)
class SupervisionRow:
    t: Ticket
    town: str
    reasons: list[list[str]]  # [kind, day], by day then kind
    agency: str
    overdue: bool


@dataclass(frozen=True)
class SupervisionBoard:
    """The supervision page: tickets in the caller's scope (unclosed first, by deadline) and the scored days."""

    rows: list[SupervisionRow]
    first: date | None
    last: date | None


def supervision_board(status: str | None, *, principal: Principal, uow: SqlUnitOfWork) -> SupervisionBoard:
    """An unknown ``status`` lists every ticket."""
    principal.require(Permission.ANALYSE)
    with uow:
        tickets = tickets_in_scope(uow, principal, status if known_status(status) else None)
        towns = {t.id: t for t in uow.towns.all()}
        agencies = {a.id: a.name for a in uow.agencies.in_subtree("/")}
        first, last = repo(uow).scored_days()
        now = uow.clock.now()
    rows = [SupervisionRow(t, towns[t.town_id].name if t.town_id in towns else t.town_id,
                           sorted((x.split(":", 1) for x in t.reasons), key=lambda kv: (kv[1], kv[0])),
                           agencies.get(t.agency_id, t.agency_id), t.overdue(now))
            for t in sorted(tickets, key=lambda x: (x.status is TicketStatus.CLOSED, x.deadline))]
    return SupervisionBoard(rows, first, last)
