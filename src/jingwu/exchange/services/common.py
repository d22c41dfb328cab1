"""What every exchange use case shares: who this deployment is and how it signs (``Federation``), the
permission checks, audit helpers, and ``send``: a signed envelope written to the federation outbox in
the caller's transaction."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import Agreement
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError, Conflict, Forbidden, NotFound
from jingwu.platform.uow import SqlUnitOfWork

SYSTEM_ACTOR = "system:exchange"


class FederationOff(AppError):
    code = "federation_not_configured"
    status = 409


@dataclass(frozen=True)
class Federation:
    """This deployment among its peers: its id (None: federation off), its key directory, the replay window."""

    me: str | None
    key_dir: Path
    max_age: timedelta = timedelta(hours=72)
    max_skew: timedelta = timedelta(minutes=5)

    def require(self) -> str:
        if not self.me:
            raise FederationOff("this deployment has no exchange deployment id (JINGWU_EXCHANGE_DEPLOYMENT_ID)")
        return self.me

    def key_file(self, key_id: str) -> Path:
        return self.key_dir / f"{key_id}.key"

    def write_key(self, key_id: str, raw: bytes) -> Path:
        self.key_dir.mkdir(parents=True, exist_ok=True)
        path = self.key_file(key_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(envelope.b64u(raw) + "\n")
        return path

    def read_key(self, key_id: str) -> Any:
        path = self.key_file(key_id)
        if not path.is_file():
            raise FederationOff(f"private key file {path} is missing (run `jingwu exchange keys generate`)")
        return envelope.load_private(envelope.unb64u(path.read_text().strip()))


def actor_of(p: Principal) -> str:
    return f"user:{p.username}"


def require_any(p: Principal, perms: Iterable[Permission], path: str | None = None) -> None:
    perms = list(perms)
    if not any(p.can(x) for x in perms):
        raise Forbidden(f"Your roles allow none of {', '.join(x.value for x in perms)}.", code="missing_role")
    if path is not None and not p.in_scope(path):
        raise Forbidden("This object belongs to an agency outside your scope.", code="out_of_scope")


def agreement_or_404(uow: SqlUnitOfWork, agreement_id: str, *, lock: bool = False) -> Agreement:
    a = repo(uow).agreement(agreement_id, lock=lock)
    if a is None:
        raise NotFound(f"agreement {agreement_id} does not exist", code="agreement_not_found")
    return a


def current_key(uow: SqlUnitOfWork) -> str:
    keys = [k for k in repo(uow).own_keys() if k["retired_at"] is None]
    if not keys:
        raise FederationOff("this deployment has no signing key (run `jingwu exchange keys generate`)")
    return str(keys[-1]["key_id"])


def send(uow: SqlUnitOfWork, fed: Federation, *, peer_id: str, type_: str, payload: dict[str, Any],
         now: datetime) -> str:
    """Sign and queue one message to a peer in the caller's transaction; returns its message id."""
    me = fed.require()
    r = repo(uow)
    peer = r.peer(peer_id)
    if peer is None or not peer["active"]:
        raise Conflict(f"peer {peer_id!r} is not configured or not active", code="unknown_peer")
    kid = current_key(uow)
    env = envelope.seal(sender=me, to=peer_id, key_id=kid, key=fed.read_key(kid), type_=type_, payload=payload,
                        now=now)
    r.queue(msg_id=env["id"], peer_id=peer_id, type_=type_, envelope=json.dumps(env, ensure_ascii=False), at=now)
    uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.message_queued", object_type="xc_message",
                    object_id=env["id"], detail={"peer": peer_id, "type": type_, "key_id": kid})
    return str(env["id"])


def agency_paths(uow: SqlUnitOfWork) -> dict[str, str]:
    return {a.id: a.path for a in uow.agencies.in_subtree("/")}


def parse_time(value: Any, what: str) -> datetime:
    from jingwu.platform.errors import InvalidInput

    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(f"{what} {value!r} is not an ISO 8601 time", code="invalid_time") from exc
    if t.tzinfo is None:
        raise InvalidInput(f"{what} needs a UTC offset", code="invalid_time")
    return t
