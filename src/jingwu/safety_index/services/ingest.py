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
from jingwu.safety_index.services.compute import (
    compute,
    coverage_mask,
    rank_scored,
    recompute_days,
    score_columns,
    trigger_tickets,
    warning_rows,
)
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
    # towns whose first day with a record moved earlier (previous first day, None for a town's first
    # record): their warm-up ends earlier, so days stored as no data may become scored
    earlier_first: dict[str, date | None] = field(default_factory=dict)


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
    spans: dict[str, tuple[date, date]] = {}
    for row in fresh:
        t, d = row["town_id"], row["day"]
        if t is not None:
            lo, hi = spans.get(t, (d, d))
            spans[t] = (min(lo, d), max(hi, d))
    ch.earlier_first = r.widen_town_coverage(spans)
    return ch


def record_incidents_ex(facts: Sequence[IncidentFact], *, uow: SqlUnitOfWork, tz: ZoneInfo,
                        import_source: str | None = None) -> Changes:
    """Store facts (idempotent by incident_id) in one transaction; report what changed.
    Scores are not touched: follow with ``apply_changes`` or a compute, or use ``ingest``.
    ``import_source``: also record, in the same transaction, the range of days the facts cover (an import)."""
    with uow:
        r = repo(uow)
        r.lock()
        ch = _record_in(uow, facts, tz)
        if import_source is not None:
            days = [f.occurred_at.astimezone(tz).date() for f in facts]
            r.record_coverage("import", import_source[:200], min(days, default=None), max(days, default=None),
                              len(facts), uow.clock.now())
        uow.commit()
    return ch


def local_days(occurred_at: pd.Series, tz: ZoneInfo) -> np.ndarray[Any, Any]:
    """The calendar day in ``tz`` of each aware time, as an object array of ``date`` (vectorised: one
    ``date`` object per distinct day)."""
    d = occurred_at.dt.tz_convert(tz).dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    codes, uniques = pd.factorize(d)
    epoch = date(1970, 1, 1)
    dates = np.asarray([epoch + timedelta(days=int(x)) for x in uniques], dtype=object)
    out: np.ndarray[Any, Any] = dates[codes]
    return out


def record_frame(frame: pd.DataFrame, source: str, *, uow: SqlUnitOfWork, tz: ZoneInfo,
                 import_source: str | None = None) -> Changes:
    """Store many facts given as columns (``importer.FRAME_COLUMNS``) in one transaction, in SQL without a
    Python object per fact (a large import); also the towns' first/last days and, with ``import_source``,
    the range the import covers. The changes carry the days only (a large import recomputes those days from
    the facts, it does not add deltas)."""
    ch = Changes()
    if frame.empty:
        return ch
    days = local_days(frame["occurred_at"], tz)
    with uow:
        r = repo(uow)
        r.lock()
        now = uow.clock.now()
        cols = {"incident_id": frame["incident_id"].to_numpy(dtype=object), "occurred_at": frame["occurred_at"],
                "day": days, "town_id": frame["town_id"].to_numpy(dtype=object),
                "type_code": frame["type_code"].to_numpy(dtype=object),
                "category": frame["category"].to_numpy(dtype=object),
                "deaths": frame["deaths"].to_numpy(dtype=np.int64),
                "injuries": frame["injuries"].to_numpy(dtype=np.int64),
                "source": np.full(len(frame), source, dtype=object),
                "received_at": np.full(len(frame), now, dtype=object)}
        ch.days = r.bulk_upsert_incidents(cols)
        spans = pd.DataFrame({"t": cols["town_id"], "d": days}).dropna().groupby("t")["d"].agg(["min", "max"])
        ch.earlier_first = r.widen_town_coverage({str(t): (row["min"], row["max"]) for t, row in spans.iterrows()})
        if import_source is not None:
            r.record_coverage("import", import_source[:200], min(days.tolist()), max(days.tolist()), len(frame), now)
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
    """The stored days are not complete for every town, or a town's warm-up moved: recompute from the
    facts instead (from ``first`` to ``last`` when given)."""

    def __init__(self, first: date | None = None, last: date | None = None) -> None:
        super().__init__()
        self.first, self.last = first, last


def _apply_in(uow: SqlUnitOfWork, ch: Changes, m: Method, now: datetime, tz: ZoneInfo, recent: int,
              deadline_days: int) -> ComputeSummary:
    """Add ``ch`` to the stored window sums inside an open unit of work (which holds the index lock).
    Method v2 scores depend on more than the stored sums (season, dispersion, events): recompute."""
    if m.version != "v1":
        raise _NeedsRecompute
    r = repo(uow)
    first_scored, last_scored = r.stored_days()
    if not ch.days or first_scored is None or last_scored is None or min(ch.days) > last_scored:
        return ComputeSummary(notes=["affected days not scored yet"])
    if ch.earlier_first:
        # a town's history now starts earlier: its days from the new first day + 90 on may turn from no
        # data to scored, which can lie beyond the 91 days a delta reaches. Recompute from the facts.
        first_days = r.town_first_days()
        new_start = min(first_days[t] for t in ch.earlier_first) + timedelta(days=HISTORY_DAYS - 1)
        if new_start <= last_scored:
            raise _NeedsRecompute(max(first_scored, min(min(ch.days), new_start)), last_scored)
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
    codes = [t.code for t in towns]
    res = engine.score_sums(sums, populations(towns), codes, 0, m)
    mask = coverage_mask(towns, r.town_first_days(), a, n_k)
    rank_scored(res, mask, codes)
    prev: dict[str, set[str]] = {}
    for w in r.warnings_between(a - timedelta(days=1), a - timedelta(days=1)):
        prev.setdefault(w["kind"], set()).add(w["town_id"])
    scores = score_columns(res, towns, a, 0, now, mask)
    warns = warning_rows(res, towns, a, 0, m.alpha, prev, mask)
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
    except _NeedsRecompute as exc:
        return _recompute(exc, ch, uow_factory=uow_factory, clock=clock, tz=tz, method=m,
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
    except _NeedsRecompute as exc:
        ch = record_incidents_ex(facts, uow=uow_factory(), tz=tz)
        return ch, _recompute(exc, ch, uow_factory=uow_factory, clock=clock, tz=tz, method=m,
                              ticket_recent_days=ticket_recent_days, ticket_deadline_days=ticket_deadline_days)


def _recompute(exc: _NeedsRecompute, ch: Changes, **kw: Any) -> ComputeSummary:
    if exc.first is not None and exc.last is not None:
        return compute(exc.first, exc.last, **kw)
    return recompute_days(ch.days, **kw)
