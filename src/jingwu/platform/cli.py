"""The platform's commands: ``jingwu db upgrade``, ``jingwu audit verify`` and ``jingwu users create``.
Errors print a clear message and exit non-zero."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from jingwu.platform.container import Container
from jingwu.platform.domain import Role
from jingwu.platform.settings import Settings, get_settings

err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def upgrade_database(settings: Settings) -> None:
    from jingwu.platform.db import upgrade
    from jingwu.platform.engine import make_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def migrated_container(settings: Settings | None = None) -> Container:
    """The container of a command that works on the database: migrations applied first."""
    from jingwu.platform.container import build_container
    from jingwu.platform.db import upgrade

    c = build_container(settings or get_settings())
    upgrade(c.engine)
    return c


def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    s = get_settings()
    try:
        upgrade_database(s)
    except Exception as exc:  # connection refused, bad URL, ...
        raise fail(f"migration failed: {exc}") from exc
    out.print(f"database at head: {s.db_url.split('@')[-1]}")


def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 and name the first bad entry on any break."""
    from jingwu.platform import services
    from jingwu.platform.container import build_container

    s = get_settings()
    c = build_container(s)
    anchors = services.read_anchors(s)
    try:
        n, brk = services.verify_audit(uow=c.uow(), anchors=anchors)
    finally:
        c.dispose()
    if brk is not None:
        where = f"at entry {brk.seq}" if brk.seq else "in its anchors"
        err.print(f"[bold red]audit chain BROKEN[/] {where}: {brk.problem}")
        raise typer.Exit(1)
    if anchors is None:
        err.print("warning: no anchor key (audit-anchor.pub): only the chain itself was checked; "
                  "run `jingwu audit anchor` or start the server to create it")
        out.print(f"audit chain intact: {n} entries")
        return
    top = max((cp.seq for cp in anchors.checkpoints), default=0)
    out.print(f"audit chain intact: {n} entries, {len(anchors.checkpoints)} signed checkpoints "
              f"(last at entry {top})")


def audit_anchor() -> None:
    """Sign the audit chain's head now and append it to the anchor file (the server does this every minute)."""
    from jingwu.platform import services
    from jingwu.platform.container import build_container

    s = get_settings()
    c = build_container(s)
    try:
        cp = services.anchor_audit(uow=c.uow(), settings=s)
    finally:
        c.dispose()
    if cp is None:
        out.print("nothing to anchor: the head is already anchored (or the chain is empty)")
    else:
        out.print(f"checkpoint signed: entry {cp.seq} {cp.hash[:16]}… key {cp.key_id} → {s.anchor_file_path()}")


def users_create(
    username: Annotated[str, typer.Argument(help="login name (a-z 0-9 _ . -)")],
    agency: Annotated[str, typer.Option(help="agency code, e.g. 510100-PSB")],
    role: Annotated[list[str], typer.Option(help="role (repeatable): " + ", ".join(r.value for r in Role))],
    display_name: Annotated[str | None, typer.Option(help="shown name")] = None,
    password: Annotated[str | None, typer.Option(help="password; prompted when omitted",
                                                 envvar="JINGWU_NEW_PASSWORD")] = None,
) -> None:
    """Create a user with roles, scoped to an agency subtree."""
    from jingwu.platform import services
    from jingwu.platform.container import build_container
    from jingwu.platform.errors import AppError

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    c = build_container(get_settings())
    try:
        uid = services.create_user(services.CreateUser(username, display_name or username, password, agency,
                                                       tuple(role)), uow=c.uow(), actor=None)
    except AppError as exc:
        raise fail(f"{exc.message} ({exc.code})") from exc
    finally:
        c.dispose()
    out.print(f"user {username} created: {uid}")
