"""Safety Index method v1 against v2 on a realistic synthetic history with known truth
(docs/methods/safety-index.md §13.7): warning town-days where no surge was injected (target
<= 0.3 %), power to find injected week-long surges (x1.5, x2, x3) at 5 events a day, and the
engine time of each version on a large cube.

Run: ``PYTHONPATH=src .venv/bin/python bench/bench_si_method.py [--seeds 5 6 7] [--quick]``;
``--store TOWNS DAYS PER_DAY`` instead times the product's compute (SQLite store) with v1 and v2.
The history (``jingwu.safety_index.synthetic``): 60 towns, 0.1-25 events a day (log-uniform
populations), 3 years, an annual season of ±15 % (±5 % per town) peaking mid-July, the weekday
profile, gamma-Poisson daily counts with variance/mean 1.0-1.65 per town, 2 % of events recorded as
two or more offences (same town, same minute). Power: 120 towns of 5 events a day, one surge per town
per round (2 rounds), random start; "found" = a warning (either test) on a day of the surge week.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from jingwu.safety_index import engine, synthetic, validate
from jingwu.safety_index.domain import Method


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7])
    ap.add_argument("--quick", action="store_true", help="one seed, no timing cube")
    ap.add_argument("--store", type=int, nargs=3, metavar=("TOWNS", "DAYS", "PER_DAY"),
                    help="also time the product's compute (SQLite store) with v1 and v2, e.g. 1600 730 2000")
    args = ap.parse_args()
    if args.store:
        product_path(*args.store)
        return
    seeds = args.seeds[:1] if args.quick else args.seeds
    print(f"{'method':6} {'seed':>4} {'town-days':>9} {'surge %':>8} {'mom %':>7} {'either %':>9} "
          f"{'season-known %':>14} {'x1.5 wk %':>9} {'x2 day7 %':>9} {'x2 wk %':>8} {'x3 wk %':>8}")
    agg: dict[str, list[float]] = {}
    for v in ("v1", "v2"):
        for seed in seeds:
            c = validate.synthetic_check(Method(version=v), seed=seed)
            p = {x["factor"]: x for x in c.power_5_per_day}
            print(f"{v:6} {seed:>4} {c.null['town_days']:>9} {c.null['surge_7d_pct']:>8.3f} "
                  f"{c.null['mom_28d_pct']:>7.3f} "
                  f"{c.null['either_pct']:>9.3f} {c.null_season_known['either_pct']:>14.3f} "
                  f"{p[1.5]['power_in_week_pct']:>9.1f} {p[2.0]['power_last_day_pct']:>9.1f} "
                  f"{p[2.0]['power_in_week_pct']:>8.1f} {p[3.0]['power_in_week_pct']:>8.1f}")
            agg.setdefault(f"{v} either", []).append(c.null["either_pct"])
            agg.setdefault(f"{v} x2 week", []).append(p[2.0]["power_in_week_pct"])
    for k, vals in agg.items():
        print(f"mean {k}: {np.mean(vals):.3f}")
    if args.quick:
        return
    # engine time, both versions, 1,600 towns x 730 days (scores for the last 365)
    n_t, n_d = 1600, 730
    pop = np.exp(np.random.default_rng(1).uniform(np.log(2e3), np.log(2e5), n_t))
    h = synthetic.generate(pop, n_d, 27_400.0, seed=1)
    a = h.cube(Method(version="v2"), pop, [f"T{i:04d}" for i in range(n_t)])
    for v in ("v1", "v2"):
        m = Method(version=v)
        t0 = time.perf_counter()
        engine.compute(a, n_d - 365, n_d - 1, m)
        print(f"engine {v}: {n_t} towns x 365 scored days ({len(h):,} records): {time.perf_counter() - t0:.2f} s")


def product_path(n_towns: int, n_days: int, per_day: float) -> None:
    """The product's own computation (services.compute.compute over a SQLite fact table) with v1 and v2:
    the whole range, then one day (the daily job's work)."""
    import tempfile
    from datetime import UTC, date, datetime, timedelta
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from jingwu.platform import services as platform_services
    from jingwu.platform.container import build_container
    from jingwu.platform.db import upgrade
    from jingwu.platform.settings import Settings
    from jingwu.safety_index.services.compute import compute
    from jingwu.safety_index.store import SafetyIndexRepository, si_incidents

    pop = np.exp(np.random.default_rng(2).uniform(np.log(2e3), np.log(2e5), n_towns))
    h = synthetic.generate(pop, n_days, per_day, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        c = build_container(Settings(data_dir=Path(tmp), secret_key="bench-" + "x" * 30, log_json=False))
        upgrade(c.engine)
        agency = platform_services.create_agency(
            platform_services.CreateAgency("BENCH", "基准市公安局", "city_bureau"), uow=c.uow(), actor=None)
        with c.uow() as uow:
            for i in range(n_towns):
                uow.towns.add(code=f"T{i:05d}", name=f"T{i:05d}", name_en=None, agency_id=agency,
                              population=int(pop[i]), population_note=None, area_km2=None, geometry=None,
                              at=c.clock.now())
            uow.commit()
        with c.uow() as uow:
            towns = uow.towns.all()
        d0 = date(2024, 1, 1)
        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        now = datetime.now(UTC)
        session = c.session_factory()
        SafetyIndexRepository(session)._bulk_insert(si_incidents, {
            "incident_id": [f"b:{i}" for i in range(len(h))],
            "occurred_at": [t0 + timedelta(days=int(d), minutes=int(m))
                            for d, m in zip(h.day, h.minute, strict=True)],
            "day": [d0 + timedelta(days=int(d)) for d in h.day], "town_id": [towns[int(t)].id for t in h.town],
            "type_code": [str(x) for x in h.type_code], "category": [str(x) for x in h.category],
            "deaths": h.deaths.tolist(), "injuries": h.injuries.tolist(), "source": ["bench"] * len(h),
            "received_at": [now] * len(h)})
        session.commit()
        session.close()
        last = d0 + timedelta(days=n_days - 1)
        for v in ("v1", "v2"):
            m = Method(version=v)
            t1 = time.perf_counter()
            s = compute(None, last, uow_factory=c.uow, clock=c.clock, tz=ZoneInfo("UTC"), method=m)
            t2 = time.perf_counter()
            compute(last, last, uow_factory=c.uow, clock=c.clock, tz=ZoneInfo("UTC"), method=m)
            t3 = time.perf_counter()
            print(f"product compute {v}: {len(h):,} records, {n_towns} towns, {s.days} days: {t2 - t1:.2f} s; "
                  f"one day (daily job): {t3 - t2:.2f} s")
        c.engine.dispose()


if __name__ == "__main__":
    main()
