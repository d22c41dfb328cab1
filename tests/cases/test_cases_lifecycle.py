"""The lifecycle through the API on both databases: every transition timed, by whom, with a reason; illegal
transitions refused with ``illegal_transition`` and nothing written; unknown case; the case file audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jingwu.cases.domain import TRANSITIONS, State, Track
from jingwu.platform.container import Container
from support import both_databases

from .conftest import Staff, move, open_case

pytestmark = both_databases


def test_criminal_track_end_to_end(client: TestClient, staff: Staff, container: Container) -> None:
    case = open_case(client, staff.inv)
    assert case["number"].startswith("STA-")
    path = ["filed", "investigating", "solved", "transferred_for_prosecution", "closed"]
    for to in path:
        r = move(client, staff.inv, case["id"], to, reason=f"理由 {to}")
        assert r.status_code == 200, r.text
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert f["case"]["state"] == "closed"
    assert [t["to_state"] for t in f["transitions"]] == ["accepted", *path]
    assert all(t["actor"] == "inv" and t["reason"] and t["at"] for t in f["transitions"])
    assert f["transitions"][1]["reason"] == "理由 filed"
    with container.uow() as u:
        actions = [e.action for e in u.audit_entries()]
    assert actions.count("case.transition") == len(path) and "case.read" in actions


def test_illegal_transition_refused_and_nothing_written(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    r = move(client, staff.inv, case["id"], "solved")
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    r = move(client, staff.inv, case["id"], "penalty_executed")  # a state of the other track
    assert r.status_code == 422 and r.json()["error"]["code"] == "illegal_transition"
    r = move(client, staff.inv, case["id"], "no_such_state")
    assert r.status_code == 422 and r.json()["error"]["code"] == "illegal_transition"
    r = move(client, staff.inv, case["id"], "filed", reason="  ")
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert f["case"]["state"] == "accepted" and len(f["transitions"]) == 1 and len(f["events"]) == 1


def test_administrative_track_refuses_criminal_states(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv, track="administrative", title="殴打他人")
    assert move(client, staff.inv, case["id"], "filed").json()["error"]["code"] == "illegal_transition"
    assert move(client, staff.inv, case["id"], "investigating").status_code == 200
    r = move(client, staff.inv, case["id"], "closed")
    assert r.status_code == 409 and "decision" in r.json()["error"]["message"]


def test_unknown_case(client: TestClient, staff: Staff) -> None:
    r = client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=staff.inv)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_case"
    r = move(client, staff.inv, "nope", "filed")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_case"


def test_out_of_scope_and_missing_role(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    r = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv_b, params={"access_reason": "看看"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope"
    r = client.get(f"/api/v1/cases/{case['id']}", headers=staff.admin)
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_role"


@pytest.mark.parametrize("track", list(Track))
def test_every_table_edge_is_accepted_and_every_other_refused(client: TestClient, staff: Staff,
                                                               track: Track) -> None:
    """Walk the whole table: from each reachable state, each listed target is accepted (checked on a fresh case
    driven there along a shortest path) and every non-listed state is refused."""
    table = TRANSITIONS[track]
    paths: dict[State, list[State]] = {State.ACCEPTED: []}
    frontier = [State.ACCEPTED]
    while frontier:
        s = frontier.pop(0)
        for n in table[s]:
            if n not in paths:
                paths[n] = [*paths[s], n]
                frontier.append(n)
    for s, route in paths.items():
        case = open_case(client, staff.inv, track=track.value)
        for step in route:
            assert move(client, staff.inv, case["id"], step.value).status_code == 200
        for target in table:
            if target in table[s]:
                continue
            r = move(client, staff.inv, case["id"], target.value)
            assert r.status_code == 409, (s, target, r.text)
        for target in table[s]:
            probe = open_case(client, staff.inv, track=track.value)
            for step in route:
                move(client, staff.inv, probe["id"], step.value)
            assert move(client, staff.inv, probe["id"], target.value).status_code == 200, (s, target)
