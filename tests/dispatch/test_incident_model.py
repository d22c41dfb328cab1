"""The Incident domain model: status moves, dispatch, arrival, close rules, merge and escalation.
Pure: no database, no road graph."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from jingwu.dispatch.domain import IncidentStatus, Level, device_online
from jingwu.dispatch.incident import (
    INCIDENT_NEXT,
    IllegalIncidentTransition,
    Incident,
    IncidentClosed,
    InvalidMerge,
    NotHigher,
    refuse_self_merge,
)
from jingwu.platform.errors import Conflict, InvalidInput

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


@dataclass(frozen=True)
class Asg:
    active: bool = False
    feedback_at: datetime | None = None
    cancelled_at: datetime | None = None


def inc(status: IncidentStatus = IncidentStatus.OPEN, level: Level = Level.STATION, **kw: object) -> Incident:
    return Incident(kw.pop("id", "i1"), status, level, **kw)  # type: ignore[arg-type]


def test_every_status_has_its_legal_moves_and_the_end_states_have_none() -> None:
    assert set(INCIDENT_NEXT) == set(IncidentStatus)
    assert INCIDENT_NEXT[IncidentStatus.CLOSED] == frozenset()
    assert INCIDENT_NEXT[IncidentStatus.MERGED] == frozenset()


@pytest.mark.parametrize(("frm", "to"), [
    (IncidentStatus.OPEN, IncidentStatus.CLOSED), (IncidentStatus.OPEN, IncidentStatus.ON_SCENE),
    (IncidentStatus.CLOSED, IncidentStatus.OPEN), (IncidentStatus.MERGED, IncidentStatus.OPEN),
    (IncidentStatus.ON_SCENE, IncidentStatus.MERGED), (IncidentStatus.DISPATCHED, IncidentStatus.MERGED)])
def test_illegal_moves_are_refused(frm: IncidentStatus, to: IncidentStatus) -> None:
    with pytest.raises(IllegalIncidentTransition) as e:
        inc(frm).move(to)
    assert e.value.code == "illegal_incident_transition" and e.value.status == 409


def test_an_open_incident_takes_a_unit_and_is_dispatched() -> None:
    i = inc().take_unit(T0)
    assert i.status is IncidentStatus.DISPATCHED and i.dispatched_at == T0
    again = i.take_unit(T1)  # a second unit joins; nothing changes
    assert again == i and again.changes(i) == {}


@pytest.mark.parametrize("status", [IncidentStatus.CLOSED, IncidentStatus.MERGED])
def test_closed_or_merged_incidents_take_no_units(status: IncidentStatus) -> None:
    with pytest.raises(IncidentClosed) as e:
        inc(status).take_unit(T0)
    assert e.value.code == "incident_closed" and f"Incident is {status.value};" in e.value.message


def test_first_arrival_puts_the_incident_on_scene_later_ones_change_nothing() -> None:
    i = inc().take_unit(T0).unit_arrived(T1)
    assert i.status is IncidentStatus.ON_SCENE and i.arrived_at == T1
    assert i.unit_arrived(T1 + timedelta(minutes=1)) is i


def test_settle_closes_only_when_no_unit_is_active_and_one_gave_feedback() -> None:
    on_scene = inc(IncidentStatus.ON_SCENE, arrived_at=T0)
    assert on_scene.settle([Asg(active=True), Asg(feedback_at=T0)], T1) is on_scene  # a unit still there
    closed = on_scene.settle([Asg(feedback_at=T0), Asg(cancelled_at=T0)], T1)
    assert closed.status is IncidentStatus.CLOSED and closed.closed_at == T1
    assert closed.changes(on_scene) == {"status": "closed", "closed_at": T1}


def test_settle_puts_the_incident_back_in_the_queue_when_every_unit_stood_down() -> None:
    d = inc(IncidentStatus.DISPATCHED, dispatched_at=T0)
    back = d.settle([Asg(cancelled_at=T1), Asg(cancelled_at=T1)], T1)
    assert back.status is IncidentStatus.OPEN and back.changes(d) == {"status": "open"}
    # released without feedback after arrival: stays as it is
    assert d.settle([Asg(cancelled_at=T1), Asg()], T1) is d


def test_settle_leaves_closed_and_merged_incidents_alone() -> None:
    for status in (IncidentStatus.CLOSED, IncidentStatus.MERGED):
        i = inc(status)
        assert i.settle([Asg(feedback_at=T0)], T1) is i


def test_an_open_call_merges_into_an_open_incident() -> None:
    m = inc(id="new").merge_into(inc(IncidentStatus.ON_SCENE, id="old"), T1)
    assert m.status is IncidentStatus.MERGED and m.merged_into == "old" and m.closed_at == T1
    assert m.changes(inc(id="new")) == {"status": "merged", "closed_at": T1, "merged_into": "old"}


def test_merge_refusals() -> None:
    with pytest.raises(InvalidInput) as e1:
        inc(id="a").merge_into(inc(id="a"), T1)
    assert e1.value.code == "invalid_merge"
    with pytest.raises(InvalidInput):
        refuse_self_merge("a", "a")
    refuse_self_merge("a", "b")
    for me, target in [(IncidentStatus.DISPATCHED, IncidentStatus.OPEN), (IncidentStatus.OPEN, IncidentStatus.CLOSED),
                       (IncidentStatus.OPEN, IncidentStatus.MERGED), (IncidentStatus.CLOSED, IncidentStatus.OPEN)]:
        with pytest.raises(InvalidMerge) as e2:
            inc(me, id="a").merge_into(inc(target, id="b"), T1)
        assert isinstance(e2.value, Conflict) and e2.value.code == "invalid_merge"


def test_escalation_only_goes_up_and_the_rule_never_lowers() -> None:
    i = inc(level=Level.BRANCH)
    assert i.escalate(Level.CITY).changes(i) == {"level": "city"}
    for lv in (Level.STATION, Level.BRANCH):
        with pytest.raises(NotHigher) as e:
            i.escalate(lv)
        assert e.value.code == "not_higher" and e.value.message == "The incident is already at branch."
    assert i.raise_level(Level.STATION) is i and i.raise_level(Level.CITY).level is Level.CITY


def test_a_device_is_online_until_three_heartbeats_are_missed() -> None:
    assert not device_online(None, 60, T0)
    assert device_online(T0, 60, T0 + timedelta(seconds=180))
    assert not device_online(T0, 60, T0 + timedelta(seconds=181))


def test_the_recorded_payload_keeps_its_keys_values_and_category_mapping() -> None:
    from jingwu.dispatch.services.intake import recorded_event

    row = {"id": "i1", "received_at": T0, "lon": 104.06, "lat": 30.66, "town_id": None, "type_code": "010100",
           "category": "group", "deaths": 0, "injuries": 2, "caller_phone": "13800000000"}
    payload = recorded_event(row).to_payload()
    assert list(payload) == ["incident_id", "occurred_at", "lon", "lat", "town_id", "type_code", "category",
                             "deaths", "injuries"]
    assert payload == {"incident_id": "i1", "occurred_at": T0.isoformat(), "lon": 104.06, "lat": 30.66,
                       "town_id": None, "type_code": "010100", "category": "public_order", "deaths": 0,
                       "injuries": 2}
    assert recorded_event({**row, "category": "alarm"}).category == "other"
    assert recorded_event({**row, "category": "traffic"}).category == "traffic"
