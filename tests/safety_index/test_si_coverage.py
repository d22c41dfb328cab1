"""Coverage (#14 item 2): "no data" is no data everywhere, never 100.

A store where T1 has records from DAY0, T2 only from DAY0+80 (a burst of burglaries from its first day,
which a warm-up counted from the store's first record would score red with surge warnings), T3 none,
and the data end at DAY0+200 while today is DAY0+260. Checked: the warm-up per town, explicit no-data
rows, ranks among scored towns, the data's horizon, and every output (authenticated API, public JSON,
CSV, GeoJSON, CAP, series, page), the incremental path when a town's history starts earlier, the range
an import records and the daily job's intake."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from jingwu.platform.container import Container
from jingwu.safety_index import importer, jobs
from jingwu.safety_index.services.compute import compute, daily
from jingwu.safety_index.services.ingest import fact_from_event, ingest, record_incidents
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org, login

DAY0 = date(2026, 1, 1)
LAST = DAY0 + timedelta(days=200)  # the last day with data
TODAY = DAY0 + timedelta(days=260)
T2_FIRST = DAY0 + timedelta(days=80)
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def event(i: int, day: date, town: str, code: str = "010600", cat: str = "crime") -> dict[str, object]:
    at = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: same day
    return {"incident_id": f"cov-{i}", "occurred_at": at.isoformat(), "lon": None, "lat": None, "town_id": town,
            "type_code": code, "category": cat, "deaths": 0, "injuries": 0}


@pytest.fixture
def towns(container: Container, org: Org) -> dict[str, str]:
    return add_towns(container, org, [
        ("T1", "一镇", square(104.0, 30.6, 0.01), 20_000, "a"),
        ("T2", "二镇", square(104.01, 30.6, 0.01), 50_000, "a"),
        ("T3", "三镇", square(104.02, 30.6, 0.01), 10_000, "b"),
    ])


@pytest.fixture
def late(container: Container, towns: dict[str, str]) -> tuple[Container, dict[str, str]]:
    c = container
    evs, i = [], 0
    for k in range(201):
        d = DAY0 + timedelta(days=k)
        for _ in range(2):
            evs.append(event(i, d, towns["T1"]))
            i += 1
        if d >= T2_FIRST:
            for _ in range(5):
                evs.append(event(i, d, towns["T2"], "010601"))
                i += 1
    record_incidents([fact_from_event(e) for e in evs], uow=c.uow(), tz=jobs._tz(c))
    today = c.clock.now().astimezone(jobs._tz(c)).date()
    c.clock.advance(days=(TODAY - today).days)  # type: ignore[attr-defined]
    s = compute(uow_factory=c.uow, clock=c.clock, tz=jobs._tz(c))  # the data's range
    assert (s.first, s.last) == (DAY0 + timedelta(days=90), LAST)
    return c, towns


def rows_of(c: Container, d: date) -> dict[str, dict[str, object]]:
    with c.uow() as uow:
        return {r["town_id"]: r for r in repo(uow).scores_on(d)}


def test_warm_up_per_town_and_ranks_among_scored(late: tuple[Container, dict[str, str]]) -> None:
    c, towns = late
    t2_start = T2_FIRST + timedelta(days=90)  # first record + 90 days: 91 days of the town's own history
    before, on = rows_of(c, t2_start - timedelta(days=1)), rows_of(c, t2_start)
    for rows in (before, on):
        assert len(rows) == 3  # explicit rows for every town and computed day
        assert rows[towns["T3"]]["state"] == "no_data"  # no record ever: never scored
    nd = before[towns["T2"]]
    assert nd["state"] == "no_data" and nd["score"] is None and nd["band"] is None and nd["rank"] is None
    assert nd["s_order"] is None and nd["total_rate"] is None
    assert nd["count_7d"] == 35  # the window sums are kept (incremental updates)
    assert before[towns["T1"]]["rank"] == 1 and before[towns["T1"]]["state"] == "scored"
    assert on[towns["T2"]]["state"] == "scored" and on[towns["T2"]]["score"] is not None
    assert sorted(int(r["rank"]) for r in on.values() if r["rank"] is not None) == [1, 2]  # type: ignore[call-overload]
    with c.uow() as uow:
        r = repo(uow)
        # the burst at T2's start would be red with surge warnings on a store-wide warm-up: none here
        assert not [w for w in r.warnings_between(DAY0, t2_start - timedelta(days=1)) if w["town_id"] == towns["T2"]]
        assert not [x for x in r.scores_between(DAY0, LAST) if x["state"] == "no_data" and x["band"] is not None]
        assert r.scores_between(LAST + timedelta(days=1), TODAY) == []  # after the horizon: nothing stored
        assert r.tickets() == []


def test_days_after_the_horizon_are_not_scored(late: tuple[Container, dict[str, str]]) -> None:
    c, _ = late
    s = compute(LAST - timedelta(days=2), TODAY - timedelta(days=5), uow_factory=c.uow, clock=c.clock,
                tz=jobs._tz(c))
    assert s.last == LAST and s.days == 3 and any("not scored" in n for n in s.notes)
    with c.uow() as uow:
        assert repo(uow).last_scored_day() == LAST


def test_every_output_shows_no_data(late: tuple[Container, dict[str, str]], client: TestClient, org: Org) -> None:
    early = T2_FIRST + timedelta(days=20)  # T2 in its warm-up, T3 never scored
    after = LAST + timedelta(days=30)  # after the data's horizon, before today
    # public JSON: the default day is the latest day with data; no-data towns explicit
    r = client.get("/api/v1/public/safety-index")
    assert r.status_code == 200 and r.json()["date"] == LAST.isoformat() and r.json()["last_date"] == LAST.isoformat()
    assert r.json()["ranked_towns"] == 2 and r.json()["total_towns"] == 3
    j = client.get(f"/api/v1/public/safety-index?date={early}").json()
    by = {t["town_code"]: t for t in j["towns"]}
    assert j["ranked_towns"] == 1 and by["T1"]["rank"] == 1 and by["T1"]["state"] == "scored"
    for code in ("T2", "T3"):
        t = by[code]
        assert t["state"] == "no_data" and t["score"] is None and t["band"] is None and t["rank"] is None
        assert t["sub_indices"] is None and t["incidents_7d"] is None and t["warnings"] == []
    j = client.get(f"/api/v1/public/safety-index?date={after}").json()
    assert j["ranked_towns"] == 0 and {t["state"] for t in j["towns"]} == {"no_data"}
    # authenticated API: the same, ranked_towns city-wide
    h = login(client, "analyst", org.passwords["analyst"])
    j = client.get(f"/api/v1/safety-index?date={early}", headers=h).json()
    assert j["ranked_towns"] == 1
    assert {t["code"]: t["state"] for t in j["towns"]} == {"T1": "scored", "T2": "no_data", "T3": "no_data"}
    assert [t["score"] for t in j["towns"] if t["state"] == "no_data"] == [None, None]
    # CSV: a state column; a no-data row has every value cell empty
    text = client.get(f"/api/v1/public/safety-index?date={early}&format=csv").text
    rows = {row["town_code"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["T1"]["state"] == "scored" and float(rows["T1"]["score"]) > 0 and rows["T1"]["rank"] == "1"
    assert rows["T2"]["state"] == "no_data" and rows["T2"]["score"] == "" and rows["T2"]["band"] == ""
    assert rows["T2"]["rank"] == "" and rows["T2"]["sub_order"] == "" and rows["T2"]["incidents_7d"] == ""
    # GeoJSON: every town a feature, no-data ones with state and null score
    gj = client.get(f"/api/v1/public/safety-index?date={after}&format=geojson").json()
    assert gj["ranked_towns"] == 0 and len(gj["features"]) == 3
    assert {f["properties"]["state"] for f in gj["features"]} == {"no_data"}
    assert {f["properties"]["score"] for f in gj["features"]} == {None}
    assert all(f["geometry"] for f in gj["features"])
    # CAP: no alert for a town without data; the note says how many have none, or that no town has data
    root = ET.fromstring(client.get(f"/api/v1/public/safety-index?date={early}&format=cap").content)
    codes = {v.text for v in root.iter(f"{CAP}value")}
    assert "T2" not in codes and "T3" not in codes
    assert "2 of 3 towns have no data" in (root.findtext(f"{CAP}note") or "")
    root = ET.fromstring(client.get(f"/api/v1/public/safety-index?date={after}&format=cap").content)
    assert root.findall(f"{CAP}info") == [] and "No Safety Index data" in (root.findtext(f"{CAP}note") or "")
    # series: every day a point; no-data days with null score
    s = client.get(f"/api/v1/public/safety-index/towns/T2/series?from={early}&to={after}").json()
    pts = {p["date"]: p for p in s["points"]}
    assert len(pts) == (after - early).days + 1
    assert pts[early.isoformat()] == {"date": early.isoformat(), "state": "no_data", "score": None, "band": None,
                                      "rank": None}
    assert pts[LAST.isoformat()]["state"] == "scored" and pts[after.isoformat()]["state"] == "no_data"
    # page: defaults to the latest day with data; the legend has a no-data entry (zh by default, en switch)
    html = client.get("/safety-index").text
    assert f'value="{LAST.isoformat()}"' in html and 'id="si-legend-no-data"' in html and "无数据" in html
    html = client.get("/safety-index?lang=en").text
    assert "No data" in html


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_history_starting_earlier_rescored_as_a_full_compute(late: tuple[Container, dict[str, str]]) -> None:
    c, towns = late
    tz = jobs._tz(c)
    # a first record for T3 near the horizon: its warm-up ends after the scored days, nothing turns scored
    ingest([fact_from_event(event(10_000, LAST - timedelta(days=3), towns["T3"]))], uow_factory=c.uow,
                  clock=c.clock, tz=tz)
    assert rows_of(c, LAST)[towns["T3"]]["state"] == "no_data"
    # an old record of T2 (day 30): its history now starts 50 days earlier, so days 120..169 turn scored,
    # beyond the 91 days a delta reaches; the result equals a full computation
    early = DAY0 + timedelta(days=30)
    ingest([fact_from_event(event(10_001, early, towns["T2"]))], uow_factory=c.uow, clock=c.clock, tz=tz)
    assert rows_of(c, early + timedelta(days=89))[towns["T2"]]["state"] == "no_data"
    assert rows_of(c, early + timedelta(days=90))[towns["T2"]]["state"] == "scored"
    assert rows_of(c, DAY0 + timedelta(days=165))[towns["T2"]]["state"] == "scored"
    with c.uow() as uow:
        incremental = [{k: v for k, v in x.items() if k != "computed_at"}
                       for x in repo(uow).scores_between(DAY0, LAST)]
    compute(uow_factory=c.uow, clock=c.clock, tz=tz)
    with c.uow() as uow:
        full = [{k: v for k, v in x.items() if k != "computed_at"} for x in repo(uow).scores_between(DAY0, LAST)]
    assert incremental == full


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_import_records_its_range_and_daily_job_its_intake(container: Container, towns: dict[str, str],
                                                            tmp_path: Path) -> None:
    c = container
    path = tmp_path / "in.csv"
    pd.DataFrame([("1", "2026-03-01 10:00", "T1", "theft"), ("2", "2026-03-09 23:30", "T2", "theft"),
                  ("3", "2026-03-05 08:00", "T9", "theft")],
                 columns=["id", "when", "town", "kind"]).to_csv(path, index=False)
    m = importer.parse_mapping({"source": "cov", "id": "id", "time": "when", "timezone": "Asia/Shanghai",
                                "town": "town", "type": "kind", "type_map": {"theft": "010600"}})
    rep = importer.import_file(path, m, uow_factory=c.uow, tz=jobs._tz(c))
    assert rep.stored == 2 and (rep.first_day, rep.last_day) == (date(2026, 3, 1), date(2026, 3, 9))
    with c.uow() as uow:
        r = repo(uow)
        log = r.coverage_log()
        assert [(x["kind"], x["source"], x["first_day"], x["last_day"], x["rows"]) for x in log] == [
            ("import", "cov:in.csv", date(2026, 3, 1), date(2026, 3, 9), 2)]
        assert r.data_horizon() == date(2026, 3, 9)
        assert r.town_first_days() == {towns["T1"]: date(2026, 3, 1), towns["T2"]: date(2026, 3, 9)}
    # the daily job runs in the live platform: it declares the intake covered up to yesterday, then scores
    today = c.clock.now().astimezone(jobs._tz(c)).date()
    c.clock.advance(days=(date(2026, 6, 20) - today).days)  # type: ignore[attr-defined]
    s = daily(uow_factory=c.uow, clock=c.clock, tz=jobs._tz(c))
    assert s.last == date(2026, 6, 19)
    with c.uow() as uow:
        r = repo(uow)
        assert r.data_horizon() == date(2026, 6, 19) and r.coverage_log()[-1]["kind"] == "intake"
        # T1 is scored from 2026-03-01 + 90 days; T2 (first record 03-09) from 06-07; T3 never
        rows = {x["town_id"]: x["state"] for x in r.scores_on(date(2026, 6, 1))}
        assert rows == {towns["T1"]: "scored", towns["T2"]: "no_data", towns["T3"]: "no_data"}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_daily_job_shifts_stored_sums_and_equals_a_computation_from_facts(
        container: Container, towns: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from jingwu.safety_index.services import compute as compute_mod

    c, tz = container, jobs._tz(container)
    evs, i = [], 0
    for k in range(204):
        d = DAY0 + timedelta(days=k)
        for _ in range(2 if k != 202 else 25):  # a surge in T1 on one of the new days
            evs.append(event(i, d, towns["T1"]))
            i += 1
        if d >= T2_FIRST:
            for _ in range(1 + k % 3):
                evs.append(event(i, d, towns["T2"], "030200", "traffic"))
                i += 1
    old = [e for e in evs if str(e["occurred_at"]) < (LAST + timedelta(days=1)).isoformat()]
    record_incidents([fact_from_event(e) for e in old], uow=c.uow(), tz=tz)
    today = c.clock.now().astimezone(tz).date()
    c.clock.advance(days=(LAST + timedelta(days=1) - today).days)  # type: ignore[attr-defined]
    assert compute(uow_factory=c.uow, clock=c.clock, tz=tz).last == LAST
    # the new days' incidents arrive through the bus path during the days (not scored yet)
    ingest([fact_from_event(e) for e in evs[len(old):]], uow_factory=c.uow, clock=c.clock, tz=tz)
    c.clock.advance(days=3)  # type: ignore[attr-defined]

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the daily job read 91 days of facts")

    monkeypatch.setattr(compute_mod, "compute", refuse)
    s = daily(uow_factory=c.uow, clock=c.clock, tz=tz)
    monkeypatch.undo()
    assert (s.first, s.last, s.days) == (LAST + timedelta(days=1), LAST + timedelta(days=3), 3) and s.warnings >= 1

    def snapshot() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        with c.uow() as uow:
            r = repo(uow)
            first, last = LAST - timedelta(days=2), LAST + timedelta(days=3)
            return ([{k: v for k, v in x.items() if k != "computed_at"} for x in r.scores_between(first, last)],
                    r.warnings_between(first, last))

    shifted = snapshot()
    compute(LAST - timedelta(days=2), LAST + timedelta(days=3), uow_factory=c.uow, clock=c.clock, tz=tz)
    assert snapshot() == shifted
    assert any(w["town_id"] == towns["T1"] and w["day"] == DAY0 + timedelta(days=202) for w in shifted[1])


def test_assessment_counts_scored_town_days_only(late: tuple[Container, dict[str, str]], client: TestClient,
                                                 org: Org) -> None:
    _, towns = late
    h = login(client, "analyst", org.passwords["analyst"])
    first, last = DAY0 + timedelta(days=150), DAY0 + timedelta(days=179)  # T2 scored from day 170
    r = client.get(f"/api/v1/safety-index/assessment?from={first}&to={last}", headers=h)
    assert r.status_code == 200, r.text
    by = {a["id"]: a for a in r.json()["towns"]}
    assert by[towns["T1"]]["days"] == 30 and by[towns["T2"]]["days"] == 10 and by[towns["T3"]]["days"] == 0
    assert by[towns["T2"]]["coverage"] == round(10 / 30, 4) and by[towns["T3"]]["mean_score"] is None
    assert sum(by[towns["T2"]]["band_days"].values()) == 10
