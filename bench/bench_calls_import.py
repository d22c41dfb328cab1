"""Throughput of ``jingwu calls import`` on the Chengdu demo deployment (SQLite), against its own baseline.

A synthetic CAD export (Chinese column names, Beijing local time, positions a few metres off the served
road network, a share outside the area and without a position) of N rows is written to a temporary CSV and
imported through :func:`jingwu.dispatch.services.calls_import.import_calls`, the function the CLI calls.

Printed per phase, with the baseline measured in the same run:

- **baseline**: pandas reading the same CSV and converting its four time columns (``read_csv`` +
  ``to_datetime``): what any import of this file must at least pay;
- **parse**: reading, validating and mapping the rows (:func:`parse_calls`, includes the baseline's work);
- **place**: snapping each distinct position to the road network and finding its town and station;
- **store**: looking up already imported event numbers, then one transaction inserting the incidents,
  their timelines and the outbox events.

    .venv/bin/python bench/bench_calls_import.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

MAPPING = {
    "source": "bench-cad", "event_number": "事件编号", "received": "接警时间", "dispatched": "派警时间",
    "arrived": "到场时间", "cleared": "结束时间", "time_format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai",
    "type": "警情类别", "type_map": {"打架斗殴": "020200", "盗窃": "010600", "交通事故": "030200", "求助": "059900"},
    "priority": "等级", "priority_map": {"一级": 1, "二级": 2, "三级": 3, "四级": 4},
    "lon": "经度", "lat": "纬度", "address": "地址",
}
FMT = "%Y-%m-%d %H:%M:%S"


def write_export(nodes: np.ndarray, path: Path, n: int, seed: int = 11) -> None:
    """N calls at road points (a few metres off), 1 % in Shenzhen (outside), 1 % without a position."""
    rng = np.random.default_rng(seed)
    pick = nodes[rng.integers(0, len(nodes), n)] + rng.normal(0, 0.0001, (n, 2))
    lon, lat = pick[:, 0].round(6).astype(str), pick[:, 1].round(6).astype(str)
    k = max(1, n // 100)
    lon[:k], lat[:k] = "113.93", "22.53"
    lon[k:2 * k], lat[k:2 * k] = "", ""
    rec = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.uniform(0, 90 * 86400, n), unit="s")
    dsp = rec + pd.to_timedelta(rng.gamma(2, 60, n).round(), unit="s")
    arr = dsp + pd.to_timedelta(rng.gamma(3, 150, n).round(), unit="s")
    clr = arr + pd.to_timedelta(rng.gamma(2, 900, n).round(), unit="s")
    pd.DataFrame({
        "事件编号": [f"B{i:08d}" for i in range(n)], "接警时间": rec.strftime(FMT), "派警时间": dsp.strftime(FMT),
        "到场时间": arr.strftime(FMT), "结束时间": clr.strftime(FMT),
        "警情类别": rng.choice(list(MAPPING["type_map"]), n),  # type: ignore[call-overload]
        "等级": rng.choice(["一级", "二级", "三级", "四级"], n), "经度": lon, "纬度": lat,
        "地址": [f"某路{i}号" for i in range(n)]}).to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jw-callsbench-"))
    os.environ["JINGWU_DATA_DIR"] = str(tmp)
    os.environ.setdefault("JINGWU_SECRET_KEY", "bench-secret-0123456789abcdef")
    os.environ["JINGWU_MQTT_ENABLED"] = "0"
    os.environ.pop("JINGWU_DATABASE_URL", None)
    from jingwu.demo import city as demo
    from jingwu.dispatch.services import calls_import
    from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo
    from jingwu.platform.container import build_container
    from jingwu.platform.db import upgrade
    from jingwu.platform.settings import get_settings

    c = build_container(get_settings())
    upgrade(c.engine)
    demo.load_demo_city(c)
    g = geo(c)
    csv = tmp / "export.csv"
    write_export(np.asarray(g.graph.node_coords()), csv, args.rows)
    types = catalogue(c).types
    mapping = calls_import.parse_mapping(MAPPING, types)

    t0 = time.perf_counter()
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for col in ("接警时间", "派警时间", "到场时间", "结束时间"):
        pd.to_datetime(df[col], format=FMT, errors="coerce")
    baseline = time.perf_counter() - t0

    marks: dict[str, float] = {}

    def progress(stage: str, _done: int, _total: int) -> None:
        marks.setdefault(stage, time.perf_counter())

    t0 = time.perf_counter()
    rep = calls_import.import_calls(csv, mapping, uow=dispatch_uow(c), geo=g, types=types, progress=progress)
    total = time.perf_counter() - t0
    parse = marks["place"] - marks["read"]
    place = marks["store"] - marks["place"]
    store = marks["done"] - marks["store"]
    n = args.rows

    def line(name: str, sec: float) -> str:
        return f"  {name:<9}{sec:7.2f} s  {n / sec:9,.0f} rows/s  {sec / n * 1e6:7.1f} µs/row"

    print(f"calls import on the Chengdu demo (SQLite), {n:,} rows: {rep.stored:,} stored, "
          f"{len(rep.rejected)} rejected")
    print(line("baseline", baseline) + "   (pandas read_csv + to_datetime of the same file)")
    print(line("parse", parse) + f"   ({parse / baseline:.1f}x baseline)")
    print(line("place", place))
    print(line("store", store))
    print(line("total", total) + f"   ({total / baseline:.1f}x baseline)")


if __name__ == "__main__":
    main()
