"""The simulated call stream: generated from the documented call model, or replayed from a CSV of
historical calls.

Generated (:func:`generate`): arrivals are a non-homogeneous Poisson process with the shared hourly profile
(:data:`jingwu.contracts.call_model.HOURLY_PROFILE`): the count in each hour of the run is
Poisson(calls_per_day / 24 × profile[hour]) and the calls are spread uniformly within the hour. Locations:
with probability ``HOT_SHARE`` a Gaussian (σ = 350 m) around one of ``HOT_SPOTS`` hot spots drawn from the
network's own nodes (seeded, weights uniform in [1, 3]), otherwise a uniformly drawn network node; so it works
for any city's network. Categories follow :data:`~jingwu.contracts.call_model.CATEGORY_MIX`; each call's
on-scene time is drawn from its category's lognormal (:data:`jingwu.simulation.domain.DEFAULT_SERVICE`). Every
draw comes from one seeded generator, so a seed gives the same stream, and every policy of a run sees the same
calls with the same service times (common random numbers).

Replayed (:func:`read_calls_csv`): rows ``received_at,lon,lat[,category]``; times are taken relative to the
local midnight before the first call.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from jingwu.contracts.call_model import CATEGORY_MIX, HOT_SHARE, HOURLY_PROFILE
from jingwu.platform.errors import InvalidInput
from jingwu.simulation.domain import ServiceTime, SimParams

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

HOT_SPOTS = 8
HOT_SIGMA_M = 350.0
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_MIX)
M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class CallStream:
    t: F64  # seconds since the start (local midnight of day 0), sorted
    lon: F64
    lat: F64
    category: I64  # index into ``categories``
    service_s: F64  # on-scene time of each call
    categories: tuple[str, ...]
    days: int

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _service(rng: np.random.Generator, cat: I64, categories: tuple[str, ...],
             service: dict[str, ServiceTime]) -> F64:
    out = np.empty(cat.shape[0])
    z: F64 = np.asarray(rng.standard_normal(int(cat.shape[0])), dtype=np.float64)
    for k, name in enumerate(categories):
        st = service.get(name)
        if st is None:
            raise InvalidInput(f"no service time for call category {name!r}", code="invalid_service")
        sel = cat == k
        out[sel] = st.median_s * np.exp(st.sigma * z[sel])
    return out


def generate(p: SimParams, node_lon: F64, node_lat: F64) -> CallStream:
    """``p.days`` days of calls on a network with these node coordinates (see the module doc)."""
    rng = np.random.default_rng(p.seed)
    hours = p.days * 24
    prof = np.asarray(HOURLY_PROFILE)[np.arange(hours) % 24]
    counts = rng.poisson(p.calls_per_day / 24.0 * prof)
    n = int(counts.sum())
    t = np.repeat(np.arange(hours) * 3600.0, counts) + rng.uniform(0.0, 3600.0, n)
    t.sort()
    n_nodes = node_lon.shape[0]
    spots = rng.choice(n_nodes, size=min(HOT_SPOTS, n_nodes), replace=False)
    spot_w = rng.uniform(1.0, 3.0, spots.size)
    hot = rng.random(n) < HOT_SHARE
    which = rng.choice(spots.size, size=n, p=spot_w / spot_w.sum())
    anywhere = rng.integers(0, n_nodes, n)
    lat0 = float(np.mean(node_lat))
    dy = rng.standard_normal(n) * HOT_SIGMA_M / M_PER_DEG
    dx = rng.standard_normal(n) * HOT_SIGMA_M / (M_PER_DEG * math.cos(math.radians(lat0)))
    lon = np.where(hot, node_lon[spots[which]] + dx, node_lon[anywhere])
    lat = np.where(hot, node_lat[spots[which]] + dy, node_lat[anywhere])
    mix = np.asarray([CATEGORY_MIX[c] for c in CATEGORIES])
    cat = rng.choice(len(CATEGORIES), size=n, p=mix / mix.sum()).astype(np.int64)
    return CallStream(t, lon, lat, cat, _service(rng, cat, CATEGORIES, p.service), CATEGORIES, p.days)


def read_calls_csv(path: Path, p: SimParams, tz: ZoneInfo) -> CallStream:
    """Historical calls from a CSV with columns ``received_at`` (ISO 8601; naive times are local),
    ``lon``, ``lat`` and optionally ``category`` (one of the call model's; drawn from the mix when absent).
    The whole file is checked before anything runs: a bad row is an InvalidInput naming its line."""
    rows: list[tuple[datetime, float, float, str | None]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"received_at", "lon", "lat"} - set(reader.fieldnames or ())
            if missing:
                raise InvalidInput(f"{path.name}: missing column(s) {', '.join(sorted(missing))}",
                                   code="invalid_calls")
            for line, r in enumerate(reader, start=2):
                try:
                    at = datetime.fromisoformat(r["received_at"])
                    lon, lat = float(r["lon"]), float(r["lat"])
                except (TypeError, ValueError):
                    raise InvalidInput(f"{path.name} line {line}: received_at must be ISO 8601 and lon/lat numbers",
                                       code="invalid_calls") from None
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise InvalidInput(f"{path.name} line {line}: lon/lat out of range", code="invalid_calls")
                cat = (r.get("category") or "").strip() or None
                if cat is not None and cat not in CATEGORIES:
                    raise InvalidInput(f"{path.name} line {line}: unknown category {cat!r} (use "
                                       f"{', '.join(CATEGORIES)})", code="invalid_calls")
                rows.append((at if at.tzinfo else at.replace(tzinfo=tz), lon, lat, cat))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="invalid_calls") from None
    if not rows:
        raise InvalidInput(f"{path.name}: no calls", code="invalid_calls")
    rows.sort(key=lambda r: r[0])
    first = rows[0][0].astimezone(tz)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    t = np.array([(r[0] - start).total_seconds() for r in rows])
    days = max(1, math.ceil(float(t[-1]) / 86400.0 + 1e-9))
    rng = np.random.default_rng(p.seed)
    mix = np.asarray([CATEGORY_MIX[c] for c in CATEGORIES])
    drawn = rng.choice(len(CATEGORIES), size=len(rows), p=mix / mix.sum())
    cat = np.array([CATEGORIES.index(r[3]) if r[3] else int(d) for r, d in zip(rows, drawn, strict=True)],
                   dtype=np.int64)
    lons = np.array([r[1] for r in rows])
    lats = np.array([r[2] for r in rows])
    return CallStream(t, lons, lats, cat, _service(rng, cat, CATEGORIES, p.service), CATEGORIES, days)


def start_of(days_back: int, now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight ``days_back`` days before ``now`` (the report's day 0 for a generated stream)."""
    d = now.astimezone(tz).date() - timedelta(days=days_back)
    return datetime(d.year, d.month, d.day, tzinfo=tz)
