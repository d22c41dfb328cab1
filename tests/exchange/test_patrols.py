"""Joint patrols and shared checkpoints between two deployments: planned by A, visible at B with the agreed
fields only, confirmed by B with its units, and the confirmation seen at A; refusals for bad plans."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from exchange.xc_support import deliver, deployment, h, pair, peer_agreement
from support import StepClock

FIELDS = ["id", "kind", "title", "place", "starts_at", "ends_at", "units", "partner_units", "status"]


def test_joint_checkpoint_planned_and_confirmed(tmp_path: Path, clock: StepClock) -> None:
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b)
        aid = peer_agreement(a, b, clock, outgoing={"joint_patrol": FIELDS}, incoming={"joint_patrol": FIELDS})
        start = clock.now() + timedelta(days=1)
        body = {"agreement_id": aid, "kind": "checkpoint", "title": "川渝界联合查控点", "place": "G85 界牌收费站",
                "lon": 105.9, "lat": 29.9, "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=8)).isoformat(), "units": 3}
        r = a.client.post("/api/v1/exchange/patrols", headers=h(a.client, "cmd_a"),
                          json={**body, "ends_at": body["starts_at"]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_window"
        assert a.client.post("/api/v1/exchange/patrols", headers=h(a.client, "inv_a"), json=body).status_code == 403
        r = a.client.post("/api/v1/exchange/patrols", headers=h(a.client, "cmd_a"), json=body)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert [o.status for o in deliver(a, b)] == ["applied"]
        [seen] = b.client.get("/api/v1/exchange/patrols", headers=h(b.client, "cmd_b")).json()
        assert seen["id"] == pid and seen["planned_here"] is False and seen["status"] == "proposed"
        assert seen["lon"] is None and seen["units"] == 3 and seen["place"] == "G85 界牌收费站"  # lon/lat not agreed
        r = a.client.post(f"/api/v1/exchange/patrols/{pid}/confirm", headers=h(a.client, "cmd_a"), json={"units": 2})
        assert r.status_code == 403  # the proposer does not confirm its own plan
        r = b.client.post(f"/api/v1/exchange/patrols/{pid}/confirm", headers=h(b.client, "cmd_b"), json={"units": 2})
        assert r.status_code == 200 and r.json()["status"] == "agreed"
        assert [o.status for o in deliver(b, a)] == ["applied"]
        [mine] = a.client.get("/api/v1/exchange/patrols", headers=h(a.client, "cmd_a")).json()
        assert mine["status"] == "agreed" and mine["partner_units"] == 2 and mine["lon"] == 105.9
        r = b.client.post(f"/api/v1/exchange/patrols/{pid}/confirm", headers=h(b.client, "cmd_b"), json={"units": 2})
        assert r.status_code == 409
