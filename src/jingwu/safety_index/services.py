"""Safety Index use cases: record incidents (events, imports), compute and
recompute scores and warnings, open and run supervision tickets, read the index
(authenticated and public), per-town trend series and the period assessment.

Each use case owns its transaction (``with uow: ... uow.commit()``); state
changes of tickets are audited and emitted as events in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from jingwu.platform.clock import Clock
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput, NotFound
from jingwu.platform.org_store import TownRow
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index import engine
from jingwu.safety_index.columnar import weight_table
from jingwu.safety_index.domain import (
    CURRENT_DAYS,
    HISTORY_DAYS,
    MOM_DAYS,
    RATE_PER,
    SUB_INDICES,
    Band,
    Category,
    Method,
    Ticket,
    TicketAction,
    TicketStatus,
    suppress,
)
from jingwu.safety_index.store import AggregateRows, repo

UowFactory = Callable[[], SqlUnitOfWork]
Progress = Callable[[int, int], None]  # (days done, days total)
SYSTEM_ACTOR = "system:safety_index"
SUBJECT_INCIDENT = "jingwu.incidents.recorded"
CHUNK_DAYS = 62


# ---------------------------------------------------------------- incidents

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


def fact_from_event(payload: dict[str, Any]) -> IncidentFact:
    """Validate a ``jingwu.incidents.recorded`` payload."""
    try:
        at = datetime.fromisoformat(str(payload["occurred_at"]).replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return IncidentFact(
            incident_id=str(payload["incident_id"]), occurred_at=at,
            town_id=str(payload["town_id"]) if payload.get("town_id") else None,
            type_code=str(payload.get("type_code") or "990000"), category=Category(payload.get("category", "other")),
            deaths=max(0, int(payload.get("deaths") or 0)), injuries=max(0, int(payload.get("injuries") or 0)))
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"bad incident event: {exc}") from exc


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


# ---------------------------------------------------------------- computation

@dataclass
class ComputeSummary:
    first: date | None = None
    last: date | None = None
    days: int = 0
    towns: int = 0
    warnings: int = 0
    tickets_opened: int = 0
    skipped_before: date | None = None  # requested days without enough history
    notes: list[str] = field(default_factory=list)


def _arrays(agg: AggregateRows, towns: list[TownRow], origin: date, n_days: int,
            method: Method) -> engine.DailyArrays:
    """The engine's cube from GROUP BY rows; harm weights joined per distinct (type, category)."""
    df = pd.DataFrame({"town_id": agg.town_id, "day": agg.day, "type_code": agg.type_code,
                       "category": agg.category, "n": agg.count, "inj": agg.injuries, "dead": agg.deaths})
    if df.empty:
        df = df.assign(sub=pd.Series(dtype="int64"), w=pd.Series(dtype="float64"))
    else:
        wt = weight_table(df[["type_code", "category"]].drop_duplicates(), method)
        df = df.merge(wt, on=["type_code", "category"], how="left")
    index = {t.id: i for i, t in enumerate(towns)}
    town = df["town_id"].map(index).fillna(-1).to_numpy(dtype=np.int64)
    day = np.fromiter(((d - origin).days for d in df["day"]), dtype=np.int64, count=len(df))
    sub = df["sub"].to_numpy(dtype=np.int64)
    n = df["n"].to_numpy(dtype=np.int64)
    harm = n * df["w"].to_numpy(dtype=np.float64) + np.where(
        sub >= 0, method.injury_weight * df["inj"].to_numpy(dtype=np.float64), 0.0)
    return engine.DailyArrays.from_sparse(
        len(towns), n_days, town.astype(np.int64), day, sub, harm, n, df["dead"].to_numpy(dtype=np.int64),
        np.asarray([t.population for t in towns], dtype=np.float64), [t.code for t in towns])


def _score_columns(res: engine.Result, towns: list[TownRow], day0: date, skip: int,
                   now: datetime) -> dict[str, list[Any]]:
    """Score rows as columns (name -> list), town-major within each day, days from ``skip`` on."""
    n_t, n_k = res.score.shape
    ks = np.arange(skip, n_k)
    days = [day0 + timedelta(days=int(k)) for k in ks]

    def col(a: np.ndarray[Any, Any]) -> list[Any]:
        out: list[Any] = a[:, skip:].T.ravel().tolist()
        return out

    out: dict[str, list[Any]] = {
        "day": [d for d in days for _ in range(n_t)], "town_id": [t.id for t in towns] * len(days),
        "score": col(res.score), "band": [engine.BANDS[b].value for b in col(res.band)], "rank": col(res.rank),
        "total_rate": col(res.total_rate), "count_7d": col(res.count_7d), "deaths_7d": col(res.deaths_7d),
        "computed_at": [now] * (n_t * len(days))}
    for si, s in enumerate(SUB_INDICES):
        out[f"s_{s.value}"] = col(np.round(res.sub_score[:, :, si], 4))
        out[f"h7_{s.value}"] = col(res.sums.cur[:, :, si])
        out[f"h84_{s.value}"] = col(res.sums.base[:, :, si])
    out["count_baseline"] = col(res.sums.cb)
    out["count_28d"] = col(res.sums.c28)
    out["count_prev_28d"] = col(res.sums.cp28)
    return out


def _warning_rows(res: engine.Result, towns: list[TownRow], day0: date, skip: int, alpha: float,
                  prev: dict[str, set[str]] | None = None) -> list[dict[str, Any]]:
    """Warning rows from day index ``skip`` on; ``prev`` = kind -> towns flagged the day before day0
    (for onsets when day0 is the first day held in ``res``)."""
    surge, mom = engine.warning_flags(res, alpha)
    rows: list[dict[str, Any]] = []
    p_cur = CURRENT_DAYS / HISTORY_DAYS
    for kind, flag, obs, ref, pv, p0 in (
        ("surge_7d", surge, res.count_7d, res.count_baseline, res.p_surge, p_cur),
        ("mom_28d", mom, res.count_28d, res.count_prev_28d, res.p_mom, 0.5),
    ):
        ti_idx, k_idx = np.nonzero(flag[:, skip:])
        for ti, kk in zip(ti_idx.tolist(), k_idx.tolist(), strict=True):
            k = kk + skip
            n_tot = int(obs[ti, k] + ref[ti, k])
            rows.append({"day": day0 + timedelta(days=k), "town_id": towns[ti].id, "kind": kind,
                         "observed": int(obs[ti, k]), "reference": int(ref[ti, k]), "expected": n_tot * p0,
                         "p_value": float(pv[ti, k]),
                         "onset": not (bool(flag[ti, k - 1]) if k > 0 else
                                       towns[ti].id in (prev or {}).get(kind, set()))})
    return rows


def compute(first: date | None = None, last: date | None = None, *, uow_factory: UowFactory, clock: Clock,
            tz: ZoneInfo, method: Method | None = None, progress: Progress | None = None,
            ticket_recent_days: int = 7, ticket_deadline_days: int = 7) -> ComputeSummary:
    """Compute (or recompute) scores, ranks and warnings for first..last; open supervision tickets
    for recent red towns and new warnings. Idempotent: a day's rows are replaced."""
    m = method or Method()
    out = ComputeSummary()
    with uow_factory() as uow:
        r = repo(uow)
        towns = uow.towns.all()
        origin = r.origin_day()
    yesterday = clock.now().astimezone(tz).date() - timedelta(days=1)
    last = last or yesterday
    if origin is None or not towns:
        out.notes.append("no incidents or no towns: nothing to compute")
        return out
    earliest = origin + timedelta(days=HISTORY_DAYS - 1)
    first = first or earliest
    if first < earliest:
        out.skipped_before = earliest
        out.notes.append(f"days before {earliest} have less than {HISTORY_DAYS} days of history")
        first = earliest
    if first > last:
        return out
    out.first, out.last, out.towns = first, last, len(towns)
    total = (last - first).days + 1
    done = 0
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=CHUNK_DAYS - 1))
        _compute_chunk(start, end, towns, origin, m, uow_factory, clock, tz, out, ticket_recent_days,
                       ticket_deadline_days)
        done += (end - start).days + 1
        if progress is not None:
            progress(done, total)
        start = end + timedelta(days=1)
    out.days = total
    return out


def _compute_chunk(first: date, last: date, towns: list[TownRow], origin: date, m: Method, uow_factory: UowFactory,
                   clock: Clock, tz: ZoneInfo, out: ComputeSummary, recent: int, deadline_days: int) -> None:
    # include the day before ``first`` (when it has history) to know whether a warning is an onset
    lead = 1 if first - timedelta(days=1) >= origin + timedelta(days=HISTORY_DAYS - 1) else 0
    day0 = first - timedelta(days=HISTORY_DAYS - 1 + lead)
    n_days = (last - day0).days + 1
    now = clock.now()
    with uow_factory() as uow:
        r = repo(uow)
        r.lock()  # one writer of scores at a time (see ``ingest``)
        agg = r.aggregates(day0, last)
        arrays = _arrays(agg, towns, day0, n_days, m)
        res = engine.compute(arrays, engine.FIRST_SCORABLE, n_days - 1, m)
        first_scored = day0 + timedelta(days=engine.FIRST_SCORABLE)
        scores = _score_columns(res, towns, first_scored, lead, now)
        warns = _warning_rows(res, towns, first_scored, lead, m.alpha)
        r.replace_scores(first, last, scores)
        r.replace_warnings(first, last, warns)
        out.warnings += len(warns)
        out.tickets_opened += _trigger_tickets(uow, towns, scores, warns, now, tz, recent, deadline_days)
        uow.commit()


def _trigger_tickets(uow: SqlUnitOfWork, towns: list[TownRow], scores: dict[str, list[Any]],
                     warns: list[dict[str, Any]], now: datetime, tz: ZoneInfo, recent: int, deadline_days: int) -> int:
    """Red bands and warning onsets on recent days open (or extend) supervision tickets."""
    cutoff = now.astimezone(tz).date() - timedelta(days=recent)
    by_town = {t.id: t for t in towns}
    triggers: dict[str, list[tuple[date, str]]] = {}
    for d, tid, band in zip(scores["day"], scores["town_id"], scores["band"], strict=True):
        if band == Band.RED.value and d >= cutoff:
            triggers.setdefault(tid, []).append((d, f"red:{d}"))
    for w in warns:
        if w["onset"] and w["day"] >= cutoff:
            triggers.setdefault(w["town_id"], []).append((w["day"], f"{w['kind']}:{w['day']}"))
    return sum(_open_or_extend(uow, by_town[t], items, now, deadline_days) for t, items in triggers.items())


def _open_or_extend(uow: SqlUnitOfWork, town: TownRow, items: list[tuple[date, str]], now: datetime,
                    deadline_days: int) -> int:
    r = repo(uow)
    reasons = [reason for _, reason in sorted(items)]
    t = r.open_ticket_for(town.id)
    if t is not None:
        new = [x for x in reasons if x not in t.reasons]
        if new:
            t2 = replace(t, reasons=(*t.reasons, *new))
            r.save_ticket(t2)
            uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_reasons_added", object_type="si_ticket",
                            object_id=t.id, agency_id=t.agency_id, detail={"reasons": new})
        return 0
    day = min(d for d, _ in items)
    t = Ticket(id=str(uuid.uuid4()), town_id=town.id, agency_id=town.agency_id, home_agency_id=town.agency_id,
               day=day, reasons=tuple(reasons), status=TicketStatus.OPEN, owner=None, opened_at=now,
               deadline=now + timedelta(days=deadline_days))
    r.add_ticket(t)
    uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_opened", object_type="si_ticket",
                    object_id=t.id, agency_id=t.agency_id,
                    detail={"town_id": town.id, "town": town.name, "reasons": list(reasons),
                            "deadline": t.deadline.isoformat()})
    uow.emit("jingwu.safety_index.ticket_opened", {"ticket_id": t.id, "town_id": town.id,
                                                   "agency_id": t.agency_id, "reasons": list(reasons)})
    return 1


def recompute_days(days: Iterable[date], *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo,
                   method: Method | None = None, **kw: Any) -> ComputeSummary:
    """Incremental update after late incidents: a change on day d alters the scores of d .. d+90
    (current window and baseline) and the warnings of d .. d+55; only days already scored are redone."""
    ds = sorted(set(days))
    if not ds:
        return ComputeSummary()
    with uow_factory() as uow:
        last_scored = repo(uow).last_scored_day()
    if last_scored is None or ds[0] > last_scored:
        return ComputeSummary(notes=["affected days not scored yet"])
    reach = max(HISTORY_DAYS - 1, 2 * MOM_DAYS - 1)
    last = min(last_scored, ds[-1] + timedelta(days=reach))
    return compute(ds[0], last, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)


def _deltas(ch: Changes, method: Method) -> pd.DataFrame:
    """Signed per (town, day, sub-index) changes of harm, count and deaths."""
    rows = [(+1, r) for r in ch.added] + [(-1, r) for r in ch.removed]
    df = pd.DataFrame([{"sign": sg, **{k: r[k] for k in _FACT_KEYS}} for sg, r in rows if r["town_id"]])
    if df.empty:
        return df
    wt = weight_table(df[["type_code", "category"]].drop_duplicates(), method)
    df = df.merge(wt, on=["type_code", "category"], how="left")
    df["harm"] = df["sign"] * (df["w"] + np.where(df["sub"] >= 0, method.injury_weight * df["injuries"], 0.0))
    df["n"] = np.where(df["sub"] >= 0, df["sign"], 0)
    df["dead"] = df["sign"] * df["deaths"]
    return df.groupby(["town_id", "day", "sub"], as_index=False)[["harm", "n", "dead"]].sum()


class _NeedsRecompute(Exception):
    """The stored days are not complete for every town: recompute from the facts instead."""


def _apply_in(uow: SqlUnitOfWork, ch: Changes, m: Method, now: datetime, tz: ZoneInfo, recent: int,
              deadline_days: int) -> ComputeSummary:
    """Add ``ch`` to the stored window sums inside an open unit of work (which holds the index lock)."""
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
    res = engine.score_sums(sums, np.asarray([t.population for t in towns], dtype=np.float64),
                            [t.code for t in towns], 0, m)
    prev: dict[str, set[str]] = {}
    for w in r.warnings_between(a - timedelta(days=1), a - timedelta(days=1)):
        prev.setdefault(w["kind"], set()).add(w["town_id"])
    scores = _score_columns(res, towns, a, 0, now)
    warns = _warning_rows(res, towns, a, 0, m.alpha, prev)
    r.replace_scores(a, b, scores)
    r.replace_warnings(a, b, warns)
    out.warnings = len(warns)
    out.tickets_opened = _trigger_tickets(uow, towns, scores, warns, now, tz, recent, deadline_days)
    return out


def apply_changes(ch: Changes, *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo,
                  method: Method | None = None, ticket_recent_days: int = 7,
                  ticket_deadline_days: int = 7) -> ComputeSummary:
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
           ticket_deadline_days: int = 7) -> tuple[Changes, ComputeSummary]:
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


def daily(*, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo, method: Method | None = None,
          **kw: Any) -> ComputeSummary:
    """The daily job: every day from the last scored day (exclusive) up to yesterday."""
    with uow_factory() as uow:
        last_scored = repo(uow).last_scored_day()
    first = last_scored + timedelta(days=1) if last_scored else None
    return compute(first, None, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)


# ---------------------------------------------------------------- reading the index

@dataclass(frozen=True)
class TownScore:
    town_id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    population: int
    day: date
    score: float
    band: str
    rank: int
    sub_indices: dict[str, float]
    rates_per_10k: dict[str, float]
    total_rate_per_10k: float
    count_7d: int
    deaths_7d: int
    warnings: list[str]


def _latest_or(day: date | None, uow: SqlUnitOfWork) -> date:
    if day is not None:
        return day
    last = repo(uow).last_scored_day()
    if last is None:
        raise NotFound("No Safety Index has been computed yet.")
    return last


def _town_scores(day: date | None, uow: SqlUnitOfWork) -> tuple[date, list[TownScore]]:
    d = _latest_or(day, uow)
    r = repo(uow)
    rows = r.scores_on(d)
    if not rows:
        raise NotFound(f"No Safety Index for {d.isoformat()}.")
    towns = {t.id: t for t in uow.towns.all()}
    warns: dict[str, list[str]] = {}
    for w in r.warnings_between(d, d):
        warns.setdefault(w["town_id"], []).append(w["kind"])
    out = []
    for row in rows:
        t = towns.get(row["town_id"])
        if t is None:
            continue
        out.append(TownScore(
            town_id=t.id, code=t.code, name=t.name, name_en=t.name_en, agency_id=t.agency_id,
            population=t.population, day=d, score=row["score"], band=row["band"], rank=row["rank"],
            sub_indices={s.value: round(row[f"s_{s.value}"], 2) for s in SUB_INDICES},
            rates_per_10k={s.value: round(row[f"h7_{s.value}"] / CURRENT_DAYS * RATE_PER / max(t.population, 1), 4)
                           for s in SUB_INDICES},
            total_rate_per_10k=round(row["total_rate"], 4), count_7d=row["count_7d"], deaths_7d=row["deaths_7d"],
            warnings=sorted(warns.get(t.id, []))))
    return d, out


def index_for(day: date | None, *, principal: Principal, uow: SqlUnitOfWork) -> tuple[date, list[TownScore]]:
    """Authenticated: every town in the caller's agency scope (ranks are city-wide)."""
    principal.require(Permission.ANALYSE)
    with uow:
        d, rows = _town_scores(day, uow)
        paths = {t.id: t.agency_path for t in uow.towns.all()}
    return d, [x for x in rows if principal.in_scope(paths[x.town_id])]


@dataclass(frozen=True)
class PublicTownScore:
    """What the public sees: aggregates only; counts below 3 (and rates built on them) withheld."""

    town_code: str
    name: str
    name_en: str | None
    day: date
    score: float
    band: str
    rank: int
    sub_indices: dict[str, float]
    incidents_7d: int | None
    rate_per_10k: float | None
    warnings: list[str]
    geometry: dict[str, Any] | None


def public_index(day: date | None, *, uow: SqlUnitOfWork, with_geometry: bool = False,
                 ) -> tuple[date, list[PublicTownScore]]:
    with uow:
        d, rows = _town_scores(day, uow)
        geo = {t.id: t.geometry for t in uow.towns.all()} if with_geometry else {}
    out = []
    for x in rows:
        shown = suppress(x.count_7d)
        out.append(PublicTownScore(
            town_code=x.code, name=x.name, name_en=x.name_en, day=d, score=x.score, band=x.band, rank=x.rank,
            sub_indices=x.sub_indices, incidents_7d=shown,
            rate_per_10k=round(x.total_rate_per_10k, 3) if shown is not None else None,
            warnings=x.warnings, geometry=geo.get(x.town_id)))
    return d, out


def public_dates(*, uow: SqlUnitOfWork) -> tuple[date | None, date | None]:
    with uow:
        return repo(uow).scored_days()


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    score: float
    band: str
    rank: int


def series(town_ref: str, first: date | None, last: date | None, *, uow: SqlUnitOfWork,
           principal: Principal | None = None) -> tuple[TownRow, list[SeriesPoint]]:
    """Score per day for one town (by id or code); public when ``principal`` is None."""
    with uow:
        towns = uow.towns.all()
        t = next((x for x in towns if town_ref in (x.id, x.code)), None)
        if t is None:
            raise NotFound(f"Town {town_ref} does not exist.")
        if principal is not None:
            principal.require(Permission.ANALYSE, t.agency_path)
        r = repo(uow)
        last = last or r.last_scored_day() or date.today()
        first = first or last - timedelta(days=89)
        if first > last:
            raise InvalidInput("'from' must not be after 'to'")
        if (last - first).days > 3 * 366:
            raise InvalidInput("at most three years per request")
        rows = r.scores_between(first, last, t.id)
    return t, [SeriesPoint(x["day"], x["score"], x["band"], x["rank"]) for x in rows]


@dataclass(frozen=True)
class PublicWarning:
    day: date
    town_code: str
    name: str
    name_en: str | None
    kind: str  # red | surge_7d | mom_28d
    geometry: dict[str, Any] | None


def public_warnings(day: date | None, *, uow: SqlUnitOfWork) -> tuple[date, list[PublicWarning]]:
    """Red bands and trend warnings of a day (no counts: the public CAP feed carries none)."""
    with uow:
        d, rows = _town_scores(day, uow)
        towns = {t.id: t for t in uow.towns.all()}
    out: list[PublicWarning] = []
    for x in rows:
        t = towns[x.town_id]
        kinds = (["red"] if x.band == Band.RED.value else []) + x.warnings
        out.extend(PublicWarning(d, t.code, t.name, t.name_en, k, t.geometry) for k in kinds)
    return d, out


# ---------------------------------------------------------------- supervision tickets

def _check_ticket(p: Principal, t: Ticket, uow: SqlUnitOfWork) -> None:
    home = uow.agencies.get(t.home_agency_id).path
    now = uow.agencies.get(t.agency_id).path
    p.require(Permission.ANALYSE, home if p.in_scope(home) else now)


def list_tickets(*, principal: Principal, uow: SqlUnitOfWork, status: str | None = None) -> list[Ticket]:
    principal.require(Permission.ANALYSE)
    if status is not None and status not in TicketStatus.__members__.values():
        raise InvalidInput(f"unknown status {status!r}")
    with uow:
        paths = {a.id: a.path for a in uow.agencies.in_subtree("/")}
        return [t for t in repo(uow).tickets(status=status)
                if principal.in_scope(paths[t.home_agency_id]) or principal.in_scope(paths[t.agency_id])]


def get_ticket(ticket_id: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    with uow:
        t = repo(uow).ticket(ticket_id)
        _check_ticket(principal, t, uow)
        return t


def _change(ticket_id: str, principal: Principal, uow: SqlUnitOfWork, action: str,
            fn: Callable[[Ticket], Ticket], detail: dict[str, Any]) -> Ticket:
    with uow:
        r = repo(uow)
        t = r.ticket(ticket_id)
        _check_ticket(principal, t, uow)
        t2 = fn(t)
        r.save_ticket(t2)
        uow.audit.write(actor=principal.username, action=f"safety_index.{action}", object_type="si_ticket",
                        object_id=t.id, agency_id=t2.agency_id,
                        detail={**detail, "status": t2.status.value, "previous_status": t.status.value})
        uow.emit(f"jingwu.safety_index.{action}", {"ticket_id": t.id, "town_id": t.town_id,
                                                   "status": t2.status.value})
        uow.commit()
        return t2


def assign_ticket(ticket_id: str, owner: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    return _change(ticket_id, principal, uow, "ticket_assigned", lambda t: t.assign(owner), {"owner": owner})


def add_ticket_action(ticket_id: str, text: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    act = TicketAction(uow.clock.now(), principal.username, text)
    return _change(ticket_id, principal, uow, "ticket_action_added", lambda t: t.add_action(act), {"text": text})


def close_ticket(ticket_id: str, closure: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    now = uow.clock.now()
    return _change(ticket_id, principal, uow, "ticket_closed", lambda t: t.close(now, closure),
                   {"closure": closure})


def escalate_overdue(*, uow: SqlUnitOfWork) -> list[Ticket]:
    """Job: every unclosed ticket past its deadline moves to the parent agency with a new deadline."""
    out = []
    with uow:
        r = repo(uow)
        now = uow.clock.now()
        for t in r.unclosed_tickets():
            if not t.overdue(now):
                continue
            parent = uow.agencies.get(t.agency_id).parent_id
            t2 = t.escalate(parent)
            r.save_ticket(t2)
            uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_escalated", object_type="si_ticket",
                            object_id=t.id, agency_id=t2.agency_id,
                            detail={"level": t2.escalation_level, "from_agency": t.agency_id,
                                    "to_agency": t2.agency_id, "deadline": t2.deadline.isoformat()})
            uow.emit("jingwu.safety_index.ticket_escalated", {"ticket_id": t.id, "agency_id": t2.agency_id,
                                                              "level": t2.escalation_level})
            out.append(t2)
        uow.commit()
    return out


# ---------------------------------------------------------------- period assessment

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


def assessment(first: date, last: date, *, principal: Principal, uow: SqlUnitOfWork,
               ) -> tuple[list[Assessment], list[Assessment]]:
    """Per town and per responsible agency (the town's own agency) for first..last, with the same
    period one year earlier for comparison."""
    principal.require(Permission.ANALYSE)
    if first > last:
        raise InvalidInput("'from' must not be after 'to'")
    if (last - first).days > 3 * 366:
        raise InvalidInput("at most three years per report")
    with uow:
        r = repo(uow)
        towns = [t for t in uow.towns.all() if principal.in_scope(t.agency_path)]
        ids = {t.id for t in towns}
        scores = [x for x in r.scores_between(first, last) if x["town_id"] in ids]
        prev = [x for x in r.scores_between(first - timedelta(days=364), last - timedelta(days=364))
                if x["town_id"] in ids]
        warns = [w for w in r.warnings_between(first, last) if w["onset"] and w["town_id"] in ids]
        tickets = [t for t in r.tickets(town_ids=ids) if first <= t.day <= last]
        agencies = {a.id: a for a in uow.agencies.in_subtree("/")}
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
    return list(per_town.values()), sorted(per_agency.values(), key=lambda g: g.name)
