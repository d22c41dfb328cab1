"""Exchange test support: commanders and investigators at both stations and the city, logins, an
agreement made and approved through the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from jingwu.app import create_app
from jingwu.exchange.services import peers as peer_services
from jingwu.exchange.settings import ExchangeSettings
from jingwu.exchange.store import repo
from jingwu.exchange.wiring import federation
from jingwu.platform import services
from jingwu.platform.container import Container, build_container
from jingwu.platform.db import upgrade
from jingwu.platform.settings import Settings
from support import StepClock, build_org, login, make_settings

PW = "pw-exchange-123"
USERS = {"cmd_a": ("STA", ("commander",)), "cmd_b": ("STB", ("commander",)), "inv_a": ("STA", ("investigator",)),
         "inv_b": ("STB", ("investigator",)), "cmd_br": ("BR1", ("commander",)), "legal": ("CITY", ("legal_officer",))}


def add_users(c: Container) -> None:
    for name, (agency, roles) in USERS.items():
        services.create_user(services.CreateUser(name, name, PW, agency, roles), uow=c.uow(), actor=None)


def h(client: TestClient, user: str) -> dict[str, str]:
    return login(client, user, PW)


INCIDENT_TERMS = {"incident": ["id", "type_code", "type_name", "priority", "lon", "lat", "reported_at", "summary"],
                  "cooperation_request": ["kind", "title", "details", "deadline"]}


def window(now: datetime, days: int = 30) -> dict[str, str]:
    return {"valid_from": (now - timedelta(hours=1)).isoformat(), "valid_to": (now + timedelta(days=days)).isoformat()}


# ------------------------------------------------------------------ two deployments





@dataclass
class Deployment:
    name: str
    settings: Settings
    xs: ExchangeSettings
    container: Container
    client: TestClient
    key_id: str
    public_key: str


@contextmanager
def deployment(tmp: Path, name: str, *, clock: StepClock, database_url: str | None = None,
               **xs_fields: Any) -> Iterator[Deployment]:
    """A deployment of its own: data dir, database, organisation, users, signing key, API client (the
    federation relay is not run inside it: tests run it as a process, or drive it directly)."""
    xs = ExchangeSettings(deployment_id=name, key_dir=tmp / name / "keys", relay=False, timer_interval_s=0,
                          **xs_fields)
    settings = make_settings(tmp / name, "sqlite", database_url=database_url).with_sections(xs)
    c = build_container(settings, clock=clock)
    upgrade(c.engine)
    build_org(c)
    add_users(c)
    k = peer_services.generate_key(uow=c.uow(), fed=federation(c))
    app = create_app(settings, c)
    with TestClient(app) as tc:
        yield Deployment(name, settings, xs, c, tc, k.key_id, k.public_key)
    c.engine.dispose()


def pair(a: Deployment, b: Deployment, *, transport: str = "nats", url_b: str | None = None,
         url_a: str | None = None) -> None:
    """Each deployment learns the other's id and public key."""
    peer_services.add_peer(b.name, f"deployment {b.name}", transport=transport, url=url_b, key_id=b.key_id,
                           public_key=b.public_key, uow=a.container.uow())
    peer_services.add_peer(a.name, f"deployment {a.name}", transport=transport, url=url_a, key_id=a.key_id,
                           public_key=a.public_key, uow=b.container.uow())


def outbox_envelopes(d: Deployment, *, unsent_only: bool = True) -> list[dict[str, Any]]:
    import json as _json

    with d.container.uow() as uow:
        rows = repo(uow).pending(10_000) if unsent_only else []
    return [{**r, "env": _json.loads(r["envelope"])} for r in rows]


def deliver(src: Deployment, dst: Deployment) -> list[Any]:
    """Hand every unsent envelope of ``src`` to ``dst`` directly (the transport's part) and mark it sent."""
    from datetime import UTC
    from datetime import datetime as _dt

    from jingwu.exchange.services.inbound import receive

    outs = []
    for row in outbox_envelopes(src):
        outs.append(receive(row["envelope"], transport="test", uow_factory=dst.container.uow,
                            fed=federation(dst.container)))
        with src.container.uow() as uow:
            repo(uow).mark_sent([row["seq"]], _dt.now(UTC))
            uow.commit()
    return outs


def peer_agreement(a: Deployment, b: Deployment, clock: StepClock, *, outgoing: dict[str, list[str]] | None = None,
                   incoming: dict[str, list[str]] | None = None, move: Any = None) -> str:
    """An agreement STA@a ↔ STB@b proposed by a, approved by b, active on both sides. ``move`` carries
    the messages (default: ``deliver``)."""
    move = move or deliver
    r = a.client.post("/api/v1/exchange/agreements", headers=h(a.client, "cmd_a"), json={
        "agency_code": "STA", "peer_id": b.name, "peer_agency_code": "STB", "peer_agency_name": "乙派出所",
        "outgoing": outgoing if outgoing is not None else INCIDENT_TERMS,
        "incoming": incoming if incoming is not None else {"cooperation_request": ["kind", "title", "details",
                                                                                    "deadline"]},
        "purpose": "川渝交界区域警情通报与协作请求", **window(clock.now())})
    assert r.status_code == 201, r.text
    aid = str(r.json()["id"])
    move(a, b)
    r = b.client.post(f"/api/v1/exchange/agreements/{aid}/approve", headers=h(b.client, "cmd_b"))
    assert r.status_code == 200 and r.json()["state"] == "active", r.text
    move(b, a)
    got = a.client.get(f"/api/v1/exchange/agreements/{aid}", headers=h(a.client, "cmd_a")).json()
    assert got["state"] == "active", got
    return aid
