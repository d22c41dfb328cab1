"""`jingwu calls import` (issue #11 item 6) on the Chengdu demo deployment, both databases: real Seattle
Police calls (all outside the served area: stored, flagged) and a synthetic CAD export inside Chengdu; KPIs
compared with an independent pandas computation straight from the CSV; idempotent re-runs; --strict;
bad mappings; DST rule; imported incidents reach the Safety Index through the outbox."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from jingwu.cli import app as cli_app
from jingwu.dispatch.domain import TypeTable
from jingwu.dispatch.services import calls_import
from jingwu.dispatch.wiring import geo
from jingwu.platform.container import Container
from jingwu.platform.errors import InvalidInput
from jingwu.platform.settings import PACKAGE_DIR, get_settings
from support import GRAPH_DIR, both_databases, login

ROOT = Path(__file__).resolve().parents[2]
SEATTLE = ROOT / "tests" / "data" / "seattle" / "spd_calls_denny_blaine_2018-2023_full_schema.csv"
SEATTLE_MAP = PACKAGE_DIR / "data" / "mappings" / "seattle-spd-calls.yaml"
WINDOW = {"since": "2015-01-01T00:00:00+00:00", "until": "2027-01-01T00:00:00+00:00"}


@pytest.fixture
def run(city: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run `jingwu ...` against the test deployment."""
    c: Container = city[0]
    monkeypatch.setenv("JINGWU_DATA_DIR", str(c.settings.data_dir))
    monkeypatch.setenv("JINGWU_GRAPH_DIR", str(GRAPH_DIR))
    monkeypatch.setenv("JINGWU_MQTT_ENABLED", "false")
    if c.settings.database_url:
        monkeypatch.setenv("JINGWU_DATABASE_URL", c.settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def go(*args: str) -> Any:
        return runner.invoke(cli_app, ["calls", "import", *args])

    yield go
    get_settings.cache_clear()


def q(c: Container, sql: str, **kw: Any) -> list[Any]:
    with c.engine.connect() as conn:
        return list(conn.execute(text(sql), kw).all())


def kpis(api: TestClient, city: Any, **params: str) -> dict[str, Any]:
    h = login(api, "dispatcher", city[1]["dispatcher"])
    r = api.get("/api/v1/kpis", params={**WINDOW, **params}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def pct(s: pd.Series, q_: float) -> float:
    return round(float(s.quantile(q_)), 1)  # pandas' linear interpolation, computed here independently


# ------------------------------------------------------------------ Seattle: real calls, outside the area


def seattle_reference() -> tuple[pd.DataFrame, pd.Series]:
    """Straight from the CSV with pandas: response = arrived − received in Seattle time (a time that occurs
    twice takes daylight time, one that does not exist is read as standard time, i.e. shifted an hour)."""
    df = pd.read_csv(SEATTLE, dtype=str, keep_default_na=False)

    def utc(col: str) -> pd.Series:
        t = pd.to_datetime(df[col].replace("", None), format="%m/%d/%Y %I:%M:%S %p")
        return t.dt.tz_localize("America/Los_Angeles", ambiguous=np.ones(len(t), dtype=bool),
                                nonexistent=pd.Timedelta(hours=1)).dt.tz_convert("UTC")

    df["resp"] = (utc("Arrived Time") - utc("Original Time Queued")).dt.total_seconds()
    ours = df["Priority"].astype(int).clip(upper=4)  # SPD 1, 2, 3 kept; 4 and lower urgency → our P4
    return df, ours


@both_databases
def test_seattle_calls_outside_the_area_are_stored_flagged_and_feed_the_kpis(run: Any, city: Any,
                                                                             api: TestClient) -> None:
    c: Container = city[0]
    res = run(str(SEATTLE), "--mapping", str(SEATTLE_MAP))
    assert res.exit_code == 0, res.output
    df, ours = seattle_reference()
    n = len(df)
    assert f"{n} rows, stored {n}, 0 already imported, 0 rejected" in res.output
    assert f"outside the area {n}" in res.output
    rows = q(c, "SELECT i.location_status, i.status, i.source, i.snapped_lon, i.town_id, a.kind, i.external_ref, "
                "i.officer_initiated FROM incidents i JOIN agencies a ON a.id = i.agency_id")
    assert len(rows) == n
    assert {(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows} == {
        ("outside_area", "closed", "imported", None, None, "city_bureau")}
    assert {r[6] for r in rows} == {f"seattle-spd:{x}" for x in df["CAD Event Number"]}
    assert sum(bool(r[7]) for r in rows) == int((df["Call Type"] == "ONVIEW").sum())
    # timeline with the historical times: received, arrived (where known), closed
    n_events = q(c, "SELECT count(*) FROM incident_events")[0][0]
    assert n_events == n * 2 + int((df["Arrived Time"] != "").sum())
    # one audit entry for the import, with the file's SHA-256 and the counts
    audit = q(c, "SELECT object_id, detail FROM audit_log WHERE action = 'calls_imported'")
    assert len(audit) == 1 and audit[0][0] == hashlib.sha256(SEATTLE.read_bytes()).hexdigest()
    assert json.loads(audit[0][1])["stored"] == n
    # Safety Index events through the outbox; no live board notification
    topics = dict(q(c, "SELECT topic, count(*) FROM outbox WHERE topic NOT LIKE 'jingwu.platform.%' GROUP BY topic"))
    assert topics == {"jingwu.incidents.recorded": n}
    # KPIs against the independent computation: officer-initiated calls left out of response times by default
    k = kpis(api, city)
    timed = df[(df["Call Type"] != "ONVIEW") & df["resp"].notna()]["resp"]
    assert k["overall"]["total"]["n"] == len(timed)
    assert k["overall"]["total"]["median"] == pytest.approx(round(float(timed.median()), 1), abs=0.051)
    assert k["overall"]["total"]["p90"] == pytest.approx(pct(timed, 0.9), abs=0.051)
    assert k["counts"]["by_priority"] == {f"P{p}": int(v) for p, v in sorted(ours.value_counts().items())}
    assert k["counts"]["officer_initiated"] == int((df["Call Type"] == "ONVIEW").sum())
    assert k["counts"]["imported"] == n and k["counts"]["by_location_status"] == {"outside_area": n}
    for p, grp in df[df["Call Type"] != "ONVIEW"].groupby(ours):
        r = grp["resp"].dropna()
        if len(r):
            assert k["by"]["priority"][f"P{p}"]["total"]["median"] == pytest.approx(round(float(r.median()), 1),
                                                                                  abs=0.051)
    every = kpis(api, city, officer_initiated="include")
    assert every["overall"]["total"]["n"] == int(df["resp"].notna().sum())
    only = kpis(api, city, officer_initiated="only")
    assert only["overall"]["total"]["n"] == int(df[(df["Call Type"] == "ONVIEW")]["resp"].notna().sum())
    # idempotent: a second run imports nothing new and changes nothing
    again = run(str(SEATTLE), "--mapping", str(SEATTLE_MAP))
    assert again.exit_code == 0, again.output
    assert f"stored 0, {n} already imported" in again.output
    assert q(c, "SELECT count(*) FROM incidents")[0][0] == n
    assert q(c, "SELECT count(*) FROM audit_log WHERE action = 'calls_imported'")[0][0] == 1


@both_databases
def test_strict_with_one_bad_row_imports_nothing_and_the_row_is_named(run: Any, city: Any, tmp_path: Path) -> None:
    c: Container = city[0]
    df = pd.read_csv(SEATTLE, dtype=str, keep_default_na=False)
    k = int(np.flatnonzero((df["Arrived Time"] != "").to_numpy())[5])
    df.loc[k, "Arrived Time"] = "01/01/2017 1:00:00 AM"  # before it was received
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    res = run(str(bad), "--mapping", str(SEATTLE_MAP), "--strict", "--report", str(tmp_path / "rej.csv"))
    assert res.exit_code == 1 and "nothing stored" in res.output
    assert q(c, "SELECT count(*) FROM incidents")[0][0] == 0
    rej = pd.read_csv(tmp_path / "rej.csv", dtype=str)
    assert rej["row"].tolist() == [str(k + 1)] and rej["event_number"].tolist() == [df.loc[k, "CAD Event Number"]]
    assert "times out of order" in rej["reason"][0] and "arrived" in rej["reason"][0]
    # without --strict the other rows are stored
    res = run(str(bad), "--mapping", str(SEATTLE_MAP))
    assert res.exit_code == 0 and f"stored {len(df) - 1}" in res.output and "1 rejected" in res.output
    # --dry-run counts and stores nothing
    shutil.copy(SEATTLE, tmp_path / "all.csv")
    res = run(str(tmp_path / "all.csv"), "--mapping", str(SEATTLE_MAP), "--dry-run")
    assert res.exit_code == 0 and "would store 1, " in res.output and "dry run" in res.output
    assert q(c, "SELECT count(*) FROM incidents")[0][0] == len(df) - 1


@both_databases
@pytest.mark.parametrize(("change", "code", "says"), [
    ({"arrived": "Arrival"}, "unknown_column", "arrived='Arrival'"),
    ({"type_rules": [["ALARM", "999999"]]}, "unknown_type", "'999999'"),
    ({"colour": "x"}, "bad_mapping", "colour"),
    ({"timezone": "Mars/Olympus"}, "bad_mapping", "Mars/Olympus"),
    ({"priority_map": {"1": 7}}, "bad_mapping", "1, 2, 3 or 4"),
])
def test_bad_mapping_is_a_clear_error(run: Any, city: Any, tmp_path: Path, change: dict[str, Any], code: str,
                                      says: str) -> None:
    import yaml

    m = yaml.safe_load(SEATTLE_MAP.read_text(encoding="utf-8")) | change
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(m, allow_unicode=True), encoding="utf-8")
    res = run(str(SEATTLE), "--mapping", str(tmp_path / "m.yaml"))
    assert res.exit_code == 2 and f"error [{code}]" in res.output and says in res.output, res.output
    assert q(city[0], "SELECT count(*) FROM incidents")[0][0] == 0


# ------------------------------------------------------------------ a synthetic CAD export inside Chengdu

SYN_MAP = {
    "source": "cd-cad", "event_number": "事件编号", "received": "接警时间", "dispatched": "派警时间",
    "arrived": "到场时间", "cleared": "结束时间", "time_format": "%Y-%m-%d %H:%M:%S", "timezone": "Asia/Shanghai",
    "type": "警情类别", "type_map": {"打架斗殴": "020200", "盗窃": "010600", "交通事故": "030200", "求助": "059900"},
    "priority": "等级", "priority_map": {"一级": 1, "二级": 2, "三级": 3, "四级": 4},
    "lon": "经度", "lat": "纬度", "address": "地址",
    "officer_initiated": {"column": "来源", "values": ["巡逻发现"]},
}


def synthetic_cad(c: Container, path: Path, n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Calls at road points of the served network (a few metres off), 6 in Shenzhen (1,300 km away),
    4 without a position; times in Beijing time with random delays."""
    rng = np.random.default_rng(seed)
    nodes = np.asarray(geo(c).graph.node_coords())
    pick = nodes[rng.integers(0, len(nodes), n)] + rng.normal(0, 0.0001, (n, 2))
    lon, lat = pick[:, 0].round(6).astype(str), pick[:, 1].round(6).astype(str)
    lon[:6], lat[:6] = "113.93", "22.53"  # Nanshan, Shenzhen: outside this deployment
    lon[6:10], lat[6:10] = "", ""
    t0 = pd.Timestamp("2025-03-01 00:00:00")
    rec = t0 + pd.to_timedelta(rng.uniform(0, 30 * 86400, n), unit="s")
    dsp = rec + pd.to_timedelta(rng.gamma(2, 60, n).round(), unit="s")
    arr = dsp + pd.to_timedelta(rng.gamma(3, 150, n).round(), unit="s")
    clr = arr + pd.to_timedelta(rng.gamma(2, 900, n).round(), unit="s")
    fmt = "%Y-%m-%d %H:%M:%S"
    df = pd.DataFrame({
        "事件编号": [f"CD{k:06d}" for k in range(n)], "接警时间": rec.strftime(fmt), "派警时间": dsp.strftime(fmt),
        "到场时间": arr.strftime(fmt), "结束时间": clr.strftime(fmt),
        "警情类别": rng.choice(["打架斗殴", "盗窃", "交通事故", "求助"], n),
        "等级": rng.choice(["一级", "二级", "三级", "四级"], n), "经度": lon, "纬度": lat,
        "地址": [f"某路{k}号" for k in range(n)], "来源": rng.choice(["110", "110", "110", "巡逻发现"], n)})
    df.loc[15, "派警时间"] = ""  # never dispatched: no response time of its own
    df.loc[16, "到场时间"] = ""
    df.to_csv(path, index=False)
    return df


@both_databases
def test_synthetic_chengdu_export_is_placed_and_its_kpis_match_pandas(run: Any, city: Any, api: TestClient,
                                                                      tmp_path: Path) -> None:
    c: Container = city[0]
    csv = tmp_path / "cad.csv"
    df = synthetic_cad(c, csv)
    (tmp_path / "m.json").write_text(json.dumps(SYN_MAP, ensure_ascii=False), encoding="utf-8")
    res = run(str(csv), "--mapping", str(tmp_path / "m.json"))
    assert res.exit_code == 0, res.output
    n = len(df)
    st = dict(q(c, "SELECT location_status, count(*) FROM incidents GROUP BY location_status"))
    assert st == {"located": n - 10, "outside_area": 6, "unlocated": 4}
    kinds = dict(q(c, "SELECT i.location_status, min(a.kind) FROM incidents i JOIN agencies a ON a.id = i.agency_id "
                      "WHERE i.location_status = 'located' GROUP BY i.location_status"))
    assert kinds == {"located": "station"}
    # independent KPI computation from the CSV (Beijing time has no DST: plain differences)
    t = {k: pd.to_datetime(df[k].replace("", None)) for k in ("接警时间", "派警时间", "到场时间")}
    ref = pd.DataFrame({"i2d": (t["派警时间"] - t["接警时间"]).dt.total_seconds(),
                        "d2a": (t["到场时间"] - t["派警时间"]).dt.total_seconds(),
                        "tot": (t["到场时间"] - t["接警时间"]).dt.total_seconds(),
                        "prio": df["等级"].map(SYN_MAP["priority_map"]), "oi": df["来源"] == "巡逻发现"})
    k = kpis(api, city)
    live = ref[~ref["oi"]]
    for metric, col in (("intake_to_dispatch", "i2d"), ("dispatch_to_arrival", "d2a"), ("total", "tot")):
        s = live[col].dropna()
        assert k["overall"][metric]["n"] == len(s)
        assert k["overall"][metric]["median"] == pytest.approx(round(float(s.median()), 1), abs=0.051)
        assert k["overall"][metric]["p90"] == pytest.approx(pct(s, 0.9), abs=0.051)
        for p, grp in live.groupby("prio"):
            g = grp[col].dropna()
            assert k["by"]["priority"][f"P{p}"][metric]["p90"] == pytest.approx(pct(g, 0.9), abs=0.051)
    assert k["counts"]["by_priority"] == {f"P{p}": int(v) for p, v in sorted(ref["prio"].value_counts().items())}
    assert k["counts"]["officer_initiated"] == int(ref["oi"].sum())
    # the closing time is the cleared time; the timeline carries the historical times
    first = q(c, "SELECT id FROM incidents WHERE external_ref = 'cd-cad:CD000020'")[0]
    inc = api.get(f"/api/v1/incidents/{first[0]}", headers=login(api, "dispatcher", city[1]["dispatcher"])).json()
    local = {k: pd.Timestamp(df.loc[20, k]).tz_localize("Asia/Shanghai") for k in ("接警时间", "结束时间")}
    assert pd.Timestamp(inc["closed_at"]) == local["结束时间"] and pd.Timestamp(inc["received_at"]) == local["接警时间"]
    assert inc["source"] == "imported" and inc["status"] == "closed" and inc["external_ref"] == "cd-cad:CD000020"
    kinds_at = q(c, "SELECT kind FROM incident_events WHERE incident_id = :i ORDER BY at, id", i=first[0])
    assert [r[0] for r in kinds_at] == ["received", "dispatched", "arrived", "cleared", "closed"]
    # the same export as Parquet: everything already imported
    df.to_parquet(tmp_path / "cad.parquet", index=False)
    res = run(str(tmp_path / "cad.parquet"), "--mapping", str(tmp_path / "m.json"))
    assert res.exit_code == 0 and f"stored 0, {n} already imported" in res.output, res.output


@both_databases
def test_imported_calls_reach_the_safety_index(run: Any, city: Any, api: TestClient, tmp_path: Path) -> None:
    c: Container = city[0]
    csv = tmp_path / "cad.csv"
    df = synthetic_cad(c, csv, n=60, seed=3)
    (tmp_path / "m.json").write_text(json.dumps(SYN_MAP, ensure_ascii=False), encoding="utf-8")
    assert run(str(csv), "--mapping", str(tmp_path / "m.json")).exit_code == 0
    ids = {r[0] for r in q(c, "SELECT id FROM incidents WHERE location_status = 'located'")}
    deadline = time.monotonic() + 20  # the app's outbox relay publishes; the Safety Index subscribes
    got: set[str] = set()
    while time.monotonic() < deadline and not ids <= got:
        got = {r[0] for r in q(c, "SELECT incident_id FROM si_incidents WHERE town_id IS NOT NULL")}
        time.sleep(0.3)
    assert ids <= got and len(ids) == len(df) - 10


def test_dst_times_take_the_earlier_offset_and_are_counted(tmp_path: Path) -> None:
    types = TypeTable.load()
    m = calls_import.parse_mapping({"source": "ny", "event_number": "id", "received": "t", "arrived": "a",
                                    "timezone": "America/New_York", "default_type_code": "990000"}, types)
    df = pd.DataFrame({"id": ["1", "2", "3", "4"],
                       "t": ["2021-11-07 01:30:00", "2021-03-14 02:30:00", "2021-06-01 12:00:00", "2021-06-01"],
                       "a": ["2021-11-07 01:40:00", "2021-03-14 03:40:00", "2021-06-01 11:00:00", "nonsense"]})
    p = calls_import.parse_calls(df, m, types)
    assert (p.dst_ambiguous, p.dst_nonexistent) == (2, 1)  # 01:30 and 01:40 occur twice; 02:30 never
    by = {x.event_number: x for x in p.calls}
    assert by["1"].received == datetime(2021, 11, 7, 5, 30, tzinfo=UTC)  # EDT (-4), the first 01:30
    assert by["2"].received == datetime(2021, 3, 14, 7, 30, tzinfo=UTC)  # read with EST (-5)
    assert [(r.row, r.reason.split(":")[0]) for r in p.rejected] == [
        (3, "times out of order"), (4, "unparseable arrived time 'nonsense' (a)")]
    with pytest.raises(InvalidInput) as e:
        calls_import.parse_mapping({"source": "ny", "event_number": "id", "received": "t"}, types)
    assert e.value.code == "bad_mapping"


@both_databases
def test_the_receiving_agency_is_named_when_the_deployment_has_several_top_agencies(run: Any, city: Any) -> None:
    from jingwu.platform import services

    c: Container = city[0]
    zy = services.create_agency(services.CreateAgency("512000-PSB", "资阳市公安局", "city_bureau"), uow=c.uow(),
                                actor=None)
    res = run(str(SEATTLE), "--mapping", str(SEATTLE_MAP))
    assert res.exit_code == 2 and "error [agency_required]" in res.output
    res = run(str(SEATTLE), "--mapping", str(SEATTLE_MAP), "--agency", "512000-PSB")
    assert res.exit_code == 0, res.output
    assert {r[0] for r in q(c, "SELECT agency_id FROM incidents")} == {zy}
    assert run(str(SEATTLE), "--mapping", str(SEATTLE_MAP), "--agency", "NOPE").exit_code == 2
