"""``jingwu exchange``: this deployment's signing keys (``keys generate|rotate|retire|list``), its peers
(``peers add|list|key-add|key-retire``), the federation relay and consumer as a process of its own (``run``),
one round of the timers (``tick``). Errors print a clear message and exit non-zero."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer
from rich.console import Console

from jingwu.platform.cli import fail, migrated_container
from jingwu.platform.errors import AppError

out = Console()


def keys_cmd(
    action: Annotated[str, typer.Argument(help="generate | rotate | retire | list")],
    key_id: Annotated[str | None, typer.Option("--key-id", help="the key to retire")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """This deployment's Ed25519 signing keys: generate the first, rotate (the old one verifies until retired)."""
    from jingwu.exchange.services import peers
    from jingwu.exchange.wiring import federation

    c = migrated_container()
    fed = federation(c)
    try:
        if action in ("generate", "rotate"):
            k = peers.generate_key(uow=c.uow(), fed=fed, rotate=action == "rotate")
            if as_json:
                out.print_json(json.dumps({"key_id": k.key_id, "public_key": k.public_key, "path": k.path}))
            else:
                out.print(f"key {k.key_id}\npublic key {k.public_key}\nprivate key file {k.path}")
        elif action == "retire":
            if not key_id:
                raise fail("--key-id is required")
            peers.retire_key(key_id, uow=c.uow())
            out.print(f"key {key_id} retired")
        elif action == "list":
            rows = peers.list_keys(uow=c.uow())
            if as_json:
                out.print_json(json.dumps([{**r, "created_at": str(r["created_at"]),
                                            "retired_at": str(r["retired_at"]) if r["retired_at"] else None}
                                           for r in rows]))
            else:
                for r in rows:
                    out.print(f"{r['key_id']}  {r['public_key']}  {'retired' if r['retired_at'] else 'usable'}")
        else:
            raise fail(f"unknown action {action!r}: generate, rotate, retire or list")
    except AppError as exc:
        raise fail(f"{exc.message} ({exc.code})") from exc
    finally:
        c.dispose()


def peers_cmd(
    action: Annotated[str, typer.Argument(help="add | list | key-add | key-retire")],
    peer_id: Annotated[str | None, typer.Argument(help="the peer deployment's id")] = None,
    name: Annotated[str | None, typer.Option(help="shown name")] = None,
    transport: Annotated[str, typer.Option(help="nats | webhook")] = "nats",
    url: Annotated[str | None, typer.Option(help="webhook: the peer's /api/v1/exchange/inbox URL")] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="the peer's key id")] = None,
    public_key: Annotated[str | None, typer.Option("--public-key", help="the peer's Ed25519 public key")] = None,
) -> None:
    """Peers (other deployments) and their public keys."""
    from jingwu.exchange.services import peers

    c = migrated_container()
    try:
        if action == "list":
            ps, ks = peers.list_peers(uow=c.uow())
            for p in ps:
                keys = ", ".join(f"{k['key_id']}{' (retired)' if k['retired_at'] else ''}"
                                 for k in ks if k["peer_id"] == p["id"])
                out.print(f"{p['id']}  {p['name']}  {p['transport']} {p['url'] or ''}  keys: {keys}")
            return
        if not peer_id:
            raise fail("the peer id is required")
        if action == "add":
            if not key_id or not public_key:
                raise fail("--key-id and --public-key are required")
            peers.add_peer(peer_id, name or peer_id, transport=transport, url=url, key_id=key_id,
                           public_key=public_key, uow=c.uow())
            out.print(f"peer {peer_id} added ({transport})")
        elif action == "key-add":
            if not key_id or not public_key:
                raise fail("--key-id and --public-key are required")
            added = peers.add_peer_key(peer_id, key_id, public_key, uow=c.uow())
            out.print(f"key {key_id} of {peer_id} {'added' if added else 'already known'}")
        elif action == "key-retire":
            if not key_id:
                raise fail("--key-id is required")
            peers.retire_peer_key(peer_id, key_id, uow=c.uow())
            out.print(f"key {key_id} of {peer_id} retired: messages signed with it are refused")
        else:
            raise fail(f"unknown action {action!r}: add, list, key-add or key-retire")
    except AppError as exc:
        raise fail(f"{exc.message} ({exc.code})") from exc
    finally:
        c.dispose()


def run_cmd() -> None:
    """Run the federation relay (outbox → peers) and consumer (this deployment's subject) until stopped."""
    from jingwu.exchange.jobs import make_relay
    from jingwu.exchange.settings import ExchangeSettings
    from jingwu.platform.logs import configure_logging

    c = migrated_container()
    configure_logging(c.settings.log_level, c.settings.log_json)
    xs = c.settings.section(ExchangeSettings)
    if not xs.deployment_id:
        c.dispose()
        raise fail("JINGWU_EXCHANGE_DEPLOYMENT_ID is not set")

    async def main() -> None:
        relay = make_relay(c)
        await relay.connect()
        relay.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await relay.stop()

    try:
        asyncio.run(main())
    finally:
        c.dispose()


def tick_cmd() -> None:
    """One round of the timers: request reminders and overdue marks, late 12-hour notices escalated."""
    from jingwu.exchange.jobs import tick

    c = migrated_container()
    try:
        counts = tick(c)
    finally:
        c.dispose()
    out.print(" ".join(f"{k}={v}" for k, v in counts.items()))
