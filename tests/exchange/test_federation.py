"""Federation between two deployments in this process (each its own database, keys and API): the signed
envelope, its refusals (tampered, unknown peer, unknown version, replayed, outside the window), idempotent
apply, key rotation, EIDO incident payloads stripped to the agreement on both ends, and the webhook
transport over HTTP against the receiving app. The NATS path with real processes: test_integration.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from exchange.xc_support import Deployment, deliver, deployment, h, outbox_envelopes, pair, peer_agreement
from jingwu.exchange import envelope
from jingwu.exchange.relay import FederationRelay
from jingwu.exchange.services import peers as peer_services
from jingwu.exchange.services.inbound import receive
from jingwu.exchange.wiring import federation
from support import StepClock

INCIDENT = {"id": "SC-2026-0001", "type_code": "0201", "type_name": "盗窃", "priority": 2, "lon": 104.0712345,
            "lat": 30.6712345, "reported_at": "2026-12-01T10:00:00+08:00", "summary": "交界处电动车被盗",
            "caller_name": "张三", "caller_phone": "13800000000", "address": "某路1号"}


@pytest.fixture
def ab(tmp_path: Path, clock: StepClock) -> Iterator[tuple[Deployment, Deployment]]:
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b)
        yield a, b


def _count(d: Deployment, sql: str) -> int:
    with d.container.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _share(a: Deployment, aid: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
    r = a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "inv_a"),
                      json={"record_type": "incident", "record": record or INCIDENT})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_incident_crosses_with_only_agreed_fields_once(ab: tuple[Deployment, Deployment], clock: StepClock) -> None:
    a, b = ab
    aid = peer_agreement(a, b, clock)
    sent = _share(a, aid)
    assert sent["stripped"] == ["address", "caller_name", "caller_phone"]
    [row] = outbox_envelopes(a)
    env = row["env"]
    assert env["v"] == 1 and env["peer"] == "sc" and env["to"] == "cq" and env["kid"] == a.key_id
    eido = env["payload"]["record"]
    assert eido["EIDOVersion"] == "1.0"
    assert eido["incidentTrackingIdentifier"] == "urn:emergency:uid:incidentid:SC-2026-0001:sc/STA"
    assert eido["incidentComponent"][0]["incidentTypeInternalCode"] == "0201"
    assert eido["locationInformationComponent"][0]["locationByValue"]["coordinates"] == ["104.0712345", "30.6712345"]
    assert "personComponent" not in eido and "13800000000" not in row["envelope"]

    [out] = deliver(a, b)
    assert out.status == "applied"
    rows = b.client.get("/api/v1/exchange/shares?direction=in", headers=h(b.client, "inv_b")).json()
    assert len(rows) == 1
    got = rows[0]["fields"]
    assert got == {"id": "SC-2026-0001", "type_code": "0201", "type_name": "盗窃", "priority": 2,
                   "lon": 104.0712345, "lat": 30.6712345, "reported_at": "2026-12-01T10:00:00+08:00",
                   "summary": "交界处电动车被盗"}
    # audited on both sides
    assert _count(a, "SELECT count(*) FROM audit_log WHERE action='exchange.record_sent'") == 1
    assert _count(b, "SELECT count(*) FROM audit_log WHERE action='exchange.record_received'") == 1
    # the same message again: acknowledged, not applied twice
    again = receive(row["envelope"], transport="test", uow_factory=b.container.uow, fed=federation(b.container))
    assert again.status == "duplicate"
    assert _count(b, "SELECT count(*) FROM xc_shares") == 1


def _refused(b: Deployment, raw: Any, code: str) -> None:
    before = _count(b, "SELECT count(*) FROM xc_inbox")
    out = receive(raw if isinstance(raw, str | bytes) else json.dumps(raw), transport="test",
                  uow_factory=b.container.uow, fed=federation(b.container))
    assert out.status == "refused" and out.code == code, out
    assert _count(b, "SELECT count(*) FROM xc_inbox") == before
    with b.container.engine.connect() as conn:
        last = conn.execute(text("SELECT code FROM xc_refusals ORDER BY id DESC LIMIT 1")).scalar_one()
        audit = conn.execute(text("SELECT reason FROM audit_log WHERE action='exchange.message_refused' "
                                  "ORDER BY seq DESC LIMIT 1")).scalar_one()
    assert last == code and audit == code


def test_tampered_unknown_replayed_and_foreign_messages_are_refused(ab: tuple[Deployment, Deployment],
                                                                    clock: StepClock) -> None:
    a, b = ab
    aid = peer_agreement(a, b, clock)
    _share(a, aid)
    [row] = outbox_envelopes(a)
    env = row["env"]
    # tampered: a field added after signing
    bad = json.loads(row["envelope"])
    bad["payload"]["record"]["personComponent"] = [{"personTelephoneNumber": "13800000000"}]
    _refused(b, bad, "bad_signature")
    # a re-signed copy by someone else claiming to be sc
    forged = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=envelope.new_private_key(),
                           type_="record.shared", payload=env["payload"], now=clock.now())
    _refused(b, forged, "bad_signature")
    # an unknown peer
    evil = envelope.seal(sender="evil", to="cq", key_id="k1", key=envelope.new_private_key(),
                         type_="record.shared", payload=env["payload"], now=clock.now())
    _refused(b, evil, "unknown_peer")
    # addressed to another deployment
    fed_a = federation(a.container)
    key = fed_a.read_key(a.key_id)
    other = envelope.seal(sender="sc", to="gd", key_id=a.key_id, key=key, type_="record.shared",
                          payload=env["payload"], now=clock.now())
    _refused(b, other, "unknown_peer")
    # an unknown version (signed properly)
    v2 = {**env, "v": 2}
    v2["sig"] = envelope.b64u(key.sign(envelope.signing_input(v2)))
    _refused(b, v2, "unsupported_version")
    # outside the replay window, and dated in the future
    old = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=key, type_="record.shared",
                        payload=env["payload"], now=clock.now() - timedelta(days=4))
    _refused(b, old, "replay")
    future = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=key, type_="record.shared",
                           payload=env["payload"], now=clock.now() + timedelta(hours=1))
    _refused(b, future, "replay")
    _refused(b, b"not json", "malformed_message")
    assert _count(b, "SELECT count(*) FROM xc_shares") == 0

    # the genuine one is applied; its id reused for other content is a replay
    assert receive(row["envelope"], transport="test", uow_factory=b.container.uow,
                   fed=federation(b.container)).status == "applied"
    reuse = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=key, type_="record.shared",
                          payload={**env["payload"], "record_type": "incident"}, now=clock.now(), msg_id=env["id"])
    reuse["payload"]["record"] = {**env["payload"]["record"], "EIDOVersion": "1.0", "reasonForIssueRegistryText": "X"}
    reuse["sig"] = envelope.b64u(key.sign(envelope.signing_input(reuse)))
    _refused(b, reuse, "replay")
    assert _count(b, "SELECT count(*) FROM xc_shares") == 1


def test_fields_outside_the_receivers_agreement_are_stripped_on_arrival(ab: tuple[Deployment, Deployment],
                                                                         clock: StepClock) -> None:
    a, b = ab
    aid = peer_agreement(a, b, clock)
    key = federation(a.container).read_key(a.key_id)
    from jingwu.exchange.domain import incident_to_eido

    eido = incident_to_eido(INCIDENT, owner="sc/STA", sent_at="2026-12-01T02:00:00Z")  # every field, caller too
    env = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=key, type_="record.shared", now=clock.now(),
                        payload={"agreement_id": aid, "record_type": "incident", "record": eido})
    assert receive(json.dumps(env), transport="test", uow_factory=b.container.uow,
                   fed=federation(b.container)).status == "applied"
    with b.container.engine.connect() as conn:
        fields, stripped = conn.execute(text("SELECT fields, stripped FROM xc_shares")).one()
    assert "caller_phone" not in json.loads(fields) and "address" not in json.loads(fields)
    assert json.loads(stripped) == ["address", "caller_name", "caller_phone"]


def test_key_rotation_old_key_verifies_until_retired(ab: tuple[Deployment, Deployment], clock: StepClock) -> None:
    a, b = ab
    aid = peer_agreement(a, b, clock)
    old_key = federation(a.container).read_key(a.key_id)
    new = peer_services.generate_key(uow=a.container.uow(), fed=federation(a.container), rotate=True)
    outs = deliver(a, b)  # key.rotated, signed with the old key
    assert [o.status for o in outs] == ["applied"]
    _share(a, aid)
    [row] = outbox_envelopes(a)
    assert row["env"]["kid"] == new.key_id
    assert [o.status for o in deliver(a, b)] == ["applied"]
    # a message still in flight under the old key is accepted until b retires it
    late = envelope.seal(sender="sc", to="cq", key_id=a.key_id, key=old_key, type_="agreement.revoked",
                         payload={"agreement_id": aid, "reason": "x"}, now=clock.now())
    peer_services.retire_peer_key("sc", a.key_id, uow=b.container.uow())
    _refused(b, late, "bad_signature")
    # generate refuses when a key exists; the current key cannot be retired
    with pytest.raises(Exception, match="rotate"):
        peer_services.generate_key(uow=a.container.uow(), fed=federation(a.container))
    with pytest.raises(Exception, match="current"):
        peer_services.retire_key(new.key_id, uow=a.container.uow())


def test_webhook_transport_posts_the_same_envelope_to_the_app(tmp_path: Path, clock: StepClock) -> None:
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b, transport="webhook", url_b="http://cq.test/api/v1/exchange/inbox",
             url_a="http://sc.test/api/v1/exchange/inbox")

        def over_http(src: Deployment, dst: Deployment) -> None:
            relay = FederationRelay(src.xs, federation(src.container), src.container.uow, None)

            async def run() -> int:
                relay._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=dst.client.app),
                                                base_url="http://test")
                try:
                    return await relay.drain_once()
                finally:
                    await relay._http.aclose()
            assert asyncio.run(run()) >= 1
            assert outbox_envelopes(src) == []

        aid = peer_agreement(a, b, clock, move=over_http)
        _share(a, aid)
        over_http(a, b)
        rows = b.client.get("/api/v1/exchange/shares?direction=in", headers=h(b.client, "inv_b")).json()
        assert [r["fields"]["id"] for r in rows] == ["SC-2026-0001"]
        # the webhook refuses a tampered envelope with the refusal's code, applies nothing
        with a.container.engine.connect() as conn:
            raw = conn.execute(text("SELECT envelope FROM xc_outbox WHERE type='record.shared'")).scalar_one()
        tampered = raw.replace("交界处电动车被盗", "篡改")
        r = b.client.post("/api/v1/exchange/inbox", content=tampered, headers={"Content-Type": "application/json"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature"
        r = b.client.post("/api/v1/exchange/inbox", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
        assert _count(b, "SELECT count(*) FROM xc_shares") == 1
