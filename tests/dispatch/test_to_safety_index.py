"""Across modules through the bus: an accepted call becomes a Safety Index fact
(via the outbox and the `jingwu.incidents.recorded` event), without personal data."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform.container import Container
from support import login


def test_call_reaches_the_safety_index_fact_table(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = login(api, "calltaker", city[1]["calltaker"])
    ids = []
    for code in ("020200", "130100", "070100"):  # public order, alarm (-> other), mass incident (-> public order)
        r = api.post("/api/v1/calls", json={"type_code": code, "lon": 104.0657, "lat": 30.6598,
                                            "caller_phone": "13800000001"}, headers=h)
        assert r.status_code == 201
        ids.append(r.json()["incident_id"])
    deadline = time.monotonic() + 10
    rows: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        with c.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM si_incidents")).mappings().all()
        if len(rows) == 3:
            break
        time.sleep(0.2)
    assert len(rows) == 3
    assert all(r["town_id"] for r in rows)
    assert "13800000001" not in str([dict(r) for r in rows])
