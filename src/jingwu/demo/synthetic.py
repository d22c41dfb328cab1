"""Generated incident streams for the benchmark, the browser test and demos:
Poisson counts per town and day (rate proportional to population, a weekly
profile, optional surges), a fixed type mix over the suggested codes. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jingwu.safety_index.domain import Category
from jingwu.safety_index.synthetic import CATEGORIES, CODES, SHARES, TYPE_MIX, WEEKLY

__all__ = ["CATEGORIES", "CODES", "SHARES", "TYPE_MIX", "WEEKLY", "Generated", "generate"]


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
