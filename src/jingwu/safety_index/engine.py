"""The vectorised Safety Index engine: daily town aggregates in, scores, bands,
ranks, per-10,000 rates and trend-warning tests out, for many towns and days at once.

numpy (+ scipy for the binomial tail). No database, no framework: the services
feed it arrays built from the store (SQL GROUP BY) and the benchmark feeds it
arrays built by DuckDB from 10 million generated incidents. The formulas are
those of docs/methods/safety-index.md and of the scalar versions in domain.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import betainc
from scipy.stats import binom

from jingwu.safety_index.domain import (
    BAND_THRESHOLDS,
    BASELINE_DAYS,
    CURRENT_DAYS,
    DISPERSION_WEEKS,
    HISTORY_DAYS,
    MOM_DAYS,
    RATE_PER,
    SEASON_CLAMP,
    SEASON_HALF_WIDTH,
    SEASON_LAG,
    SUB_INDICES,
    WARNING_MIN_COUNT,
    Band,
    Method,
    SubIndex,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
FIRST_SCORABLE = HISTORY_DAYS - 1  # day index 90: current 84..90, baseline 0..83
BANDS: tuple[Band, ...] = tuple(b for b, _ in BAND_THRESHOLDS)


@dataclass
class DailyArrays:
    """Dense daily aggregates: harm[town, day, sub_index], count[town, day], deaths[town, day].

    Day index 0 is the origin date; ``population`` per town; ``codes`` break rank ties.
    """

    harm: F64
    count: I64
    deaths: I64
    population: F64
    codes: list[str]
    # v2 only: harm-bearing *events* per town and day (records of one event counted once, §13.3);
    # None = every record is its own event (the counts above)
    events: I64 | None = None
    # v2 only: index of the first day with data; earlier days are "no history" (season and dispersion
    # fall back as §13 states), not zeros
    data_start: int = 0

    @classmethod
    def from_sparse(cls, n_towns: int, n_days: int, town: I64, day: I64, sub: I64, harm: F64, count: I64,
                    deaths: I64, population: F64, codes: list[str]) -> DailyArrays:
        """From aggregate rows (town index, day index, sub-index index or -1 for harmless, sums)."""
        h = np.zeros((n_towns, n_days, len(SUB_INDICES)), dtype=np.float64)
        c = np.zeros((n_towns, n_days), dtype=np.int64)
        d = np.zeros((n_towns, n_days), dtype=np.int64)
        ok = (day >= 0) & (day < n_days) & (town >= 0)
        town, day, sub, harm, count, deaths = town[ok], day[ok], sub[ok], harm[ok], count[ok], deaths[ok]
        hs = sub >= 0
        np.add.at(h, (town[hs], day[hs], sub[hs]), harm[hs])
        np.add.at(c, (town[hs], day[hs]), count[hs])
        np.add.at(d, (town, day), deaths)
        return cls(h, c, d, population.astype(np.float64), codes)

    def with_events(self, town: I64, day: I64, events: I64) -> DailyArrays:
        """The same cube with the v2 event counts from sparse (town index, day index, events) rows."""
        e = np.zeros_like(self.count)
        ok = (day >= 0) & (day < e.shape[1]) & (town >= 0)
        np.add.at(e, (town[ok], day[ok]), events[ok])
        self.events = e
        return self


@dataclass
class Sums:
    """Window sums per town and scored day: what a score is made of (stored with it, so that late
    incidents update scores by adding deltas instead of re-reading 91 days of facts).

    Harm sums are rounded to 6 decimals (weights have at most a few decimals), so sums built by
    cumulative differences and sums built by adding deltas are identical."""

    cur: F64  # [t, k, s] harm, days d-6..d
    base: F64  # [t, k, s] harm, days d-90..d-7
    c7: I64  # [t, k] harm-bearing incidents, d-6..d
    cb: I64  # d-90..d-7
    c28: I64  # d-27..d
    cp28: I64  # d-55..d-28
    d7: I64  # deaths, d-6..d


@dataclass
class Result:
    """Per town and scored day (index k = day ``first + k``)."""

    first: int
    score: F64  # [town, k]
    band: I64  # index into BANDS
    rank: I64  # 1 = safest
    sub_score: F64  # [town, k, s]
    rate: F64  # [town, k, s] mean daily harm per 10,000 residents, current window
    total_rate: F64  # [town, k]
    count_7d: I64
    count_baseline: I64
    deaths_7d: I64
    p_surge: F64  # exact conditional test, current 7 days vs 84-day baseline
    p_mom: F64  # 28 days vs the 28 before
    count_28d: I64
    count_prev_28d: I64
    sums: Sums
    # what the two warning tests compared (v1: the record counts above and the constant p0;
    # v2: event counts, seasonal p0, dispersion): observed, reference window, null share p0
    obs_7d: I64 | None = None
    ref_7d: I64 | None = None
    p0_7d: F64 | None = None
    obs_28d: I64 | None = None
    ref_28d: I64 | None = None
    p0_28d: F64 | None = None
    version: str = "v1"
    v2: V2Detail | None = None


@dataclass
class V2Detail:
    """What v2 adds per town and scored day (§13), for the notes, the validation report and tests."""

    season_7d: F64  # g: expected current/baseline ratio from last year (1 where history is short)
    season_28d: F64
    season_ok: NDArray[np.bool_]  # last year's windows lie inside the data
    dispersion: F64  # phi >= 1, from the town's own weekly event counts
    weights: dict[SubIndex, float]  # composite weights, renormalised over the fed sub-indices
    loss: F64  # composite points lost before the small-number cap and deaths
    capped_loss: F64  # after the cap (at most event_loss_cap x events in the current window)
    note: NDArray[np.object_]  # None | "warning_low_harm" | "harm_not_significant" | "few_events_capped"


def _csum(a: NDArray[Any]) -> NDArray[Any]:
    pad = [(0, 0)] * a.ndim
    pad[1] = (1, 0)
    return np.pad(np.cumsum(a, axis=1), pad)


def _window(cs: NDArray[Any], days: I64, lo: int, hi: int) -> NDArray[Any]:
    """Sum over days d-lo .. d-hi (lo >= hi >= 0) for each d in ``days`` from a padded cumsum."""
    out: NDArray[Any] = cs[:, days - hi + 1] - cs[:, days - lo]
    return out


def upper_tail_p(k: I64, n: I64, p: float) -> F64:
    """P[X >= k] for X ~ Binomial(n, p); 1 where k <= 0."""
    out = binom.sf(k - 1, n, p)
    return np.where(k <= 0, 1.0, out).astype(np.float64)


def window_sums(a: DailyArrays, first: int, last: int, *, clamp: bool = True) -> Sums:
    """Window sums for day indices first..last; ``clamp=False`` keeps negative sums (signed deltas)."""
    if first < FIRST_SCORABLE:
        raise ValueError(f"day index {first} has less than {HISTORY_DAYS} days of history")
    last = min(last, a.harm.shape[1] - 1)
    days = np.arange(first, last + 1, dtype=np.int64)
    cs_h, cs_c, cs_d = _csum(a.harm), _csum(a.count), _csum(a.deaths)

    def cnt(lo: int, hi: int) -> I64:
        return _window(cs_c, days, lo, hi).astype(np.int64)

    lo = 0.0 if clamp else -np.inf
    return Sums(
        cur=np.maximum(np.round(_window(cs_h, days, CURRENT_DAYS - 1, 0), 6), lo),
        base=np.maximum(np.round(_window(cs_h, days, HISTORY_DAYS - 1, CURRENT_DAYS), 6), lo),
        c7=cnt(CURRENT_DAYS - 1, 0), cb=cnt(HISTORY_DAYS - 1, CURRENT_DAYS), c28=cnt(MOM_DAYS - 1, 0),
        cp28=cnt(2 * MOM_DAYS - 1, MOM_DAYS), d7=_window(cs_d, days, CURRENT_DAYS - 1, 0).astype(np.int64))


def score_sums(sums: Sums, population: F64, codes: list[str], first: int, method: Method | None = None) -> Result:
    """Scores, bands, ranks, rates and both warning tests from window sums (all towns of each day)."""
    m = method or Method()
    cur = sums.cur / CURRENT_DAYS  # mean daily harm
    base = sums.base / BASELINE_DAYS
    ratio = (cur + m.smoothing) / (base + m.smoothing)
    sub_score = np.clip(100.0 - m.slope * np.log2(ratio), 0.0, 100.0)
    w = np.array([m.subindex_weights[s] for s in SUB_INDICES])
    raw = sub_score @ w - np.minimum(m.death_penalty_cap, m.death_penalty * sums.d7)
    score = np.round(np.clip(raw, 0.0, 100.0), 2)
    band = np.full(score.shape, len(BANDS) - 1, dtype=np.int64)
    for i in range(len(BANDS) - 2, -1, -1):
        band[score >= BAND_THRESHOLDS[i][1]] = i
    if population.size and float(population.min()) < 1.0:
        raise ValueError("population must be at least 1 for every town (the rate is per 10,000 residents)")
    pop = population[:, None, None]
    rate = cur * RATE_PER / pop
    total_rate = rate.sum(axis=2)
    rank = ranks(score, total_rate, codes)
    p_surge = upper_tail_p(sums.c7, sums.c7 + sums.cb, CURRENT_DAYS / HISTORY_DAYS)
    p_mom = upper_tail_p(sums.c28, sums.c28 + sums.cp28, 0.5)
    return Result(first, score, band, rank, sub_score, rate, total_rate, sums.c7, sums.cb, sums.d7, p_surge,
                  p_mom, sums.c28, sums.cp28, sums, sums.c7, sums.cb,
                  np.full(sums.c7.shape, CURRENT_DAYS / HISTORY_DAYS), sums.c28, sums.cp28,
                  np.full(sums.c28.shape, 0.5))


def compute(a: DailyArrays, first: int, last: int, method: Method | None = None,
            fed: tuple[SubIndex, ...] | None = None) -> Result:
    """Scores for day indices first..last (inclusive); needs first >= FIRST_SCORABLE.
    ``fed``: v2's detected fed sub-indices (ignored by v1 and when the method file declares ``fed``)."""
    m = method or Method()
    if m.version == "v2":
        return compute_v2(a, first, last, m, fed)
    return score_sums(window_sums(a, first, last), a.population, a.codes, first, method)


def ranks(score: F64, total_rate: F64, codes: list[str]) -> I64:
    """Rank per day: score descending, then total per-10,000 rate ascending, then town code."""
    n_towns, n_days = score.shape
    code_order = np.empty(n_towns, dtype=np.int64)
    code_order[np.argsort(np.array(codes, dtype=object), kind="stable")] = np.arange(n_towns)
    out = np.empty((n_towns, n_days), dtype=np.int64)
    for k in range(n_days):
        order = np.lexsort((code_order, np.round(total_rate[:, k], 9), -score[:, k]))
        out[order, k] = np.arange(1, n_towns + 1)
    return out


def warning_flags(r: Result, alpha: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(surge, mom) boolean arrays [town, k]: the test fires at level alpha on at least WARNING_MIN_COUNT
    (records in v1, events in v2)."""
    o7 = r.count_7d if r.obs_7d is None else r.obs_7d
    o28 = r.count_28d if r.obs_28d is None else r.obs_28d
    surge = (r.p_surge < alpha) & (o7 >= WARNING_MIN_COUNT)
    mom = (r.p_mom < alpha) & (o28 >= WARNING_MIN_COUNT)
    return surge, mom


# ---------------------------------------------------------------- method v2 (docs/methods §13)

V2_HISTORY_DAYS = SEASON_LAG + HISTORY_DAYS  # 455: d-454 .. d, what a v2 score can use at most
V2_REACH_DAYS = SEASON_LAG + SEASON_HALF_WIDTH + HISTORY_DAYS - 1  # an incident on d affects d .. d+468


def history_days(m: Method) -> int:
    """Days of history (the scored day included) a computation loads for this method version."""
    return V2_HISTORY_DAYS if m.version == "v2" else HISTORY_DAYS


def reach_days(m: Method) -> int:
    """Days after an incident's day whose scores or warnings it can change."""
    return V2_REACH_DAYS if m.version == "v2" else max(HISTORY_DAYS - 1, 2 * MOM_DAYS - 1)


def _wsum(cs: NDArray[Any], days: I64, lo: int, hi: int) -> NDArray[Any]:
    """Window d-lo .. d-hi like ``_window``, reading 0 before the first day and after the last."""
    n = cs.shape[1] - 1
    a = np.clip(days - lo, 0, n)
    b = np.clip(days - hi + 1, 0, n)
    out: NDArray[Any] = cs[:, b] - cs[:, a]
    return out


def quasi_binomial_p(x: NDArray[Any], n: NDArray[Any], p0: F64, phi: F64) -> F64:
    """P[X >= x] for X ~ Binomial(n/phi, p0) at x/phi, continuous in x and n through the regularised
    incomplete beta I_p0(x/phi, (n-x)/phi + 1) (= binom.sf(x-1, n, p0) for phi = 1 and integers); 1 where x <= 0."""
    xe = np.asarray(x, dtype=np.float64) / phi
    ye = (np.asarray(n, dtype=np.float64) - np.asarray(x, dtype=np.float64)) / phi
    with np.errstate(invalid="ignore", divide="ignore"):
        out = betainc(np.maximum(xe, 1e-300), ye + 1.0, p0)
    return np.where(xe <= 0, 1.0, out).astype(np.float64)


def season_factors(e_cs: I64 | F64, days: I64, data_start: int, cur: tuple[int, int],
                   ref: tuple[int, int]) -> tuple[F64, NDArray[np.bool_]]:
    """The city's seasonal ratio per scored day: mean daily events of all towns in last year's "current"
    window over those in last year's reference window (windows given as (lo, hi) day offsets, shifted by
    SEASON_LAG), clamped to SEASON_CLAMP; 1 where last year's windows are not inside the data or hold no
    event. One factor for all towns: per-town factors from one year of a town's own counts are too noisy
    (measured: §13.7). Returns (g [day], available [day])."""
    a = _wsum(e_cs, days, SEASON_LAG + cur[0], SEASON_LAG + cur[1]).astype(np.float64).sum(axis=0)
    b = _wsum(e_cs, days, SEASON_LAG + ref[0], SEASON_LAG + ref[1]).astype(np.float64).sum(axis=0)
    la, lb = cur[0] - cur[1] + 1, ref[0] - ref[1] + 1
    ok = (days - SEASON_LAG - max(cur[0], ref[0]) >= data_start) & (a > 0) & (b > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(ok, (a / la) / (b / lb), 1.0)
    return np.clip(g, *SEASON_CLAMP), ok


def dispersion(e_cs: I64 | F64, days: I64, data_start: int, season_ok: NDArray[np.bool_]) -> F64:
    """phi >= 1 per town and day, from the town's weekly event counts w_1..w_W in the W whole weeks before
    the current window (week j = days d-7j-6 .. d-7j; W = min(52, whole weeks inside the data), at least
    12 after the warm-up), mean m:
    - where the season is known (``season_ok``): the successive-difference (von Neumann) estimate
      sum_j (w_j - w_{j+1})^2 / (2 (W-1) m), which leaves slow seasonal change out of the noise;
    - where it is not (v1 fallback of the baseline): the plain estimate sum_j (w_j - m)^2 / ((W-1) m),
      which counts the unmodelled seasonal drift as noise (conservative).
    A mean of 0 gives 1."""
    n_t = e_cs.shape[0]
    w_max = np.minimum(DISPERSION_WEEKS, (days - (CURRENT_DAYS - 1) - data_start) // 7)
    w = np.maximum(w_max, 2)[None, :].astype(np.float64)
    weeks = []
    for j in range(1, DISPERSION_WEEKS + 1):
        weeks.append(_wsum(e_cs, days, 7 * j + 6, 7 * j).astype(np.float64))
    tot = np.zeros((n_t, len(days)))
    for j, wj in enumerate(weeks, start=1):
        tot += np.where((j <= w_max)[None, :], wj, 0.0)
    mean = tot / w
    sq_diff = np.zeros((n_t, len(days)))
    sq_dev = np.zeros((n_t, len(days)))
    for j, wj in enumerate(weeks, start=1):
        valid = (j <= w_max)[None, :]
        sq_dev += np.where(valid, (wj - mean) ** 2, 0.0)
        if j >= 2:
            sq_diff += np.where(valid, (wj - weeks[j - 2]) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vn = sq_diff / (2.0 * (w - 1.0) * mean)
        plain = sq_dev / ((w - 1.0) * mean)
    phi = np.where(season_ok[None, :], vn, plain)
    return np.maximum(np.nan_to_num(phi, nan=1.0, posinf=1.0), 1.0)


def compute_v2(a: DailyArrays, first: int, last: int, m: Method, fed: tuple[SubIndex, ...] | None) -> Result:
    """Method v2 for day indices first..last (§13): seasonal baselines, events counted once, quasi-binomial
    warning tests with the town's own dispersion, composite weights over the fed sub-indices, the
    small-number cap, and a note where band and warnings tell different stories."""
    sums = window_sums(a, first, last)
    last = min(last, a.harm.shape[1] - 1)
    days = np.arange(first, last + 1, dtype=np.int64)
    ev = a.count if a.events is None else a.events
    e_cs = _csum(ev)
    e7 = _window(e_cs, days, CURRENT_DAYS - 1, 0).astype(np.int64)
    eb = _window(e_cs, days, HISTORY_DAYS - 1, CURRENT_DAYS).astype(np.int64)
    e28 = _window(e_cs, days, MOM_DAYS - 1, 0).astype(np.int64)
    ep28 = _window(e_cs, days, 2 * MOM_DAYS - 1, MOM_DAYS).astype(np.int64)
    h = SEASON_HALF_WIDTH
    n_t = ev.shape[0]
    g7d, ok = season_factors(e_cs, days, a.data_start, (CURRENT_DAYS - 1 + h, -h), (HISTORY_DAYS - 1, CURRENT_DAYS))
    g28d, _ = season_factors(e_cs, days, a.data_start, (MOM_DAYS - 1, 0), (2 * MOM_DAYS - 1, MOM_DAYS))
    g7 = np.broadcast_to(g7d[None, :], (n_t, len(days)))
    g28 = np.broadcast_to(g28d[None, :], (n_t, len(days)))
    phi = dispersion(e_cs, days, a.data_start, ok)
    # scores: the baseline scaled by the season, weights over the fed sub-indices, the small-number cap
    cur = sums.cur / CURRENT_DAYS
    base = sums.base / BASELINE_DAYS * g7[:, :, None]
    ratio = (cur + m.smoothing) / (base + m.smoothing)
    sub_score = np.clip(100.0 - m.slope * np.log2(ratio), 0.0, 100.0)
    weights = m.composite_weights(fed)
    w = np.array([weights[s] for s in SUB_INDICES])
    loss = np.maximum(100.0 - sub_score @ w, 0.0)
    capped = np.minimum(loss, m.event_loss_cap * e7)
    raw = 100.0 - capped - np.minimum(m.death_penalty_cap, m.death_penalty * sums.d7)
    score = np.round(np.clip(raw, 0.0, 100.0), 2)
    band = np.full(score.shape, len(BANDS) - 1, dtype=np.int64)
    for i in range(len(BANDS) - 2, -1, -1):
        band[score >= BAND_THRESHOLDS[i][1]] = i
    if a.population.size and float(a.population.min()) < 1.0:
        raise ValueError("population must be at least 1 for every town (the rate is per 10,000 residents)")
    rate = cur * RATE_PER / a.population[:, None, None]
    total_rate = rate.sum(axis=2)
    rank = ranks(score, total_rate, a.codes)
    p7 = CURRENT_DAYS * g7 / (CURRENT_DAYS * g7 + BASELINE_DAYS)
    p28 = g28 / (g28 + 1.0)
    p_surge = quasi_binomial_p(e7, e7 + eb, p7, phi)
    p_mom = quasi_binomial_p(e28, e28 + ep28, p28, phi)
    r = Result(first, score, band, rank, sub_score, rate, total_rate, sums.c7, sums.cb, sums.d7, p_surge, p_mom,
               sums.c28, sums.cp28, sums, e7, eb, p7, e28, ep28, p28, "v2")
    surge, mom = warning_flags(r, m.alpha)
    warned = surge | mom
    green_blue = band <= 1
    orange_red = band >= 3
    note = np.full(score.shape, None, dtype=object)
    note[capped < loss] = "few_events_capped"
    note[orange_red & ~warned] = "harm_not_significant"
    note[warned & green_blue] = "warning_low_harm"
    r.v2 = V2Detail(g7, g28, np.broadcast_to(ok[None, :], g7.shape), phi, weights, loss, capped, note)
    return r
