"""Group-commit intake: several calls in one transaction, each with its own answer.

The service (receive_calls) on both databases, the writer thread (IntakeBatcher)
with a real store, and concurrent HTTP calls that end up sharing transactions.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.intake import IntakeBatcher
from jingwu.dispatch.services import intake
from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo
from jingwu.platform.container import Container
from jingwu.platform.domain import verify_chain
from jingwu.platform.errors import AppError, InvalidInput
from support import both_databases, login

CENTRE = (104.0657, 30.6598)
NEAR = (104.0667, 30.6601)  # about 100 m east
FAR = (104.1200, 30.6800)


def rc(at: tuple[float, float] | None = CENTRE, type_code: str = "020200", key: str | None = None,
       **kw: Any) -> intake.ReceiveCall:
    lon, lat = at if at else (None, None)
    return intake.ReceiveCall(channel="phone", type_code=type_code, lon=lon, lat=lat, idempotency_key=key, **kw)


def store(c: Container, calls: list[intake.ReceiveCall]) -> list[intake.IntakeResult | AppError]:
    return intake.receive_calls([intake.IntakeItem(x, "calltaker", None) for x in calls], uow=dispatch_uow(c),
                                geo=geo(c), cat=catalogue(c))


def count(c: Container, table: str) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@both_databases
def test_a_batch_answers_each_call_and_refusals_do_not_hold_back_the_rest(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    audit_before = count(c, "audit_log")
    out = store(c, [rc(key="a"), rc((116.40, 39.90)), rc(type_code="999999"), rc(FAR, key="b"), rc(None)])
    assert isinstance(out[0], intake.IntakeResult) and out[0].created
    # a call is never refused for its location: Beijing is stored outside the area, no position is unlocated
    assert isinstance(out[1], intake.IntakeResult) and out[1].location_status == "outside_area"
    assert isinstance(out[2], AppError) and out[2].code == "unknown_type"
    assert isinstance(out[3], intake.IntakeResult) and out[3].created
    assert isinstance(out[4], intake.IntakeResult) and out[4].location_status == "unlocated"
    assert count(c, "incidents") == 4 and count(c, "idempotency_keys") == 2
    # incident numbers follow the stored sequence; one timeline entry, one audit entry, two events each
    assert out[0].number != out[3].number
    assert count(c, "incident_events") == 4
    assert count(c, "audit_log") == audit_before + 4
    with c.engine.connect() as conn:
        topics = [r[0] for r in conn.execute(text("SELECT topic FROM outbox WHERE topic LIKE 'jingwu.incidents%' "
                                                  "OR topic LIKE 'jingwu.dispatch.incident%'"))]
    assert sorted(topics) == sorted(["jingwu.dispatch.incident_created", "jingwu.incidents.recorded"] * 4)
    with c.uow() as uow:
        assert verify_chain(uow.audit_entries(), uow.audit_head()) is None


@both_databases
def test_the_same_key_twice_in_one_batch_stores_once(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    out = store(c, [rc(key="k1"), rc(key="k1"), rc(key="k1", type_code="010600")])
    first, again, other = out
    assert isinstance(first, intake.IntakeResult) and first.created
    assert isinstance(again, intake.IntakeResult) and not again.created
    assert again.incident_id == first.incident_id and again.number == first.number
    assert isinstance(other, InvalidInput) and other.code == "idempotency_key_reused"
    assert count(c, "incidents") == 1
    # and in a later batch: replayed from the database
    later = store(c, [rc(key="k1"), rc(FAR, key="k2")])
    assert isinstance(later[0], intake.IntakeResult) and not later[0].created
    assert later[0].incident_id == first.incident_id
    assert isinstance(later[1], intake.IntakeResult) and later[1].created
    assert count(c, "incidents") == 2


@both_databases
def test_duplicates_within_a_batch_point_to_the_earlier_call_only(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    old = store(c, [rc()])[0]
    assert isinstance(old, intake.IntakeResult) and old.duplicates == []
    a, b, far = store(c, [rc(NEAR), rc(CENTRE, type_code="020300"), rc(FAR)])
    assert isinstance(a, intake.IntakeResult) and isinstance(b, intake.IntakeResult)
    assert [d["candidate_id"] for d in a.duplicates] == [old.incident_id]
    # b is at the same point as the first call (0 m) and about 100 m from a: nearest first, never itself
    assert [d["candidate_id"] for d in b.duplicates] == [old.incident_id, a.incident_id]
    assert b.duplicates[0]["distance_m"] == 0.0 and 80 < b.duplicates[1]["distance_m"] < 120
    assert isinstance(far, intake.IntakeResult) and far.duplicates == []
    assert count(c, "merge_proposals") == 3
    # another category at the same spot is not the same incident; an unverified alarm may be any of them
    dispute, alarm = store(c, [rc(CENTRE, type_code="060200"), rc(CENTRE, type_code="130100")])
    assert isinstance(dispute, intake.IntakeResult) and dispute.duplicates == []
    assert isinstance(alarm, intake.IntakeResult)
    # an unverified alarm may be any category: the three at 0 m win over the call 100 m away
    assert {d["candidate_id"] for d in alarm.duplicates} == {old.incident_id, b.incident_id, dispute.incident_id}
    assert [d["distance_m"] for d in alarm.duplicates] == [0.0, 0.0, 0.0]


@both_databases
def test_calls_older_than_the_window_are_not_duplicates(city, clock) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    store(c, [rc()])
    clock.advance(minutes=16)
    new = store(c, [rc(NEAR)])[0]
    assert isinstance(new, intake.IntakeResult) and new.duplicates == []


def test_a_failing_batch_is_split_so_each_call_gets_its_own_answer() -> None:
    """The writer thread: when the store raises for a batch, every call is tried alone."""
    seen: list[int] = []
    release = threading.Event()

    def fake_store(items: list[Any]) -> list[Any]:
        if not seen:  # hold the writer on the first call so the others queue up into one batch
            seen.append(len(items))
            release.wait(5)
            return [f"ok:{items[0][0]}"]
        seen.append(len(items))
        if len(items) > 1:
            raise RuntimeError("deadlock detected")
        if items[0][0] == "bad":
            raise RuntimeError("this one is broken")
        return [f"ok:{items[0][0]}"]

    b = IntakeBatcher(fake_store, max_batch=8)

    async def main() -> list[Any]:
        first = asyncio.ensure_future(b.submit(("first", "u", None)))
        await asyncio.sleep(0.1)
        rest = [asyncio.ensure_future(b.submit((name, "u", None))) for name in ("x", "bad", "y")]
        await asyncio.sleep(0.1)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    try:
        out = asyncio.run(main())
    finally:
        b.stop()
    assert out[0] == "ok:first" and out[1] == "ok:x" and out[3] == "ok:y"
    assert isinstance(out[2], RuntimeError)
    assert seen == [1, 3, 1, 1, 1]  # the held call, one batch of three, then each of them alone


@both_databases
def test_concurrent_http_calls_share_transactions_and_all_are_stored(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = login(api, "calltaker", city[1]["calltaker"])
    codes: list[int] = []
    numbers: set[str] = set()
    lock = threading.Lock()

    def go(k: int) -> None:
        for j in range(5):
            r = api.post("/api/v1/calls", json={"type_code": "020200", "lon": CENTRE[0] + k * 1e-3,
                                                "lat": CENTRE[1] + j * 1e-3},
                         headers={**h, "Idempotency-Key": f"t{k}-{j}"})
            with lock:
                codes.append(r.status_code)
                numbers.add(r.json()["number"])

    ts = [threading.Thread(target=go, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert codes == [201] * 40 and len(numbers) == 40
    assert count(c, "incidents") == 40 and count(c, "idempotency_keys") == 40
    with c.uow() as uow:
        assert verify_chain(uow.audit_entries(), uow.audit_head()) is None


@both_databases
def test_closed_and_merged_incidents_are_not_duplicates(city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    first, second, live = store(c, [rc(), rc(), rc()])
    assert isinstance(first, intake.IntakeResult) and isinstance(second, intake.IntakeResult)
    assert isinstance(live, intake.IntakeResult)
    with c.engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET status = 'closed' WHERE id = :i"), {"i": first.incident_id})
        conn.execute(text("UPDATE incidents SET status = 'merged' WHERE id = :i"), {"i": second.incident_id})
    new = store(c, [rc(NEAR)])[0]
    assert isinstance(new, intake.IntakeResult)
    assert [d["candidate_id"] for d in new.duplicates] == [live.incident_id]
