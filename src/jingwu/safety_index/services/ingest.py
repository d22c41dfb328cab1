"""Recording incidents and the incremental update: incident facts (from ``jingwu.incidents.recorded``
events and imports) stored idempotently by incident_id, what a batch changed, and applying those
changes to the stored window sums of the scored days they reach (no facts re-read), with a fallback
to recomputing those days from the facts.

``ingest`` (the bus handler's path) records and applies in ONE transaction under the index lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from jingwu.contracts.events import IncidentRecorded
from jingwu.platform.clock import Clock
from jingwu.platform.errors import InvalidInput
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index import engine
from jingwu.safety_index.columnar import weight_table
from jingwu.safety_index.domain import HISTORY_DAYS, SUB_INDICES, TICKET_DEADLINE_DAYS, Category, Method, harm
from jingwu.safety_index.services.common import ComputeSummary, UowFactory, populations
from jingwu.safety_index.services.compute import recompute_days, score_columns, trigger_tickets, warning_rows
from jingwu.safety_index.store import repo

Locate = Callable[[float, float], str | None]  # (lon, lat) -> the id of the town there


@dataclass(frozen=True)
class IncidentFact:
    incident_id: str
    occurred_at: datetime
    town_id: str | None
    type_code: str
    category: Category
    deaths: int = 0
    injuries: int = 0
    source: str = "event"

    def row(self, tz: ZoneInfo, received_at: datetime) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "occurred_at": self.occurred_at,
                "day": self.occurred_at.astimezone(tz).date(), "town_id": self.town_id,
                "type_code": self.type_code, "category": self.category.value, "deaths": self.deaths,
                "injuries": self.injuries, "source": self.source, "received_at": received_at}


def fact_from_event(payload: dict[str, Any], locate: Locate | None = None) -> IncidentFact:
    """A fact from a ``jingwu.incidents.recorded`` payload, read through the event's contract
    (``IncidentRecorded``); a payload the contract refuses is an ``InvalidInput``. An event without a
    town but with a position gets the town ``locate`` finds there (if any)."""
    try:
        ev = IncidentRecorded.from_payload(payload)
        category = Category(ev.category)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"bad incident event: {exc}") from exc
    town_id = ev.town_id
    if town_id is None and locate is not None and ev.lon is not None and ev.lat is not None:
        town_id = locate(ev.lon, ev.lat)
    return IncidentFact(incident_id=ev.incident_id, occurred_at=ev.occurred_at, town_id=town_id,
                        type_code=ev.type_code, category=category, deaths=ev.deaths, injuries=ev.injuries)


@dataclass
class Changes:
    """What a batch of facts changed: the days, the new rows and the old versions they replaced."""

    days: set[date] = field(default_factory=set)
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)


_FACT_KEYS = ("day", "town_id", "type_code", "category", "deaths", "injuries")


def _record_in(uow: SqlUnitOfWork, facts: Sequence[IncidentFact], tz: ZoneInfo) -> Changes:
    """Upsert facts inside an open unit of work (no commit); report what changed."""
    now = uow.clock.now()
    ch = Changes()
    r = repo(uow)
    facts = list({f.incident_id: f for f in facts}.values())  # the last version of an id in the batch wins
    before = r.existing(f.incident_id for f in facts)
    fresh: list[dict[str, Any]] = []
    for f in facts:
        row = f.row(tz, now)
        old = before.get(f.incident_id)
        if old is not None and all(old[k] == row[k] for k in _FACT_KEYS):
            continue  # the same event again
        fresh.append(row)
        ch.added.append(row)
        ch.days.add(row["day"])
        if old is not None:
            ch.removed.append(old)
            ch.days.add(old["day"])
    r.upsert_incidents(fresh)
    return ch


def record_incidents_ex(facts: Sequence[IncidentFact], *, uow: SqlUnitOfWork, tz: ZoneInfo) -> Changes:
    """Store facts (idempotent by incident_id) in one transaction; report what changed.
    Scores are not touched: follow with ``apply_changes`` or a compute, or use ``ingest``."""
    with uow:
        repo(uow).lock()
        ch = _record_in(uow, facts, tz)
        uow.commit()
    return ch


def record_incidents(facts: Sequence[IncidentFact], *, uow: SqlUnitOfWork, tz: ZoneInfo) -> set[date]:
    """Store facts (idempotent by incident_id). Returns the days whose aggregates changed."""
    return record_incidents_ex(facts, uow=uow, tz=tz).days


def _deltas(ch: Changes, method: Method) -> pd.DataFrame:
    """Signed per (town, day, sub-index) changes of harm, count and deaths."""
    rows = [(+1, r) for r in ch.added] + [(-1, r) for r in ch.removed]
    df = pd.DataFrame([{"sign": sg, **{k: r[k] for k in _FACT_KEYS}} for sg, r in rows if r["town_id"]])
    if df.empty:
        return df
    wt = weight_table(df[["type_code", "category"]].drop_duplicates(), method)
    df = df.merge(wt, on=["type_code", "category"], how="left")
    df["harm"] = df["sign"] * harm(1, df["w"], df["injuries"], df["sub"] >= 0, method.injury_weight)
    df["n"] = np.where(df["sub"] >= 0, df["sign"], 0)
    df["dead"] = df["sign"] * df["deaths"]
    return df.groupby(["town_id", "day", "sub"], as_index=False)[["harm", "n", "dead"]].sum()


class _NeedsRecompute(Exception):
    """The stored days are not complete for every town: recompute from the facts instead."""


def _apply_in(uow: SqlUnitOfWork, ch: Changes, m: Method, now: datetime, tz: ZoneInfo, recent: int,
              deadline_days: int) -> ComputeSummary:
    """Add ``ch`` to the stored window sums inside an open unit of work (which holds the index lock).
    Method v2 scores depend on more than the stored sums (season, dispersion, events): recompute."""
    if m.version != "v1":
        raise _NeedsRecompute
    r = repo(uow)
    first_scored, last_scored = r.scored_days()
    if not ch.days or first_scored is None or last_scored is None or min(ch.days) > last_scored:
        return ComputeSummary(notes=["affected days not scored yet"])
    a = max(min(ch.days), first_scored)
    b = min(last_scored, max(ch.days) + timedelta(days=HISTORY_DAYS - 1))
    if a > b:
        return ComputeSummary(notes=["affected days not scored yet"])
    out = ComputeSummary(first=a, last=b, days=(b - a).days + 1)
    towns = uow.towns.all()
    out.towns = len(towns)
    cols = r.sums_between(a, b)
    n_t, n_k = len(towns), out.days
    t_idx = {t.id: i for i, t in enumerate(towns)}
    ti_rows = np.fromiter((t_idx.get(x, -1) for x in cols["town_id"]), dtype=np.int64, count=len(cols["day"]))
    k_rows = np.fromiter(((x - a).days for x in cols["day"]), dtype=np.int64, count=len(cols["day"]))
    if len(ti_rows) != n_t * n_k or (ti_rows < 0).any():
        raise _NeedsRecompute
    n_s = len(SUB_INDICES)
    cur = np.zeros((n_t, n_k, n_s))
    base = np.zeros((n_t, n_k, n_s))
    for si, sub in enumerate(SUB_INDICES):
        cur[ti_rows, k_rows, si] = cols[f"h7_{sub.value}"]
        base[ti_rows, k_rows, si] = cols[f"h84_{sub.value}"]
    ints = {}
    for key, name in (("c7", "count_7d"), ("cb", "count_baseline"), ("c28", "count_28d"),
                      ("cp28", "count_prev_28d"), ("d7", "deaths_7d")):
        arr = np.zeros((n_t, n_k), dtype=np.int64)
        arr[ti_rows, k_rows] = cols[name]
        ints[key] = arr
    # the changes as a signed daily cube over a-90 .. b; its window sums are the deltas of the stored sums
    dl = _deltas(ch, m)
    lead = HISTORY_DAYS - 1
    origin = a - timedelta(days=lead)
    n_days = n_k + lead
    if len(dl):
        d_town = np.fromiter((t_idx.get(str(x), -1) for x in dl["town_id"]), dtype=np.int64, count=len(dl))
        d_day = np.fromiter(((x - origin).days for x in dl["day"]), dtype=np.int64, count=len(dl))
        delta = engine.DailyArrays.from_sparse(
            n_t, n_days, d_town, d_day, dl["sub"].to_numpy(dtype=np.int64), dl["harm"].to_numpy(dtype=np.float64),
            dl["n"].to_numpy(dtype=np.int64), dl["dead"].to_numpy(dtype=np.int64), np.ones(n_t), [])
        ds = engine.window_sums(delta, lead, n_days - 1, clamp=False)
        cur, base = cur + ds.cur, base + ds.base
        for key in ("c7", "cb", "c28", "cp28", "d7"):
            ints[key] = ints[key] + getattr(ds, key)
    sums = engine.Sums(np.maximum(np.round(cur, 6), 0.0), np.maximum(np.round(base, 6), 0.0), ints["c7"],
                       ints["cb"], ints["c28"], ints["cp28"], ints["d7"])
    res = engine.score_sums(sums, populations(towns),
                            [t.code for t in towns], 0, m)
    prev: dict[str, set[str]] = {}
    for w in r.warnings_between(a - timedelta(days=1), a - timedelta(days=1)):
        prev.setdefault(w["kind"], set()).add(w["town_id"])
    scores = score_columns(res, towns, a, 0, now)
    warns = warning_rows(res, towns, a, 0, m.alpha, prev)
    r.replace_scores(a, b, scores)
    r.replace_warnings(a, b, warns)
    out.warnings = len(warns)
    out.tickets_opened = trigger_tickets(uow, towns, scores, warns, now, tz, recent, deadline_days)
    return out


def apply_changes(ch: Changes, *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo,
                  method: Method | None = None, ticket_recent_days: int = 7,
                  ticket_deadline_days: int = TICKET_DEADLINE_DAYS) -> ComputeSummary:
    """Incremental update: add the changes to the stored window sums of every scored day they reach
    (d .. d+90) and re-score and re-rank those days for all towns; no facts are re-read.
    Falls back to ``recompute_days`` when the stored days are not complete for every town.
    (``ingest`` records and applies in one transaction: prefer it when facts and scores may be
    written concurrently.)"""
    m = method or Method()
    if not ch.days:
        return ComputeSummary()
    try:
        with uow_factory() as uow:
            repo(uow).lock()
            out = _apply_in(uow, ch, m, clock.now(), tz, ticket_recent_days, ticket_deadline_days)
            uow.commit()
        return out
    except _NeedsRecompute:
        return recompute_days(ch.days, uow_factory=uow_factory, clock=clock, tz=tz, method=m,
                              ticket_recent_days=ticket_recent_days, ticket_deadline_days=ticket_deadline_days)


def ingest(facts: Sequence[IncidentFact], *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo,
           method: Method | None = None, ticket_recent_days: int = 7,
           ticket_deadline_days: int = TICKET_DEADLINE_DAYS) -> tuple[Changes, ComputeSummary]:
    """Record facts and apply them to the stored scores in ONE transaction under the index lock, so
    a concurrent computation sees either both or neither (no double counting, no lost update)."""
    m = method or Method()
    try:
        with uow_factory() as uow:
            repo(uow).lock()
            ch = _record_in(uow, facts, tz)
            out = (_apply_in(uow, ch, m, clock.now(), tz, ticket_recent_days, ticket_deadline_days)
                   if ch.days else ComputeSummary())
            uow.commit()
        return ch, out
    except _NeedsRecompute:
        ch = record_incidents_ex(facts, uow=uow_factory(), tz=tz)
        return ch, recompute_days(ch.days, uow_factory=uow_factory, clock=clock, tz=tz,
                                  method=m, ticket_recent_days=ticket_recent_days,
                                  ticket_deadline_days=ticket_deadline_days)
