"""Cases fixtures: the test organisation plus case staff (two investigators, a legal officer), the notifications
queued (read from the platform's outbox), and helpers to open cases through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.notify_store import NotificationRow, notifications
from jingwu.platform.notify_store import repo as notify_repo
from support import Org, login


@dataclass
class Staff:
    org: Org
    inv: dict[str, str]  # investigator at station A (assigned)
    inv2: dict[str, str]  # investigator at station A (not assigned)
    legal: dict[str, str]  # legal officer at the city bureau (supervisor)
    inv_b: dict[str, str]  # investigator at station B (out of scope for A's cases)
    admin: dict[str, str]


def sent(c: Container) -> list[NotificationRow]:
    """The notifications the cases feature queued (whatever their delivery status since), read back from
    the platform's notification outbox."""
    with c.uow() as uow:
        ids = uow.session.execute(select(notifications.c.id).order_by(notifications.c.created_at)).scalars().all()
        rows = [notify_repo(uow).get(i) for i in ids]
    return [r for r in rows if r is not None]


@pytest.fixture
def staff(container: Container, org: Org, client: TestClient) -> Staff:
    for name, agency, roles in (("inv", "STA", ("investigator",)), ("inv2", "STA", ("investigator",)),
                                ("legal", "CITY", ("legal_officer",)), ("inv_b", "STB", ("investigator",))):
        services.create_user(services.CreateUser(name, name, f"pw-{name}-123", agency, roles),
                             uow=container.uow(), actor=None)
    h = {n: login(client, n, f"pw-{n}-123") for n in ("inv", "inv2", "legal", "inv_b")}
    return Staff(org, h["inv"], h["inv2"], h["legal"], h["inv_b"], login(client, "admin", org.passwords["admin"]))


def open_case(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, str]:
    body.setdefault("track", "criminal")
    body.setdefault("title", "盗窃案")
    r = client.post("/api/v1/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def move(client: TestClient, headers: dict[str, str], cid: str, to: str, reason: str = "依法", **kw: Any) -> Any:
    return client.post(f"/api/v1/cases/{cid}/transitions", json={"to": to, "reason": reason, **kw}, headers=headers)
