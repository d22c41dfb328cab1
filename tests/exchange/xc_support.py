"""Exchange test support: commanders and investigators at both stations and the city, logins, an
agreement made and approved through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from jingwu.platform import services
from jingwu.platform.container import Container
from support import login

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
