"""Computing the index: scores, bands, ranks, rates and trend warnings of a range of days from the
incident facts (the backfill, ``jingwu index compute``, the API's compute), the recomputation of
the days late incidents reach, the daily job, and the supervision tickets new red bands and
warning onsets open.

Days are computed in chunks of ``CHUNK_DAYS``, each in its own transaction under the index lock:
the store's SQL ``GROUP BY`` fills the engine's daily cube, the engine scores every town-day, and
the day's score and warning rows are replaced (idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from jingwu.platform.clock import Clock
from jingwu.platform.domain import AgencyKind, Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput
from jingwu.platform.org_store import TownRow
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index import engine
from jingwu.safety_index.columnar import weight_table
from jingwu.safety_index.domain import (
    CATEGORY_SUBINDEX,
    CURRENT_DAYS,
    HISTORY_DAYS,
    MOM_DAYS,
    SUB_INDICES,
    TICKET_DEADLINE_DAYS,
    Band,
    Method,
    SubIndex,
    fed_from_categories,
    harm,
)
from jingwu.safety_index.services.common import ComputeSummary, Progress, UowFactory, populations
from jingwu.safety_index.services.tickets import open_or_extend
from jingwu.safety_index.store import STATE_NO_DATA, STATE_SCORED, AggregateRows, repo

# each chunk reads its days' facts plus the 90 days before (the windows): 184-day chunks read a year's facts
# about 1.25 times (62-day chunks read them 2.45 times); the cube itself is small (towns x days x 5)
CHUNK_DAYS = 184
CHUNK_DAYS_V2 = 366  # v2 reads 455 days of event history per chunk: fewer, longer chunks


def _arrays(agg: AggregateRows, towns: list[TownRow], origin: date, n_days: int,
            method: Method) -> engine.DailyArrays:
    """The engine's cube from GROUP BY rows; harm weights joined per distinct (type, category)."""
    # the store counts days from the first day it was asked for, which may lie after ``origin`` (v2 reads
    # harm over the last 91 days only, its older history as event counts)
    shift = (agg.first - origin).days if agg.first is not None else 0
    day_index = (np.asarray(agg.day_index, dtype=np.int64) + shift if agg.day_index is not None else
                 np.fromiter(((d - origin).days for d in agg.day), dtype=np.int64, count=len(agg.town_id)))
    df = pd.DataFrame({"town_id": agg.town_id, "d": day_index, "type_code": agg.type_code,
                       "category": agg.category, "n": agg.count, "inj": agg.injuries, "dead": agg.deaths})
    if df.empty:
        df = df.assign(sub=pd.Series(dtype="int64"), w=pd.Series(dtype="float64"))
    else:
        wt = weight_table(df[["type_code", "category"]].drop_duplicates(), method)
        df = df.merge(wt, on=["type_code", "category"], how="left")
    town = pd.Categorical(df["town_id"], categories=[t.id for t in towns]).codes.astype(np.int64)  # -1: unknown
    day = df["d"].to_numpy(dtype=np.int64)
    sub = df["sub"].to_numpy(dtype=np.int64)
    n = df["n"].to_numpy(dtype=np.int64)
    h = harm(n, df["w"].to_numpy(dtype=np.float64), df["inj"].to_numpy(dtype=np.float64), sub >= 0,
             method.injury_weight)
    return engine.DailyArrays.from_sparse(
        len(towns), n_days, town.astype(np.int64), day, sub, h, n, df["dead"].to_numpy(dtype=np.int64),
        populations(towns), [t.code for t in towns])


def coverage_mask(towns: list[TownRow], first_days: dict[str, date], day0: date, n_k: int) -> NDArray[np.bool_]:
    """[town, k]: whether town t is scored on day ``day0 + k``: from its own first day with a record plus
    ``HISTORY_DAYS - 1`` (90) days on, so that its 84-day baseline and 7-day window lie wholly within its
    own history. A town without any record is never scored (no data)."""
    start = np.array([(first_days[t.id] - day0).days + HISTORY_DAYS - 1 if t.id in first_days else n_k + 1
                      for t in towns], dtype=np.int64)
    mask: NDArray[np.bool_] = np.arange(n_k, dtype=np.int64)[None, :] >= start[:, None]
    return mask


def rank_scored(res: engine.Result, mask: NDArray[np.bool_], codes: list[str]) -> None:
    """Re-rank ``res`` among the scored towns of each day only (``mask``); no-data cells get rank 0
    (stored as NULL). In place."""
    if mask.all():
        return
    res.rank = engine.ranks(np.where(mask, res.score, -np.inf), np.where(mask, res.total_rate, np.inf), codes)
    res.rank[~mask] = 0


def score_columns(res: engine.Result, towns: list[TownRow], day0: date, skip: int,
                  now: datetime, mask: NDArray[np.bool_] | None = None) -> dict[str, list[Any]]:
    """Score rows as columns (name -> list), town-major within each day, days from ``skip`` on. Where
    ``mask`` is False the row is a no-data row: state ``no_data``, score, band, rank, sub-index scores and
    rate NULL (its window sums are kept for incremental updates)."""
    n_t, n_k = res.score.shape
    ks = np.arange(skip, n_k)
    days = [day0 + timedelta(days=int(k)) for k in ks]
    ok = np.ones((n_t, n_k), dtype=bool) if mask is None else mask
    ok_flat: list[bool] = ok[:, skip:].T.ravel().tolist()

    def col(a: np.ndarray[Any, Any]) -> list[Any]:
        out: list[Any] = a[:, skip:].T.ravel().tolist()
        return out

    def masked(values: list[Any]) -> list[Any]:
        return values if mask is None else [v if o else None for v, o in zip(values, ok_flat, strict=True)]

    out: dict[str, list[Any]] = {
        "day": [d for d in days for _ in range(n_t)], "town_id": [t.id for t in towns] * len(days),
        "state": [STATE_SCORED if o else STATE_NO_DATA for o in ok_flat],
        "score": masked(col(res.score)), "band": masked([engine.BANDS[b].value for b in col(res.band)]),
        "rank": masked(col(res.rank)), "total_rate": masked(col(res.total_rate)),
        "count_7d": col(res.count_7d), "deaths_7d": col(res.deaths_7d),
        "computed_at": [now] * (n_t * len(days)), "method_version": [res.version] * (n_t * len(days)),
        "note": masked(col(res.v2.note)) if res.v2 is not None else [None] * (n_t * len(days))}
    for si, s in enumerate(SUB_INDICES):
        out[f"s_{s.value}"] = masked(col(np.round(res.sub_score[:, :, si], 2)))  # once, as published (§5)
        out[f"h7_{s.value}"] = col(res.sums.cur[:, :, si])
        out[f"h84_{s.value}"] = col(res.sums.base[:, :, si])
    out["count_baseline"] = col(res.sums.cb)
    out["count_28d"] = col(res.sums.c28)
    out["count_prev_28d"] = col(res.sums.cp28)
    return out


def warning_rows(res: engine.Result, towns: list[TownRow], day0: date, skip: int, alpha: float,
                 prev: dict[str, set[str]] | None = None, mask: NDArray[np.bool_] | None = None,
                 ) -> list[dict[str, Any]]:
    """Warning rows from day index ``skip`` on; ``prev`` = kind -> towns flagged the day before day0
    (for onsets when day0 is the first day held in ``res``). No warning on a no-data day (``mask``)."""
    surge, mom = engine.warning_flags(res, alpha)
    if mask is not None:
        surge, mom = surge & mask, mom & mask
    rows: list[dict[str, Any]] = []
    assert res.obs_7d is not None and res.ref_7d is not None and res.p0_7d is not None
    assert res.obs_28d is not None and res.ref_28d is not None and res.p0_28d is not None
    for kind, flag, obs, ref, pv, p0 in (  # v1: record counts, p0 7/91 and 1/2; v2: events, seasonal p0
        ("surge_7d", surge, res.obs_7d, res.ref_7d, res.p_surge, res.p0_7d),
        ("mom_28d", mom, res.obs_28d, res.ref_28d, res.p_mom, res.p0_28d),
    ):
        ti_idx, k_idx = np.nonzero(flag[:, skip:])
        for ti, kk in zip(ti_idx.tolist(), k_idx.tolist(), strict=True):
            k = kk + skip
            n_tot = int(obs[ti, k] + ref[ti, k])
            rows.append({"day": day0 + timedelta(days=k), "town_id": towns[ti].id, "kind": kind,
                         "observed": int(obs[ti, k]), "reference": int(ref[ti, k]),
                         "expected": n_tot * float(p0[ti, k]),
                         "p_value": float(pv[ti, k]),
                         "onset": not (bool(flag[ti, k - 1]) if k > 0 else
                                       towns[ti].id in (prev or {}).get(kind, set()))})
    return rows


def require_city_scope(principal: Principal, uow: SqlUnitOfWork) -> None:
    """Computing the index scores and ranks every town of the city together, and what it computes is
    what the public page publishes: only an analyst whose agency covers every town (the city bureau)
    may run it. A branch's analyst reads its own towns but computes nothing."""
    principal.require(Permission.ANALYSE)
    with uow:
        kind = uow.agencies.get(principal.agency_id).kind
        outside = [t.code for t in uow.towns.all() if not principal.in_scope(t.agency_path)]
    if kind not in (AgencyKind.CITY_BUREAU, AgencyKind.PROVINCE_DEPARTMENT) or outside:
        raise Forbidden("The Safety Index ranks all towns of the city together and is published for the city; "
                        "only the analysts of a city bureau that covers every town may compute it "
                        f"({len(outside)} towns lie outside your agency).", code="city_scope_required")


def compute(first: date | None = None, last: date | None = None, *, uow_factory: UowFactory, clock: Clock,
            tz: ZoneInfo, method: Method | None = None, progress: Progress | None = None,
            ticket_recent_days: int = 7, ticket_deadline_days: int = TICKET_DEADLINE_DAYS) -> ComputeSummary:
    """Compute (or recompute) scores, ranks and warnings for first..last; open supervision tickets
    for recent red towns and new warnings. Idempotent: a day's rows are replaced."""
    m = method or Method()
    out = ComputeSummary()
    with uow_factory() as uow:
        r = repo(uow)
        towns = uow.towns.all()
        origin = r.origin_day()
        horizon = r.data_horizon()
        first_days = r.town_first_days()
        uow.commit()
    today = clock.now().astimezone(tz).date()
    yesterday = today - timedelta(days=1)
    if last is not None and last > today:
        raise InvalidInput(f"{last.isoformat()} is in the future (today is {today.isoformat()} in {tz.key}); "
                           "the index is computed only for days that have happened", code="future_day")
    # the data's horizon: the last day with an incident or declared covered by the live intake (the daily
    # job). Days after it have no data: they are not scored (shown as "no data", never as 100; issue #14)
    end = min(yesterday, horizon) if horizon else yesterday
    if last is None:
        last = end
    elif horizon is None or last > horizon:
        out.notes.append(f"days after {horizon} (the last day the data covers) are not scored: no data")
        last = min(last, horizon) if horizon else last
    if origin is None or not towns or horizon is None:
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
    fed: tuple[SubIndex, ...] | None = None
    if m.version == "v2":  # method §13.4: the fed sub-indices, declared or detected over the whole store
        with uow_factory() as uow:
            fed = m.fed or fed_from_categories(repo(uow).categories_present())
        w = m.composite_weights(fed)
        out.notes.append("composite weights (method v2, " + ("declared" if m.fed else "detected") + " fed "
                         "sub-indices): " + ", ".join(f"{s.value} {w[s]:.4f}" for s in w if w[s] > 0))
    total = (last - first).days + 1
    done = 0
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=(CHUNK_DAYS if m.version == "v1" else CHUNK_DAYS_V2) - 1))
        _compute_chunk(start, end, towns, origin, first_days, m, uow_factory, clock, tz, out, ticket_recent_days,
                       ticket_deadline_days, fed)
        done += (end - start).days + 1
        if progress is not None:
            progress(done, total)
        start = end + timedelta(days=1)
    out.days = total
    return out


def _compute_chunk(first: date, last: date, towns: list[TownRow], origin: date, first_days: dict[str, date],
                   m: Method, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo, out: ComputeSummary, recent: int,
                   deadline_days: int, fed: tuple[SubIndex, ...] | None = None) -> None:
    # include the day before ``first`` (when it has history) to know whether a warning is an onset
    lead = 1 if first - timedelta(days=1) >= origin + timedelta(days=HISTORY_DAYS - 1) else 0
    hist = engine.history_days(m)  # v1: 91 days; v2: 455 (last year's season, a year of dispersion)
    day0 = first - timedelta(days=hist - 1 + lead)
    n_days = (last - day0).days + 1
    now = clock.now()
    with uow_factory() as uow:
        r = repo(uow)
        r.lock()  # one writer of scores at a time (see ``ingest``)
        # harm and record counts are only read over the last 91 days of each scored day (v1 and v2 alike);
        # v2's older history (season, dispersion) is read as event counts only (``_with_events``)
        agg = r.aggregates(first - timedelta(days=HISTORY_DAYS - 1 + lead), last)
        arrays = _arrays(agg, towns, day0, n_days, m)
        if m.version == "v2":
            _with_events(r, arrays, towns, day0, last, origin)
        res = engine.compute(arrays, hist - 1, n_days - 1, m, fed)
        first_scored = day0 + timedelta(days=hist - 1)
        mask = coverage_mask(towns, first_days, first_scored, res.score.shape[1])
        rank_scored(res, mask, [t.code for t in towns])
        scores = score_columns(res, towns, first_scored, lead, now, mask)
        warns = warning_rows(res, towns, first_scored, lead, m.alpha, mask=mask)
        r.replace_scores(first, last, scores)
        r.replace_warnings(first, last, warns)
        out.warnings += len(warns)
        out.tickets_opened += trigger_tickets(uow, towns, scores, warns, now, tz, recent, deadline_days)
        uow.commit()


def _with_events(r: Any, arrays: engine.DailyArrays, towns: list[TownRow], day0: date, last: date,
                 origin: date) -> None:
    """Method v2's event counts (records of one event counted once, §13.3) and the first day with data."""
    harmful = [c.value for c, s in CATEGORY_SUBINDEX.items() if s is not None]
    tid, days, ev = r.event_counts(day0, last, harmful)
    index = {t.id: i for i, t in enumerate(towns)}
    arrays.with_events(np.fromiter((index.get(t, -1) for t in tid), dtype=np.int64, count=len(tid)),
                       np.fromiter(((d - day0).days for d in days), dtype=np.int64, count=len(days)),
                       np.asarray(ev, dtype=np.int64))
    arrays.data_start = max(0, (origin - day0).days)


def trigger_tickets(uow: SqlUnitOfWork, towns: list[TownRow], scores: dict[str, list[Any]],
                    warns: list[dict[str, Any]], now: datetime, tz: ZoneInfo, recent: int, deadline_days: int) -> int:
    """Red bands and warning onsets on recent days open (or extend) supervision tickets, inside the
    caller's transaction. Returns the number of tickets opened."""
    cutoff = now.astimezone(tz).date() - timedelta(days=recent)
    by_town = {t.id: t for t in towns}
    triggers: dict[str, list[tuple[date, str]]] = {}
    for d, tid, band in zip(scores["day"], scores["town_id"], scores["band"], strict=True):
        if band == Band.RED.value and d >= cutoff:
            triggers.setdefault(tid, []).append((d, f"red:{d}"))
    for w in warns:
        if w["onset"] and w["day"] >= cutoff:
            triggers.setdefault(w["town_id"], []).append((w["day"], f"{w['kind']}:{w['day']}"))
    return sum(open_or_extend(uow, by_town[t], items, now, deadline_days) for t, items in triggers.items())


def recompute_days(days: Iterable[date], *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo,
                   method: Method | None = None, through_last_scored: bool = False, **kw: Any) -> ComputeSummary:
    """Recompute after late incidents: a change on day d alters the scores of d .. d+90 (current
    window and baseline) and the warnings of d .. d+55; only days already scored are redone.
    ``through_last_scored``: up to the last scored day (a town's history now starts earlier, so its
    warm-up ends earlier: days far after the changed ones may turn from no data to scored)."""
    ds = sorted(set(days))
    if not ds:
        return ComputeSummary()
    with uow_factory() as uow:
        last_scored = repo(uow).last_scored_day()
    if last_scored is None or ds[0] > last_scored:
        return ComputeSummary(notes=["affected days not scored yet"])
    reach = engine.reach_days(method or Method())  # v1: 90 days; v2: 468 (last year's windows)
    last = last_scored if through_last_scored else min(last_scored, ds[-1] + timedelta(days=reach))
    return compute(ds[0], last, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)


def daily(*, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo, method: Method | None = None,
          **kw: Any) -> ComputeSummary:
    """The daily job: every day from the last scored day (exclusive) up to yesterday. It runs inside the
    live platform, whose intake is open: a day on which no call came in is a real zero, not a day
    without data (an offline ``compute`` without an end stops at the last day with an incident)."""
    yesterday = clock.now().astimezone(tz).date() - timedelta(days=1)
    with uow_factory() as uow:
        r = repo(uow)
        last_scored = r.last_scored_day()
        first = last_scored + timedelta(days=1) if last_scored else None
        if first is None or first <= yesterday:  # the live intake covered every day up to yesterday
            r.record_coverage("intake", "daily", first, yesterday, 0, clock.now())
        uow.commit()
    v1 = (method or Method()).version == "v1"  # v2's seasonal baseline and dispersion have no window-sum shift
    if v1 and first is not None and first <= yesterday <= first + timedelta(days=SHIFT_MAX_DAYS - 1):
        # a few new days after the stored ones: each from the day before's stored window sums
        out = ComputeSummary(first=first, last=yesterday)
        d = first
        while d <= yesterday:
            one = next_day(d, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)
            if one is None:  # the day before is not complete: compute the rest from the facts
                rest = compute(d, yesterday, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)
                out.warnings += rest.warnings
                out.tickets_opened += rest.tickets_opened
                out.notes += rest.notes
                out.towns = rest.towns
                break
            out.warnings += one.warnings
            out.tickets_opened += one.tickets_opened
            out.towns = one.towns
            d += timedelta(days=1)
        out.days = (yesterday - first).days + 1
        return out
    return compute(first, yesterday, uow_factory=uow_factory, clock=clock, tz=tz, method=method, **kw)


SHIFT_MAX_DAYS = 7  # the daily job scores up to this many new days by shifting the stored window sums


def next_day(d: date, *, uow_factory: UowFactory, clock: Clock, tz: ZoneInfo, method: Method | None = None,
             ticket_recent_days: int = 7, ticket_deadline_days: int = TICKET_DEADLINE_DAYS) -> ComputeSummary | None:
    """Score day ``d`` from the stored window sums of ``d - 1`` and the facts of the five days that enter or
    leave a window (d, d-7, d-28, d-56, d-91), instead of 91 days of facts:

        cur(d)  = cur(d-1)  + H(d) - H(d-7)        base(d) = base(d-1) + H(d-7) - H(d-91)
        c28(d)  = c28(d-1)  + N(d) - N(d-28)       cp28(d) = cp28(d-1) + N(d-28) - N(d-56)
        c7, cb and deaths like cur and base.

    The result equals a computation from the facts (sums rounded to 6 decimals, as there). Returns None,
    changing nothing, when the stored rows of ``d - 1`` are not complete for every town."""
    m = method or Method()
    now = clock.now()
    prev_day = d - timedelta(days=1)
    with uow_factory() as uow:
        r = repo(uow)
        r.lock()
        towns = uow.towns.all()
        if d > today_in(clock, tz) or not towns:
            return None
        cols = r.sums_between(prev_day, prev_day)
        t_idx = {t.id: i for i, t in enumerate(towns)}
        rows = [t_idx.get(x, -1) for x in cols["town_id"]]
        if len(rows) != len(towns) or min(rows) < 0 or len(set(rows)) != len(towns):
            return None
        ti = np.asarray(rows, dtype=np.int64)
        n_t, n_s = len(towns), len(SUB_INDICES)

        def stored(name: str, dtype: Any = np.int64) -> NDArray[Any]:
            out = np.zeros(n_t, dtype=dtype)
            out[ti] = cols[name]
            return out

        cur = np.stack([stored(f"h7_{s.value}", np.float64) for s in SUB_INDICES], axis=1)
        base = np.stack([stored(f"h84_{s.value}", np.float64) for s in SUB_INDICES], axis=1)
        c7, cb, c28, cp28, d7 = (stored(k) for k in ("count_7d", "count_baseline", "count_28d",
                                                      "count_prev_28d", "deaths_7d"))

        def day_arrays(k: int) -> engine.DailyArrays:
            day = d - timedelta(days=k)
            return _arrays(r.aggregates(day, day), towns, day, 1, m)

        a0, a7, a28, a56, a91 = (day_arrays(k) for k in (0, CURRENT_DAYS, MOM_DAYS, 2 * MOM_DAYS, HISTORY_DAYS))
        cur = np.maximum(np.round(cur + a0.harm[:, 0] - a7.harm[:, 0], 6), 0.0)
        base = np.maximum(np.round(base + a7.harm[:, 0] - a91.harm[:, 0], 6), 0.0)
        sums = engine.Sums(
            cur[:, None, :], base[:, None, :], (c7 + a0.count[:, 0] - a7.count[:, 0])[:, None],
            (cb + a7.count[:, 0] - a91.count[:, 0])[:, None], (c28 + a0.count[:, 0] - a28.count[:, 0])[:, None],
            (cp28 + a28.count[:, 0] - a56.count[:, 0])[:, None], (d7 + a0.deaths[:, 0] - a7.deaths[:, 0])[:, None])
        assert sums.cur.shape == (n_t, 1, n_s)
        codes = [t.code for t in towns]
        res = engine.score_sums(sums, populations(towns), codes, 0, m)
        mask = coverage_mask(towns, r.town_first_days(), d, 1)
        rank_scored(res, mask, codes)
        prev: dict[str, set[str]] = {}
        for w in r.warnings_between(prev_day, prev_day):
            prev.setdefault(w["kind"], set()).add(w["town_id"])
        scores = score_columns(res, towns, d, 0, now, mask)
        warns = warning_rows(res, towns, d, 0, m.alpha, prev, mask)
        r.replace_scores(d, d, scores)
        r.replace_warnings(d, d, warns)
        opened = trigger_tickets(uow, towns, scores, warns, now, tz, ticket_recent_days, ticket_deadline_days)
        uow.commit()
    return ComputeSummary(first=d, last=d, days=1, towns=n_t, warnings=len(warns), tickets_opened=opened)


def today_in(clock: Clock, tz: ZoneInfo) -> date:
    return clock.now().astimezone(tz).date()
