"""A realistic synthetic incident history for measuring the method (docs/methods/safety-index.md §13.7):
towns of very different sizes, an annual season per town, day-of-week profile, overdispersed daily
counts (gamma-Poisson), and co-recorded offences (several records of one event: same town, same
minute). Used by ``jingwu index validate --synthetic``, ``jingwu index generate --realistic``, the
method tests and bench/bench_si_method.py. numpy only; every draw comes from one seeded generator.

The model, per town t and day d (events, i.e. what happened once at one time and place):

    lambda(t,d) = base_t * (1 + a_t cos(2 pi (doy(d) - 196) / 365.25)) * weekly(dow(d)) / mean(weekly)
                  * surge factor (1 outside injected surges)
    G(t,d)      ~ Gamma(shape lambda/(phi_t - 1), scale (phi_t - 1)/lambda)     (mean 1; G = 1 if phi_t = 1)
    events      ~ Poisson(lambda * G)          -> mean lambda, variance phi_t * lambda
    records     = 1 + (Geometric(1 - q) - 1) per event (q = share of events with a co-recorded offence)

``a_t`` = season amplitude ± spread (peak mid-July, day of year 196), ``phi_t`` uniform in the given
range, ``base_t`` proportional to population. Each record gets a type from TYPE_MIX (a plausible 110
mix over the suggested codes), the event's minute of the day, and casualties as in the demo generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from jingwu.safety_index import engine
from jingwu.safety_index.domain import CATEGORY_SUBINDEX, SUB_INDICES, Category, Method, category_for_code

# (code, share): a plausible 110 mix; help and disputes carry little or no harm
TYPE_MIX: tuple[tuple[str, float], ...] = (
    ("010600", 0.14), ("010601", 0.03), ("010602", 0.01), ("010603", 0.05), ("010800", 0.05), ("010700", 0.02),
    ("010400", 0.003), ("010200", 0.007), ("010100", 0.0003), ("011600", 0.004), ("020100", 0.06),
    ("020300", 0.04), ("020900", 0.01), ("021400", 0.05), ("029900", 0.05), ("030100", 0.02), ("030200", 0.12),
    ("030400", 0.01), ("030500", 0.05), ("040100", 0.01), ("040200", 0.005), ("050600", 0.06), ("059900", 0.09),
    ("060200", 0.06), ("990000", 0.0947),
)
CODES = np.array([c for c, _ in TYPE_MIX])
SHARES = np.array([s for _, s in TYPE_MIX]) / sum(s for _, s in TYPE_MIX)
CATEGORIES = np.array([category_for_code(c).value for c in CODES])
WEEKLY = np.array([0.95, 0.95, 0.97, 1.0, 1.08, 1.1, 0.95])  # Monday .. Sunday
SEASON_PEAK_DOY = 196  # mid-July
HARM_BEARING = np.array([CATEGORY_SUBINDEX[Category(c)] is not None for c in CATEGORIES])


@dataclass
class History:
    """Records (one per offence) of a synthetic history; records of one event share ``event``."""

    n_towns: int
    n_days: int
    town: NDArray[np.int64]
    day: NDArray[np.int64]
    minute: NDArray[np.int64]  # minute of the day of the event
    event: NDArray[np.int64]  # event number: co-recorded offences share it
    type_idx: NDArray[np.int64]
    deaths: NDArray[np.int64]
    injuries: NDArray[np.int64]
    lam: NDArray[np.float64]  # [town, day] expected events per day (season, weekday, surges)
    surges: list[tuple[int, int, int, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.town)

    @property
    def type_code(self) -> NDArray[np.str_]:
        return CODES[self.type_idx]

    @property
    def category(self) -> NDArray[np.str_]:
        return CATEGORIES[self.type_idx]

    def cube(self, method: Method, population: NDArray[np.float64], codes: list[str]) -> engine.DailyArrays:
        """The engine's daily cube, with v2's event counts (harm-bearing records of one event counted once)."""
        subs = {s: i for i, s in enumerate(SUB_INDICES)}
        sub_of = np.array([subs[s] if (s := CATEGORY_SUBINDEX[Category(c)]) is not None else -1
                           for c in CATEGORIES])
        w_of = np.array([method.harm_weight(str(code), Category(str(cat))) for code, cat in zip(CODES, CATEGORIES,
                                                                                              strict=True)])
        sub = sub_of[self.type_idx]
        harm = np.where(sub >= 0, w_of[self.type_idx] + method.injury_weight * self.injuries, 0.0)
        a = engine.DailyArrays.from_sparse(self.n_towns, self.n_days, self.town, self.day, sub, harm,
                                           np.ones(len(self.town), dtype=np.int64), self.deaths,
                                           np.asarray(population, dtype=np.float64), codes)
        hb = sub >= 0
        # the store's rule (method §13.3): harm-bearing records of one town and day with the same time are
        # one event (two events of one town in the same minute are then counted once, as in the store)
        key = np.unique((self.town[hb] * self.n_days + self.day[hb]) * 1440 + self.minute[hb])
        cell = key // 1440
        return a.with_events(cell // self.n_days, cell % self.n_days, np.ones(len(key), dtype=np.int64))


def generate(population: NDArray[np.float64], n_days: int, per_day: float, *, seed: int = 7,
             first_doy: int = 0, first_weekday: int = 0, season: float = 0.15, season_spread: float = 0.05,
             dispersion: tuple[float, float] = (1.0, 1.65), co_record: float = 0.02,
             surges: list[tuple[int, int, int, float]] | None = None) -> History:
    """About ``per_day`` events a day over the towns (in proportion to population) for ``n_days`` days.
    ``surges``: (town, first day, days, factor) multiply the expected events."""
    rng = np.random.default_rng(seed)
    pop = np.asarray(population, dtype=np.float64)
    n_t = len(pop)
    base = pop / pop.sum() * per_day
    amp = season + rng.uniform(-season_spread, season_spread, n_t)
    d = np.arange(n_days)
    seasonal = 1.0 + amp[:, None] * np.cos(2 * np.pi * ((first_doy + d) - SEASON_PEAK_DOY) / 365.25)[None, :]
    weekly = WEEKLY[(d + first_weekday) % 7] / WEEKLY.mean()
    lam = base[:, None] * seasonal * weekly[None, :]
    for t, d0, nd, f in surges or []:
        lam[t, d0:d0 + nd] *= f
    phi = rng.uniform(dispersion[0], dispersion[1], n_t)[:, None] * np.ones_like(lam)
    over = (phi > 1.0) & (lam > 0)
    shape = np.where(over, lam / np.where(over, phi - 1.0, 1.0), 1.0)
    g = np.where(over, rng.gamma(shape, np.where(over, 1.0 / shape, 1.0)), 1.0)
    n_ev = rng.poisson(lam * g).ravel()
    ev_cell = np.repeat(np.arange(n_ev.size, dtype=np.int64), n_ev)
    n_events = len(ev_cell)
    per_event = (rng.geometric(1.0 - co_record, n_events) if co_record > 0
                 else np.ones(n_events, dtype=np.int64))
    event = np.repeat(np.arange(n_events, dtype=np.int64), per_event)
    cell = ev_cell[event]
    town, day = np.divmod(cell, n_days)
    minute = rng.integers(0, 1440, n_events)[event]
    n = len(event)
    type_idx = rng.choice(len(CODES), size=n, p=SHARES).astype(np.int64)
    cats = CATEGORIES[type_idx]
    injurable = (cats == Category.TRAFFIC.value) | (cats == Category.CRIME.value)
    injuries = np.where(injurable, rng.binomial(1, 0.03, n), 0).astype(np.int64)
    deaths = np.where(cats == Category.TRAFFIC.value, rng.binomial(1, 0.0015, n), 0).astype(np.int64)
    return History(n_t, n_days, town.astype(np.int64), day.astype(np.int64), minute.astype(np.int64), event,
                   type_idx, deaths, injuries, lam, list(surges or []))
