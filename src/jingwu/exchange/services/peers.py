"""Keys and peers of this deployment: generating and rotating its Ed25519 signing key (the private half in
a file, 0600; the public half recorded), retiring a key, adding a peer with its public key, adding and
retiring a peer's keys. A rotation tells every active peer the new key in a message signed with the old one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import check_peer_id
from jingwu.exchange.services.common import SYSTEM_ACTOR, Federation, send
from jingwu.exchange.store import repo
from jingwu.platform.errors import Conflict, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    public_key: str
    path: str


def _new_key_id(fed: Federation, uow: SqlUnitOfWork) -> str:
    me = fed.require()
    stamp = uow.clock.now().strftime("%Y%m%dT%H%M%S")
    n = len(repo(uow).own_keys()) + 1
    return f"{me}-{stamp}-{n}"


def generate_key(*, uow: SqlUnitOfWork, fed: Federation, rotate: bool = False) -> KeyInfo:
    """A new signing key. ``generate`` refuses when a usable key exists; ``rotate`` requires one and tells
    the peers (signed with the old key, which keeps verifying at the peers until it is retired)."""
    with uow:
        r = repo(uow)
        usable = [k for k in r.own_keys() if k["retired_at"] is None]
        if usable and not rotate:
            raise Conflict(f"a signing key exists ({usable[-1]['key_id']}); use `jingwu exchange keys rotate`",
                           code="key_exists")
        if rotate and not usable:
            raise Conflict("no signing key to rotate; use `jingwu exchange keys generate`", code="no_key")
        key_id = _new_key_id(fed, uow)
        key = envelope.new_private_key()
        pub = envelope.public_key_text(key)
        now = uow.clock.now()
        if rotate:  # announced with the old key, before the new one becomes current
            for p in r.peers():
                if p["active"]:
                    send(uow, fed, peer_id=p["id"], type_="key.rotated", now=now,
                         payload={"key_id": key_id, "public_key": pub})
        r.add_own_key(key_id, pub, now)
        uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.key_rotated" if rotate else "exchange.key_generated",
                        object_type="xc_key", object_id=key_id, detail={"public_key": pub})
        path = fed.write_key(key_id, envelope.private_key_bytes(key))
        uow.commit()
    return KeyInfo(key_id, pub, str(path))


def retire_key(key_id: str, *, uow: SqlUnitOfWork) -> None:
    with uow:
        r = repo(uow)
        usable = [k["key_id"] for k in r.own_keys() if k["retired_at"] is None]
        if key_id not in usable:
            raise NotFound(f"no usable key {key_id!r}", code="key_not_found")
        if usable[-1] == key_id:
            raise Conflict("the current signing key cannot be retired; rotate first", code="key_current")
        r.retire_own_key(key_id, uow.clock.now())
        uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.key_retired", object_type="xc_key", object_id=key_id)
        uow.commit()


def list_keys(*, uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        return repo(uow).own_keys()


def add_peer(peer_id: str, name: str, *, transport: str, url: str | None, key_id: str, public_key: str,
             uow: SqlUnitOfWork) -> None:
    check_peer_id(peer_id)
    if transport not in ("nats", "webhook"):
        raise InvalidInput("transport is nats or webhook", code="invalid_transport")
    if transport == "webhook" and not (url or "").startswith(("http://", "https://")):
        raise InvalidInput("a webhook peer needs its inbox URL (https://.../api/v1/exchange/inbox)",
                           code="invalid_url")
    if not key_id.strip():
        raise InvalidInput("a peer needs its key id", code="invalid_key")
    try:
        envelope.check_public_key(public_key)
    except Exception as exc:
        raise InvalidInput(f"public key: {exc}", code="invalid_public_key") from exc
    with uow:
        r = repo(uow)
        if r.peer(peer_id) is not None:
            raise Conflict(f"peer {peer_id!r} exists", code="peer_exists")
        now = uow.clock.now()
        r.add_peer(id=peer_id, name=name or peer_id, transport=transport, url=url, at=now)
        r.add_peer_key(peer_id, key_id.strip(), public_key, now)
        uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.peer_added", object_type="xc_peer", object_id=peer_id,
                        detail={"transport": transport, "url": url, "key_id": key_id})
        uow.commit()


def add_peer_key(peer_id: str, key_id: str, public_key: str, *, uow: SqlUnitOfWork) -> bool:
    envelope.check_public_key(public_key)
    with uow:
        r = repo(uow)
        if r.peer(peer_id) is None:
            raise NotFound(f"peer {peer_id!r} is not configured", code="unknown_peer")
        existing = r.peer_key_text(peer_id, key_id)
        if existing is not None and existing != public_key:
            raise Conflict(f"peer {peer_id} already has a different key {key_id}", code="key_conflict")
        added = r.add_peer_key(peer_id, key_id, public_key, uow.clock.now())
        if added:
            uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.peer_key_added", object_type="xc_peer",
                            object_id=peer_id, detail={"key_id": key_id})
        uow.commit()
    return added


def retire_peer_key(peer_id: str, key_id: str, *, uow: SqlUnitOfWork) -> None:
    with uow:
        if not repo(uow).retire_peer_key(peer_id, key_id, uow.clock.now()):
            raise NotFound(f"peer {peer_id!r} has no usable key {key_id!r}", code="key_not_found")
        uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.peer_key_retired", object_type="xc_peer",
                        object_id=peer_id, detail={"key_id": key_id})
        uow.commit()


def list_peers(*, uow: SqlUnitOfWork) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with uow:
        r = repo(uow)
        return r.peers(), r.all_peer_keys()
