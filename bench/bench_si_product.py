"""Safety Index, the product's own path: a backfill through ``jingwu index import`` and ``jingwu index
compute`` and the daily update, each beside the same computation written plainly in pandas, in one run.

Run: ``nice .venv/bin/python bench/bench_si_product.py [--quick]`` (default 10,000,000 incidents,
1,600 towns, 365 days; ``--quick``: 300,000 / 200 / 365).

Data (not timed): generated incidents (``jingwu.demo.synthetic``: Poisson per town-day by population,
weekly profile, a fixed 110 type mix, a few surges), written as one Parquet import file (id, local time
as a timestamp column, town code, type code, deaths, injuries) for days 0..N-1, and the day N as the
events of the live intake. Towns are given by code (placing 10 million points in polygons is a separate
cost, see the note printed at the end).

Timed, product (a fresh migrated SQLite store, what the CLI commands call, in process):
1. ``jingwu index import FILE --mapping MAP`` = ``importer.import_file``: read, parse (vectorised), store
   (in SQL: ``store.bulk_upsert_incidents``);
2. ``jingwu index compute`` (no range: the data's range) = ``services.compute.compute``, by stage: SQL
   GROUP BY of the facts, the engine's cube, engine (scores, ranks, tests), score/warning rows, write;
3. the daily update: the day's events through the bus handler's path (``ingest``, batches of 500; during
   the day, reported apart), then the daily job (``services.compute.daily``) scoring that day.
Timed, plain pandas (same data, same method, checked equal): read the same Parquet file, local day,
merge weights, groupby, pivot, rolling windows, per-town warm-up, rank among scored towns, binomial tails;
and the daily update as pandas over the 91 days it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).parent))
from bench_safety_index import real_towns

from jingwu.demo import synthetic
from jingwu.platform.container import build_container
from jingwu.platform.db import upgrade
from jingwu.platform.settings import Settings
from jingwu.safety_index import columnar, engine, importer
from jingwu.safety_index.domain import (
    SUB_INDICES,
    Category,
    Method,
    harm,
)
from jingwu.safety_index.services import compute as compute_mod
from jingwu.safety_index.services.ingest import IncidentFact, ingest
from jingwu.safety_index.store import SafetyIndexRepository

FIRST_DAY = date(2025, 1, 1)
TZ = "Asia/Shanghai"
MAPPING = {"source": "bench", "id": "id", "time": "time", "timezone": TZ, "town": "town", "type": "type",
           "deaths": "deaths", "injuries": "injuries"}


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


STAGES: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)  # process CPU seconds (all threads): what the stage costs a core


@contextmanager
def stage(name: str) -> Iterator[None]:
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        STAGES[name] += time.perf_counter() - t0
        CPU[name] += time.process_time() - c0


def instrument() -> None:
    """Wrap the product's stages with timers (the bench only)."""
    def wrap(owner: Any, attr: str, name: str) -> None:
        fn = getattr(owner, attr)

        def timed(*a: Any, **k: Any) -> Any:
            with stage(name):
                return fn(*a, **k)
        setattr(owner, attr, timed)

    wrap(SafetyIndexRepository, "aggregates", "aggregate: SQL GROUP BY of the facts")
    wrap(compute_mod, "_arrays", "aggregate: rows -> engine cube")
    wrap(compute_mod.engine, "compute", "compute: engine (scores, ranks, tests)")
    wrap(compute_mod, "score_columns", "write: score rows as columns")
    wrap(compute_mod, "warning_rows", "write: warning rows")
    wrap(SafetyIndexRepository, "replace_scores", "write: replace score rows")
    wrap(SafetyIndexRepository, "replace_warnings", "write: replace warning rows")


def make_data(n: int, n_towns: int, n_days: int, tmp: Path) -> tuple[np.ndarray[Any, Any], Path, pd.DataFrame]:
    """Days 0..n_days-1 as the import file; day n_days as the live intake's events."""
    rng = np.random.default_rng(3)
    pop = rng.lognormal(mean=np.log(60_000), sigma=0.6, size=n_towns).round()
    surges = [(int(t), int(rng.integers(120, n_days - 10)), 5, 2.5) for t in rng.choice(n_towns, 8, replace=False)]
    g = synthetic.generate(pop, n_days + 1, int(n * (n_days + 1) / n_days), seed=11, surges=surges,
                           first_weekday=FIRST_DAY.weekday())
    secs = rng.integers(0, 86_400, len(g))
    local = (np.datetime64(FIRST_DAY.isoformat(), "s") + g.day.astype("timedelta64[D]").astype("timedelta64[s]")
             + secs.astype("timedelta64[s]"))
    codes = np.array([f"T{i:05d}" for i in range(n_towns)])
    frame = pd.DataFrame({"id": np.arange(len(g)).astype(str), "time": local, "town": codes[g.town],
                          "type": synthetic.CODES[g.type_idx], "deaths": g.deaths, "injuries": g.injuries})
    last = g.day == n_days
    path = tmp / "incidents.parquet"
    pq.write_table(pa.Table.from_pandas(frame[~last], preserve_index=False), path)
    return pop, path, frame[last].reset_index(drop=True)


def pandas_scores(df: pd.DataFrame, pop: np.ndarray[Any, Any], codes: list[str], day0: date, n_days: int,
                  first: int, m: Method) -> pd.DataFrame:
    """The method in plain pandas on the import frame: local day, weights, pivots, rolling windows,
    per-town warm-up (first record + 90 days), ranks among the scored towns, the surge test."""
    d = pd.DataFrame({"town": pd.Categorical(df["town"], categories=codes).codes,
                      "d": (df["time"].to_numpy().astype("datetime64[D]")
                            - np.datetime64(day0.isoformat(), "D")).astype(np.int64),
                      "type_code": df["type"].astype(str), "injuries": df["injuries"], "deaths": df["deaths"]})
    d["category"] = d["type_code"].map({c: synthetic.CATEGORIES[i] for i, c in enumerate(synthetic.CODES)})
    wt = columnar.weight_table(d[["type_code", "category"]].drop_duplicates(), m)
    d = d.merge(wt, on=["type_code", "category"], how="left")
    d["harm"] = harm(1, d["w"], d["injuries"], d["sub"] >= 0, m.injury_weight)
    towns, days = np.arange(len(codes)), np.arange(n_days)
    harmful = d[d["sub"] >= 0]

    def wide(frame: pd.DataFrame, col: str, how: str = "sum") -> pd.DataFrame:
        g = frame.groupby(["town", "d"])[col]
        return ((g.sum() if how == "sum" else g.size()).unstack("d")
                .reindex(index=towns, columns=days, fill_value=0).fillna(0))

    subs, rates = [], []
    for si in range(len(SUB_INDICES)):
        w = wide(harmful[harmful["sub"] == si], "harm")
        cur = w.T.rolling(7).sum().T.round(6) / 7
        base = w.T.shift(7).rolling(84).sum().T.round(6) / 84
        subs.append((100 - m.slope * np.log2((cur + m.smoothing) / (base + m.smoothing))).clip(0, 100))
        rates.append(cur.mul(10_000 / pop, axis=0))
    raw = sum(m.subindex_weights[s] * x for s, x in zip(SUB_INDICES, subs, strict=True)) - (
        m.death_penalty * wide(d, "deaths").T.rolling(7).sum().T).clip(upper=m.death_penalty_cap)
    score = raw.clip(0, 100).round(2)
    counts = wide(harmful, "harm", "size")
    c7, cb = counts.T.rolling(7).sum().T, counts.T.shift(7).rolling(84).sum().T
    keep = days[first:]
    first_own = d.groupby("town")["d"].min().reindex(towns, fill_value=10**9).to_numpy()
    out = pd.DataFrame({"town": np.repeat(towns, len(keep)), "d": np.tile(keep, len(towns)),
                        "score": score[keep].to_numpy().ravel(),
                        "rate": sum(rates)[keep].to_numpy().ravel().round(9),
                        "code": np.repeat(np.array(codes), len(keep)),
                        "c7": c7[keep].to_numpy().ravel(), "cb": cb[keep].to_numpy().ravel()})
    out["scored"] = out["d"] >= first_own[out["town"]] + 90
    out.loc[~out["scored"], "score"] = np.nan
    out["p_surge"] = np.where(out.c7 > 0, binom.sf(out.c7 - 1, out.c7 + out.cb, 7 / 91), 1.0)
    s = out[out["scored"]].sort_values(["d", "score", "rate", "code"], ascending=[True, False, True, True])
    out["rank"] = pd.Series(s.groupby("d").cumcount().to_numpy() + 1, index=s.index)
    return out


CPU_OF: dict[str, float] = {}


def clocked(label: str, fn: Callable[[], Any], results: dict[str, float]) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    results[label] = time.perf_counter() - t0
    CPU_OF[label] = time.process_time() - c0
    print(f"  {label:<62s} {results[label]:8.3f} s wall {CPU_OF[label]:8.3f} s cpu", flush=True)
    return out


def print_stages(title: str, total: float) -> None:
    print(f"  {title} by stage (wall, share, cpu):")
    for k, v in sorted(STAGES.items()):
        print(f"    {k:<60s} {v:8.3f} s  {v / total:6.1%} {CPU[k]:8.3f} s cpu")
    rest = total - sum(STAGES.values())
    print(f"    {'other (transactions, lock, tickets, notes)':<60s} {rest:8.3f} s  {rest / total:6.1%}")
    STAGES.clear()
    CPU.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300,000 incidents, 200 towns")
    ap.add_argument("--incidents", type=int, default=None)
    ap.add_argument("--towns", type=int, default=None)
    ap.add_argument("--days", type=int, default=365)
    a = ap.parse_args()
    n_inc = a.incidents or (300_000 if a.quick else 10_000_000)
    n_towns = a.towns or (200 if a.quick else 1_600)
    n_days = a.days
    m = Method()
    r: dict[str, float] = {}
    instrument()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print(f"Safety Index, the product's path: {n_inc:,} incidents, {n_towns:,} towns, {n_days} days "
              f"(+1 day of live intake)")
        pop, path, intake = clocked("generate + write the Parquet import file (not timed below)",
                                    lambda: make_data(n_inc, n_towns, n_days, tmp), r)
        rows = pq.ParquetFile(path).metadata.num_rows
        print(f"  import file: {rows:,} incidents; live intake day: {len(intake):,} events")
        today = FIRST_DAY + timedelta(days=n_days + 1)
        clock = FixedClock(datetime(today.year, today.month, today.day, 2, tzinfo=UTC))  # 10:00 in Shanghai
        c = build_container(Settings(data_dir=tmp / "var", secret_key="bench-" + "x" * 30, log_json=False,
                                     timezone=TZ), clock=clock)
        upgrade(c.engine)
        towns = real_towns(c, n_towns, pop)
        codes = [t.code for t in towns]
        tz = ZoneInfo(TZ)

        print("1. product backfill: jingwu index import (read, parse, store) + jingwu index compute")
        marks: list[tuple[str, float, float]] = []
        rep = clocked("IMPORT: importer.import_file", lambda: importer.import_file(
            path, importer.parse_mapping(MAPPING), uow_factory=c.uow, tz=tz,
            progress=lambda s: marks.append((s, time.perf_counter(), time.process_time()))), r)
        marks.append(("end", time.perf_counter(), time.process_time()))
        for (name, t0, c0), (_, t1, c1) in pairwise(marks):
            print(f"    import stage {name:<47s} {t1 - t0:8.3f} s wall {c1 - c0:8.3f} s cpu")
        assert rep.stored == rows and not rep.rejected, (rep.stored, rep.rejected[:3])
        s = clocked("COMPUTE: services.compute.compute (the data's range)", lambda: compute_mod.compute(
            uow_factory=c.uow, clock=clock, tz=tz, method=m), r)
        print_stages("compute", r["COMPUTE: services.compute.compute (the data's range)"])
        total = r["IMPORT: importer.import_file"] + r["COMPUTE: services.compute.compute (the data's range)"]
        r["product backfill"] = total
        print(f"  {'PRODUCT BACKFILL (import + compute)':<62s} {total:8.3f} s  (goal <= 15 s); "
              f"{s.days} days x {s.towns} towns")

        print("2. plain pandas, the same backfill from the same file")
        t0, c0 = time.perf_counter(), time.process_time()
        df = pd.read_parquet(path)
        first = engine.FIRST_SCORABLE
        ref = pandas_scores(df, pop, codes, FIRST_DAY, n_days, first, m)
        r["pandas backfill"] = time.perf_counter() - t0
        print(f"  {'PANDAS BACKFILL (read + compute, nothing stored)':<62s} {r['pandas backfill']:8.3f} s wall "
              f"{time.process_time() - c0:8.3f} s cpu")
        with c.uow() as uow:
            stored = pd.DataFrame(SafetyIndexRepository(uow.session).scores_between(FIRST_DAY, today))
        idx = {t.id: i for i, t in enumerate(towns)}
        stored["town"] = stored["town_id"].map(idx)
        stored["d"] = [(x - FIRST_DAY).days for x in stored["day"]]
        both = ref.merge(stored, on=["town", "d"], suffixes=("_pd", "_db"))
        sc = both["score_db"].notna()
        print(f"  checked: {len(both):,} town-days, scored {int(sc.sum()):,}; no-data rows equal: "
              f"{bool((both['scored'] == sc).all())}; max |score diff| "
              f"{np.abs(both.loc[sc, 'score_pd'] - both.loc[sc, 'score_db']).max():.2e}; ranks equal "
              f"{(both.loc[sc, 'rank_pd'] == both.loc[sc, 'rank_db']).mean():.4%}")

        print("3. daily update: the day's events through the bus path (during the day), then the daily job")
        intake_day = FIRST_DAY + timedelta(days=n_days)
        times = (pd.to_datetime(intake["time"]).dt.tz_localize(tz).dt.tz_convert(UTC)).dt.to_pydatetime()
        by_code = {t.code: t.id for t in towns}
        facts = [IncidentFact(f"live:{i}", at, by_code[tc], ty, synthetic_category(ty), int(de), int(inj), "event")
                 for i, (at, tc, ty, de, inj) in enumerate(zip(times, intake["town"], intake["type"],
                                                                 intake["deaths"], intake["injuries"], strict=True))]

        def take_in() -> None:
            for i in range(0, len(facts), 500):
                ingest(facts[i:i + 500], uow_factory=c.uow, clock=clock, tz=tz, method=m)

        clocked(f"intake: {len(facts):,} events via ingest, batches of 500 (spread over the day)", take_in, r)
        d = clocked("DAILY UPDATE: services.compute.daily (scores the new day)", lambda: compute_mod.daily(
            uow_factory=c.uow, clock=clock, tz=tz, method=m), r)
        assert d.first == d.last == intake_day, d
        print_stages("daily update", r["DAILY UPDATE: services.compute.daily (scores the new day)"])
        t0, c0 = time.perf_counter(), time.process_time()
        window = pd.concat([df[df["time"] >= np.datetime64((intake_day - timedelta(days=90)).isoformat())],
                            intake])
        day0 = intake_day - timedelta(days=90)
        pref = pandas_scores(window, pop, codes, day0, 91, 90, m)
        r["pandas daily"] = time.perf_counter() - t0
        print(f"  {'PANDAS DAILY (91 days from the frame in memory, compute)':<62s} {r['pandas daily']:8.3f} s wall "
              f"{time.process_time() - c0:8.3f} s cpu")
        with c.uow() as uow:
            new = {x["town_id"]: x for x in SafetyIndexRepository(uow.session).scores_on(intake_day)}
        got = np.array([new[t.id]["score"] if new[t.id]["score"] is not None else np.nan for t in towns])
        want = pref.sort_values("town")["score"].to_numpy()
        print(f"  daily checked against pandas: max |score diff| {np.nanmax(np.abs(got - want)):.2e}")
        c.engine.dispose()
    print("summary (s wall): " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    print("summary (s cpu): " + ", ".join(f"{k} {v:.2f}" for k, v in CPU_OF.items()))
    print(f"load average at the end: {os.getloadavg()} on {os.cpu_count()} cores")
    print("note: towns given by code; placing points in town polygons (shapely STRtree) is extra at import.")


def synthetic_category(code: str) -> Category:
    return Category(synthetic.CATEGORIES[list(synthetic.CODES).index(code)])


if __name__ == "__main__":
    main()
