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
from scipy.stats import binom

from jingwu.safety_index.domain import (
    BAND_THRESHOLDS,
    BASELINE_DAYS,
    CURRENT_DAYS,
    HISTORY_DAYS,
    MOM_DAYS,
    RATE_PER,
    SUB_INDICES,
    WARNING_MIN_COUNT,
    Band,
    Method,
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
                  p_mom, sums.c28, sums.cp28, sums)


def compute(a: DailyArrays, first: int, last: int, method: Method | None = None) -> Result:
    """Scores for day indices first..last (inclusive); needs first >= FIRST_SCORABLE."""
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
    """(surge, mom) boolean arrays [town, k]: the test fires at level alpha on at least WARNING_MIN_COUNT."""
    surge = (r.p_surge < alpha) & (r.count_7d >= WARNING_MIN_COUNT)
    mom = (r.p_mom < alpha) & (r.count_28d >= WARNING_MIN_COUNT)
    return surge, mom
