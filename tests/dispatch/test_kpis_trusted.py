"""KPIs a commander can trust (#12 item 9), both databases: flagged arrivals counted, marked and switchable
(flagged=include|exclude|only), the average-arrival headline and its weekly trend, the CSV export, and
bad ranges answered 422 invalid_range (never a 500)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.kpi_views import mmss, week_start
from jingwu.platform.container import Container
from support import both_databases, login

CENTRE = (104.0657, 30.6598)
EAST = (104.1200, 30.6800)


def hdr(api: TestClient, city) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return login(api, "dispatcher", city[1]["dispatcher"])


def arrive(api: TestClient, city, h: dict[str, str], at: tuple[float, float], seconds: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A call, a dispatch, and the unit on scene ``seconds`` after dispatch; (incident id, unit id)."""
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": at[0], "lat": at[1]},
                 headers=h)
    iid = r.json()["incident_id"]
    unit = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    assert api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=h).status_code == 200
    for st, dt in (("acknowledged", 10), ("en_route", 10), ("on_scene", seconds - 20)):
        city[0].clock.advance(seconds=dt)
        assert api.post(f"/api/v1/units/{unit}/status", json={"status": st}, headers=h).status_code == 200
    return iid, unit


@both_databases
def test_flagged_arrivals_are_marked_and_switchable(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    arrive(api, city, h, CENTRE, 300)
    flagged_id, flagged_unit = arrive(api, city, h, EAST, 60)
    with c.engine.connect() as conn:
        conn.execute(text("UPDATE assignments SET arrival_flags='too_soon' WHERE incident_id=:i"), {"i": flagged_id})
        conn.commit()
    k = api.get("/api/v1/kpis", headers=h).json()
    assert k["flagged"] == "include" and k["counts"]["flagged_arrivals"] == 1
    assert k["counts"]["flagged_by_code"] == {"too_soon": 1}
    assert k["overall"]["dispatch_to_arrival"]["n"] == 2
    assert k["headline"]["mean_seconds"] == pytest.approx(180, abs=2) and k["headline"]["flagged_included"] == 1
    assert next(u for u in k["units"] if u["unit_id"] == flagged_unit)["flagged_arrivals"] == 1
    ex = api.get("/api/v1/kpis?flagged=exclude", headers=h).json()
    assert ex["overall"]["dispatch_to_arrival"]["n"] == 1 and ex["headline"]["flagged_included"] == 0
    assert ex["headline"]["mean_seconds"] == pytest.approx(300, abs=2) and ex["headline"]["text"] == "5 min 00 s"
    assert all(u["unit_id"] != flagged_unit for u in ex["units"])
    assert ex["counts"]["flagged_arrivals"] == 1  # counts cover every incident whatever the switch
    only = api.get("/api/v1/kpis?flagged=only", headers=h).json()
    assert only["overall"]["dispatch_to_arrival"]["n"] == 1
    assert only["headline"]["mean_seconds"] == pytest.approx(60, abs=2)
    # by station, type, priority and hour; the weekly trend of the headline
    assert set(k["by"]) == {"type", "priority", "station", "hour"} and k["by"]["type"]["020200"]
    assert sum(w["n"] for w in k["headline"]["weekly"]) == 2  # both arrivals, in their local week(s)
    assert k["headline"]["reference"]["text"] == "5 min 43 s"
    bad = api.get("/api/v1/kpis?flagged=maybe", headers=h)
    assert bad.status_code == 422


@both_databases
def test_kpi_export_csv(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    arrive(api, city, h, CENTRE, 343)
    r = api.get("/api/v1/kpis/export.csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "key", "metric", "n", "mean_s", "median_s", "p90_s"]
    window = {row[1]: row[2] for row in rows if row[0] == "window"}
    assert window["timezone"] == "Asia/Shanghai" and window["since"].endswith("+08:00")
    head = next(row for row in rows if row[0] == "headline")
    assert head[3] == "1" and float(head[4]) == pytest.approx(343, abs=2)
    assert any(row[0] == "station" for row in rows) and any(row[0] == "hour" for row in rows)
    assert any(row[0] == "headline_week" for row in rows)


@both_databases
@pytest.mark.parametrize("params", [
    {"until": "0001-01-01T00:00:00Z"},
    {"since": "0001-01-01T00:00:00Z"},
    {"until": "9999-12-31T23:59:59Z"},
    {"since": "1900-01-01T00:00:00Z", "until": "1900-01-01T00:00:00Z"},
    {"until": "1900-01-01T00:00:00Z"},  # its default start, a day earlier, is before 1900
])
def test_bad_kpi_ranges_are_422(api: TestClient, city, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    for path in ("/api/v1/kpis", "/api/v1/kpis/export.csv"):
        r = api.get(path, params=params, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range", (path, r.text)


def test_headline_wording_and_local_weeks() -> None:
    from zoneinfo import ZoneInfo

    assert mmss(343) == "5 min 43 s" and mmss(59.6) == "1 min 00 s" and mmss(None) == ""
    sh = ZoneInfo("Asia/Shanghai")
    # Sunday 2026-11-29 17:00 UTC is Monday 01:00 in Shanghai: a new local week
    assert week_start(datetime(2026, 11, 29, 17, 0, tzinfo=UTC), sh) == "2026-11-30"
    assert week_start(datetime(2026, 11, 29, 15, 0, tzinfo=UTC), sh) == "2026-11-23"
    assert week_start(datetime(2026, 11, 29, 15, 0, tzinfo=UTC) + timedelta(days=1), sh) == "2026-11-30"
