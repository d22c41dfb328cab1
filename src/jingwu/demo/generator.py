"""The demo call generator: a documented model of a city's 110 call stream.

Arrivals are a non-homogeneous Poisson process with an hourly profile (the shared call model,
:mod:`jingwu.contracts.call_model`);
locations mix hot spots (Gaussian around busy places) with calls anywhere on
the road network; types follow a category mix. docs/methods/dispatch.md gives
the numbers and where they come from. Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jingwu.contracts.call_model import CATEGORY_MIX, HOT_SHARE, HOURLY_PROFILE
from jingwu.dispatch.domain import IntakeFlags, TypeTable

# Hot spots in central Chengdu: (name, lon, lat, sigma metres, weight)
HOT_SPOTS = [
    ("春熙路", 104.0810, 30.6570, 350, 3.0),
    ("天府广场", 104.0657, 30.6598, 300, 2.0),
    ("宽窄巷子", 104.0540, 30.6700, 250, 1.5),
    ("火车北站", 104.0740, 30.6960, 400, 2.0),
    ("建设路", 104.1010, 30.6755, 350, 1.5),
    ("二仙桥", 104.1200, 30.6800, 400, 1.0),
    ("骡马市", 104.0700, 30.6740, 300, 1.0),
]
# The types drawn within each category of CATEGORY_MIX are uniform.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class GeneratedCall:
    at: datetime
    lon: float
    lat: float
    type_code: str
    summary: str
    caller_name: str
    caller_phone: str
    flags: IntakeFlags
    hot_spot: str | None


class CallGenerator:
    def __init__(self, types: TypeTable, node_lonlat: list[tuple[float, float]], *, calls_per_hour: float,
                 tz: ZoneInfo, seed: int = 110) -> None:
        self.rng = random.Random(seed)
        self.types = types
        self.nodes = node_lonlat
        self.rate = calls_per_hour
        self.tz = tz
        self.by_cat: dict[str, list[str]] = {}
        for t in types.types.values():
            if t.category in CATEGORY_MIX:
                self.by_cat.setdefault(t.category, []).append(t.code)
        self._cats = list(CATEGORY_MIX)
        self._cat_w = [CATEGORY_MIX[c] for c in self._cats]
        self._hot_w = [h[4] for h in HOT_SPOTS]

    def rate_at(self, at: datetime) -> float:
        """Calls per hour at this instant."""
        return self.rate * HOURLY_PROFILE[at.astimezone(self.tz).hour]

    def next_gap(self, at: datetime) -> timedelta:
        """Time to the next call (thinning of a Poisson process with the profile's peak rate)."""
        peak = self.rate * max(HOURLY_PROFILE)
        t = at
        while True:
            t = t + timedelta(hours=self.rng.expovariate(peak))
            if self.rng.random() <= self.rate_at(t) / peak:
                return t - at

    def place(self) -> tuple[float, float, str | None]:
        if self.rng.random() < HOT_SHARE:
            name, lon, lat, sigma, _w = self.rng.choices(HOT_SPOTS, weights=self._hot_w)[0]
            dy = self.rng.gauss(0, sigma) / 111_000
            dx = self.rng.gauss(0, sigma) / (111_000 * math.cos(math.radians(lat)))
            return lon + dx, lat + dy, name
        lon, lat = self.rng.choice(self.nodes)
        return lon, lat, None

    def call(self, at: datetime) -> GeneratedCall:
        cat = self.rng.choices(self._cats, weights=self._cat_w)[0]
        code = self.rng.choice(self.by_cat[cat])
        t = self.types.get(code)
        lon, lat, spot = self.place()
        injuries = 1 if cat in ("traffic", "crime") and self.rng.random() < 0.1 else 0
        flags = IntakeFlags(ongoing=self.rng.random() < 0.3, injuries=injuries)
        name = self.rng.choice(SURNAMES) + self.rng.choice(["先生", "女士"])
        phone = "1380000" + f"{self.rng.randrange(10_000):04d}"  # clearly synthetic numbers
        where = f"{spot}附近" if spot else "路边"
        return GeneratedCall(at, lon, lat, code, f"[演示] {where}：{t.name_zh}", name, phone, flags, spot)
