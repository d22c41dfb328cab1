"""Safety Index benchmark: full backfill and one day's incremental update on
generated data, and the same computation written plainly in pandas.

Run: ``.venv/bin/python bench/bench_safety_index.py [--quick]``.
Default: 10,000,000 incidents, 1,600 towns, 365 days (``--quick``: 200,000 /
100 / 365). Incidents are generated (jingwu.demo.synthetic: Poisson per
town-day, weekly profile, a fixed 110 type mix, a few surges) and written once
to Parquet (the shape of a large import). Timed:

1. full backfill, columnar (the benchmark's path; the product's backfill is 4.):
   DuckDB aggregates the Parquet file into the daily cube (harm weights joined
   as a table), the numpy engine scores every day with
   91 days of history (275 of 365) for every town: sub-indices, score, band,
   rank, per-10,000 rates, both trend tests; then every score and warning row is
   written to a SQLite store through the module's repository.
2. one day's incremental update through the app's own path (``services.ingest.ingest``,
   what the bus handler calls): 2,000 late incidents for the last day are recorded
   (idempotent upsert into the fact table) and applied (deltas added to the stored
   window sums, the day re-scored and re-ranked for all 1,600 towns, rows replaced)
   in one transaction on the migrated SQLite store the backfill wrote. Also a late
   batch 30 days back (31 days redone).
3. pandas, plainly: read the Parquet, merge weights, groupby, pivot, rolling
   windows, rank with sort+cumcount, binomial tails with scipy; checked equal to 1.
4. the product's own backfill (``jingwu index compute`` = ``services.compute.compute``):
   an evenly spaced sample of the incidents (``--store-incidents``, default 1,000,000)
   is loaded into the fact table of a fresh SQLite store and the whole range is
   computed from it (SQL GROUP BY -> numpy engine -> score rows), beside the columnar
   path (1.) on the same sample, scores checked equal. The columnar path of 1. is
   the benchmark's; the product computes from its store (ADR 0021).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import binom
from sqlalchemy.orm import Session

from jingwu.demo import synthetic
from jingwu.platform import services as platform_services
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.org_store import TownRow
from jingwu.platform.settings import Settings
from jingwu.safety_index import columnar, engine
from jingwu.safety_index.domain import BAND_THRESHOLDS, SUB_INDICES, Method, category_for_code, harm
from jingwu.safety_index.services.common import ComputeSummary
from jingwu.safety_index.services.compute import compute, score_columns, warning_rows
from jingwu.safety_index.services.ingest import IncidentFact, ingest
from jingwu.safety_index.store import SafetyIndexRepository, si_incidents

EPOCH = date(1970, 1, 1)
FIRST_DAY = date(2025, 1, 1)


def timed(label: str, fn, results: dict[str, float]):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - t0
    print(f"  {label:<58s} {results[label]:8.3f} s", flush=True)
    return out


def make_data(n_incidents: int, n_towns: int, n_days: int, path: Path) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(3)
    pop = rng.lognormal(mean=np.log(60_000), sigma=0.6, size=n_towns).round()
    surges = [(int(t), int(rng.integers(120, n_days - 10)), 5, 2.5) for t in rng.choice(n_towns, 8, replace=False)]
    g = synthetic.generate(pop, n_days, n_incidents, seed=11, surges=surges,
                           first_weekday=FIRST_DAY.weekday())
    day0 = (FIRST_DAY - EPOCH).days
    table = pa.table({
        "town": pa.array(g.town.astype(np.int32)),
        "day": pa.array((g.day + day0).astype(np.int32)),
        "type_code": pa.DictionaryArray.from_arrays(pa.array(g.type_idx.astype(np.int32)),
                                                    pa.array(synthetic.CODES.tolist())),
        "category": pa.DictionaryArray.from_arrays(pa.array(g.type_idx.astype(np.int32)),
                                                   pa.array(synthetic.CATEGORIES.tolist())),
        "deaths": pa.array(g.deaths.astype(np.int8)),
        "injuries": pa.array(g.injuries.astype(np.int8)),
    })
    pq.write_table(table, path)
    return pop, len(g)


def real_towns(c: Container, n: int, pop: np.ndarray) -> list[TownRow]:
    """An agency and n towns in a migrated store (codes sort in index order)."""
    agency = platform_services.create_agency(platform_services.CreateAgency("BENCH", "基准市公安局", "city_bureau"),
                                             uow=c.uow(), actor=None)
    with c.uow() as uow:
        for i in range(n):
            uow.towns.add(code=f"T{i:05d}", name=f"T{i:05d}", name_en=None, agency_id=agency, population=int(pop[i]),
                          population_note=None, area_km2=None, geometry=None, at=c.clock.now())
        uow.commit()
    with c.uow() as uow:
        return uow.towns.all()


def store_rows(repo: SafetyIndexRepository, session: Session, res: engine.Result, towns: list[TownRow],
               day0: date, first: date, last: date, method: Method) -> None:
    now = datetime.now(UTC)
    scores = score_columns(res, towns, day0, 0, now)
    warns = warning_rows(res, towns, day0, 0, method.alpha)
    repo.replace_scores(first, last, scores)
    repo.replace_warnings(first, last, warns)
    session.commit()


def pandas_plain(path: Path, pop: np.ndarray, codes: list[str], n_days: int, method: Method) -> pd.DataFrame:
    """The method in plain pandas: long → wide per sub-index → rolling windows → scores → ranks."""
    df = pd.read_parquet(path)
    df["type_code"] = df["type_code"].astype(str)
    df["category"] = df["category"].astype(str)
    wt = columnar.weight_table(df[["type_code", "category"]].drop_duplicates(), method)
    df = df.merge(wt, on=["type_code", "category"], how="left")
    df["harm"] = harm(1, df["w"], df["injuries"], df["sub"] >= 0, method.injury_weight)
    day0 = (FIRST_DAY - EPOCH).days
    df["d"] = df["day"] - day0
    towns = np.arange(len(pop))
    days = np.arange(n_days)
    harmful = df[df["sub"] >= 0]
    sub_scores = []
    rates = []
    for si in range(len(SUB_INDICES)):
        wide = (harmful[harmful["sub"] == si].groupby(["town", "d"])["harm"].sum().unstack("d")
                .reindex(index=towns, columns=days, fill_value=0.0).fillna(0.0))
        cur = wide.T.rolling(7).sum().T / 7
        base = wide.T.shift(7).rolling(84).sum().T / 84
        ratio = (cur + method.smoothing) / (base + method.smoothing)
        sub_scores.append((100 - method.slope * np.log2(ratio)).clip(0, 100))
        rates.append(cur.mul(10_000 / np.maximum(pop, 1), axis=0))
    weights = [method.subindex_weights[s] for s in SUB_INDICES]
    deaths = (df.groupby(["town", "d"])["deaths"].sum().unstack("d")
              .reindex(index=towns, columns=days, fill_value=0).fillna(0))
    d7 = deaths.T.rolling(7).sum().T
    raw = sum(w * s for w, s in zip(weights, sub_scores, strict=True)) - (method.death_penalty * d7).clip(
        upper=method.death_penalty_cap)
    score = raw.clip(0, 100).round(2)
    total_rate = sum(rates)
    counts = (harmful.groupby(["town", "d"]).size().unstack("d")
              .reindex(index=towns, columns=days, fill_value=0).fillna(0))
    c7 = counts.T.rolling(7).sum().T
    cb = counts.T.shift(7).rolling(84).sum().T
    keep = days[90:]
    long = pd.DataFrame({
        "town": np.repeat(towns, len(keep)), "d": np.tile(keep, len(towns)),
        "score": score[keep].to_numpy().ravel(), "rate": total_rate[keep].to_numpy().ravel().round(9),
        "code": np.repeat(np.array(codes), len(keep)),
        "c7": c7[keep].to_numpy().ravel(), "cb": cb[keep].to_numpy().ravel()})
    long["p_surge"] = np.where(long.c7 > 0, binom.sf(long.c7 - 1, long.c7 + long.cb, 7 / 91), 1.0)
    bands = [b.value for b, _ in BAND_THRESHOLDS]
    long["band"] = pd.cut(long.score, [-np.inf, 60, 70, 80, 90, np.inf], right=False,
                          labels=bands[::-1]).astype(str)
    long = long.sort_values(["d", "score", "rate", "code"], ascending=[True, False, True, True])
    long["rank"] = long.groupby("d").cumcount() + 1
    return long.sort_values(["town", "d"]).reset_index(drop=True)


def store_backfill(tmp: Path, path: Path, pop: np.ndarray, n_days: int, n_sample: int, method: Method,
                   results: dict[str, float]) -> None:
    """4. The product's backfill: facts in the SQLite store, ``compute`` over the whole range."""
    table = pq.read_table(path)
    step = max(1, table.num_rows // n_sample)
    sample = table.take(pa.array(np.arange(0, table.num_rows, step)[:n_sample]))
    spath = tmp / "sample.parquet"
    pq.write_table(sample, spath)
    print(f"4. the product's backfill (services.compute.compute over the SQLite fact table), "
          f"{sample.num_rows:,} incidents")
    c = build_container(Settings(data_dir=tmp / "var-store", secret_key="bench-" + "x" * 30, log_json=False))
    upgrade(c.engine)
    towns = real_towns(c, len(pop), pop)
    col = {k: sample.column(k).to_pylist() for k in ("town", "day", "type_code", "category", "deaths",
                                                        "injuries")}
    now = datetime.now(UTC)
    days = [EPOCH + timedelta(days=int(d)) for d in col["day"]]

    def load() -> None:
        session = c.session_factory()
        SafetyIndexRepository(session)._bulk_insert(si_incidents, {
            "incident_id": [f"bench:{i}" for i in range(sample.num_rows)],
            "occurred_at": [datetime(d.year, d.month, d.day, 12, tzinfo=UTC) for d in days], "day": days,
            "town_id": [towns[int(t)].id for t in col["town"]], "type_code": col["type_code"],
            "category": col["category"], "deaths": col["deaths"], "injuries": col["injuries"],
            "source": ["bench"] * sample.num_rows, "received_at": [now] * sample.num_rows})
        session.commit()
        session.close()

    timed("load the sample into the SQLite fact table (not timed below)", load, results)
    last_day = FIRST_DAY + timedelta(days=n_days - 1)
    s = timed("PRODUCT BACKFILL: compute(), SQL GROUP BY -> engine -> store", lambda: compute(
        None, last_day, uow_factory=c.uow, clock=c.clock, tz=ZoneInfo("UTC"), method=method), results)
    assert s.days == n_days - engine.FIRST_SCORABLE and s.towns == len(pop), s
    con = duckdb.connect()
    con.execute(f"CREATE VIEW facts AS SELECT * FROM read_parquet('{spath}')")
    codes = [t.code for t in towns]
    day0 = (FIRST_DAY - EPOCH).days
    res = timed("columnar path on the same sample (DuckDB cube + engine, no writing)", lambda: engine.compute(
        columnar.cube(con, "facts", n_towns=len(pop), day0=day0, n_days=n_days, population=pop, codes=codes,
                      method=method), engine.FIRST_SCORABLE, n_days - 1, method), results)
    session = c.session_factory()
    stored = SafetyIndexRepository(session).scores_between(FIRST_DAY, last_day)
    session.close()
    by_code = {t.id: i for i, t in enumerate(towns)}
    score = np.array([[0.0] * res.score.shape[1] for _ in towns])
    first = FIRST_DAY + timedelta(days=engine.FIRST_SCORABLE)
    for row in stored:
        score[by_code[row["town_id"]], (row["day"] - first).days] = row["score"]
    print(f"  product path vs columnar path: max |score diff| {np.abs(score - res.score).max():.2e}")
    c.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 incidents, 100 towns")
    ap.add_argument("--incidents", type=int, default=None)
    ap.add_argument("--towns", type=int, default=None)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--store-incidents", type=int, default=1_000_000,
                    help="sample size for 4. (the product's backfill from the SQLite store); 0 skips it")
    a = ap.parse_args()
    n_inc = a.incidents or (200_000 if a.quick else 10_000_000)
    n_towns = a.towns or (100 if a.quick else 1_600)
    n_days = a.days
    m = Method()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "incidents.parquet"
        print(f"Safety Index bench: {n_inc:,} incidents requested, {n_towns:,} towns, {n_days} days")
        pop, n_gen = timed("generate + write Parquet (not part of the index)", lambda: make_data(
            n_inc, n_towns, n_days, path), results)
        print(f"  generated {n_gen:,} incidents")
        c = build_container(Settings(data_dir=Path(tmp) / "var", secret_key="bench-" + "x" * 30, log_json=False))
        upgrade(c.engine)
        towns = real_towns(c, n_towns, pop)
        codes = [t.code for t in towns]
        session = c.session_factory()
        repo = SafetyIndexRepository(session)
        day0 = (FIRST_DAY - EPOCH).days
        first_scored = FIRST_DAY + timedelta(days=engine.FIRST_SCORABLE)
        last_day = FIRST_DAY + timedelta(days=n_days - 1)
        con = duckdb.connect()
        con.execute(f"CREATE VIEW facts AS SELECT * FROM read_parquet('{path}')")

        print("1. full backfill (columnar: DuckDB -> numpy engine -> SQLite store)")
        t_full = time.perf_counter()
        cube = timed("DuckDB aggregate the facts -> daily cube", lambda: columnar.cube(
            con, "facts", n_towns=n_towns, day0=day0, n_days=n_days, population=pop, codes=codes, method=m),
            results)
        res = timed("engine: scores, bands, ranks, rates, warning tests", lambda: engine.compute(
            cube, engine.FIRST_SCORABLE, n_days - 1, m), results)
        timed(f"write {res.score.size:,} score rows + warnings to SQLite", lambda: store_rows(
            repo, session, res, towns, first_scored, first_scored, last_day, m), results)
        results["full backfill total"] = time.perf_counter() - t_full
        print(f"  {'FULL BACKFILL TOTAL':<58s} {results['full backfill total']:8.3f} s  (target <= 30 s)")

        print("2. incremental update (app path: record facts, apply deltas to stored sums, re-rank, store)")
        rng = np.random.default_rng(5)
        tz = ZoneInfo("UTC")

        def late_batch(day: date, tag: str) -> list[IncidentFact]:
            t = rng.integers(0, n_towns, 2000)
            codes_ = rng.choice(synthetic.CODES, 2000, p=synthetic.SHARES)
            at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            return [IncidentFact(f"late:{tag}:{i}", at, towns[int(t[i])].id, str(codes_[i]),
                                          category_for_code(str(codes_[i])), 0, 0, "bench") for i in range(2000)]

        def incremental(day: date, tag: str) -> ComputeSummary:
            # the bus handler's path: record + apply in one transaction under the index lock
            return ingest(late_batch(day, tag), uow_factory=c.uow, clock=c.clock, tz=tz, method=m)[1]

        t_inc = time.perf_counter()
        s1 = incremental(last_day, "a")
        results["incremental day"] = time.perf_counter() - t_inc
        assert s1.days == 1 and s1.towns == n_towns, s1
        label = f"ONE DAY INCREMENTAL (2,000 late incidents, {n_towns:,} towns)"
        print(f"  {label:<58s} "
              f"{results['incremental day']:8.3f} s  (target <= 1 s)")
        s30 = timed("late batch 30 days back (31 days re-scored and re-ranked)", lambda: incremental(
            last_day - timedelta(days=30), "b"), results)
        assert s30.days == 31, s30

        if not a.no_pandas:
            print("3. the same computation plainly in pandas")
            # pandas reads the same file (without the late incidents): compared with the backfill result
            pdres = timed("pandas: read, merge, groupby, pivot, rolling, rank", lambda: pandas_plain(
                path, pop, codes, n_days, m), results)
            diff = np.abs(pdres["score"].to_numpy() - res.score.ravel()).max()
            same_rank = (pdres["rank"].to_numpy() == res.rank.ravel()).mean()
            same_band = (pdres["band"].to_numpy() == np.array([engine.BANDS[b].value for b in res.band.ravel()])).mean()
            p_diff = np.abs(pdres["p_surge"].to_numpy() - res.p_surge.ravel()).max()
            print(f"  pandas vs engine: max |score diff| {diff:.2e}, ranks equal {same_rank:.4%}, "
                  f"bands equal {same_band:.4%}, max |p diff| {p_diff:.1e}")
            ours = results["DuckDB aggregate the facts -> daily cube"] + results[
                "engine: scores, bands, ranks, rates, warning tests"]
            theirs = results["pandas: read, merge, groupby, pivot, rolling, rank"]
            print(f"  speed-up of the columnar path over plain pandas (compute only): {theirs / ours:.1f}x")
        session.close()
        c.engine.dispose()
        if a.store_incidents > 0:
            store_backfill(Path(tmp), path, pop, n_days, a.store_incidents, m, results)
    ok_full = results["full backfill total"] <= 30
    ok_inc = results["incremental day"] <= 1
    print(f"targets: full backfill {'PASS' if ok_full else 'FAIL'}, incremental day {'PASS' if ok_inc else 'FAIL'}")


if __name__ == "__main__":
    main()
