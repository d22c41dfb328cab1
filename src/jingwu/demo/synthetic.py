"""Generated incident streams for the benchmark, the browser test and demos:
Poisson counts per town and day (rate proportional to population, a weekly
profile, optional surges), a fixed type mix over the suggested codes. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jingwu.safety_index.domain import Category, category_for_code

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


@dataclass
class Generated:
    town: NDArray[np.int64]
    day: NDArray[np.int64]
    type_idx: NDArray[np.int64]
    deaths: NDArray[np.int64]
    injuries: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.town)

    @property
    def type_code(self) -> NDArray[np.str_]:
        return CODES[self.type_idx]

    @property
    def category(self) -> NDArray[np.str_]:
        return CATEGORIES[self.type_idx]


def generate(population: NDArray[np.float64], n_days: int, total: int, *, seed: int = 7,
             surges: list[tuple[int, int, int, float]] | None = None, first_weekday: int = 0) -> Generated:
    """About ``total`` incidents over towns x days. ``surges``: (town, first day, days, factor)."""
    rng = np.random.default_rng(seed)
    w = population / population.sum()
    lam = np.outer(w, WEEKLY[(np.arange(n_days) + first_weekday) % 7]) * total / (n_days * WEEKLY.mean())
    for t, d0, nd, f in surges or []:
        lam[t, d0:d0 + nd] *= f
    counts = rng.poisson(lam)
    flat = counts.ravel()
    idx = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    town, day = np.divmod(idx, n_days)
    n = len(idx)
    type_idx = rng.choice(len(CODES), size=n, p=SHARES).astype(np.int64)
    cats = CATEGORIES[type_idx]
    injurable = (cats == Category.TRAFFIC.value) | (cats == Category.CRIME.value)
    injuries = np.where(injurable, rng.binomial(1, 0.03, n), 0).astype(np.int64)
    deaths = np.where(cats == Category.TRAFFIC.value, rng.binomial(1, 0.0015, n), 0).astype(np.int64)
    return Generated(town.astype(np.int64), day.astype(np.int64), type_idx, deaths, injuries)
