"""The ``jingwu`` command line (Typer): serve, demo, db, import, audit, users,
route, isochrone. Errors print a clear message and exit non-zero.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.platform.settings import Settings, get_settings
from jingwu.routing import cli as routing_cli
from jingwu.safety_index.cli import index_app

app = typer.Typer(help="Jingwu (警务): open-source public-safety operations platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
import_app = typer.Typer(help="Import data.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log commands.", no_args_is_help=True)
users_app = typer.Typer(help="User administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(index_app, name="index")

app.command("route", help="Fastest (or shortest) road route between two points.")(routing_cli.route)
app.command("isochrone", help="Area reachable by road within N minutes, as GeoJSON.")(routing_cli.isochrone)
import_app.command("osm", help="Build the road graph from an OSM file (.osm or .osm.pbf).")(routing_cli.import_osm)

err = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _container(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from jingwu.platform.container import build_container

    return build_container(settings or get_settings())


def _upgrade(settings: Settings) -> None:
    from jingwu.platform.db import upgrade
    from jingwu.platform.store import make_engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    s = get_settings()
    try:
        _upgrade(s)
    except Exception as exc:  # connection refused, bad URL, ...
        raise _fail(f"migration failed: {exc}") from exc
    out.print(f"database at head: {s.db_url.split('@')[-1]}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 and name the first bad entry on any break."""
    from jingwu.platform import services

    c = _container()
    n, brk = services.verify_audit(uow=c.uow())
    if brk is not None:
        err.print(f"[bold red]audit chain BROKEN[/] at entry {brk.seq}: {brk.problem}")
        raise typer.Exit(1)
    out.print(f"audit chain intact: {n} entries")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="login name (a-z 0-9 _ . -)")],
    agency: Annotated[str, typer.Option(help="agency code, e.g. 510100-PSB")],
    role: Annotated[list[str], typer.Option(help="role (repeatable): " + ", ".join(
        ["call_taker", "dispatcher", "commander", "patrol_officer", "investigator", "legal_officer", "analyst",
         "auditor", "admin"]))],
    display_name: Annotated[str | None, typer.Option(help="shown name")] = None,
    password: Annotated[str | None, typer.Option(help="password; prompted when omitted",
                                                 envvar="JINGWU_NEW_PASSWORD")] = None,
) -> None:
    """Create a user with roles, scoped to an agency subtree."""
    from jingwu.platform import services
    from jingwu.platform.errors import AppError

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    c = _container()
    try:
        uid = services.create_user(services.CreateUser(username, display_name or username, password, agency,
                                                       tuple(role)), uow=c.uow(), actor=None)
    except AppError as exc:
        raise _fail(f"{exc.message} ({exc.code})") from exc
    out.print(f"user {username} created: {uid}")


def _serve(settings: Settings) -> None:
    import uvicorn

    from jingwu.app import InsecureConfiguration, create_app
    from jingwu.platform.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    try:
        application = create_app(settings)
    except InsecureConfiguration as exc:
        raise _fail(str(exc)) from exc
    uvicorn.run(application, host=settings.host, port=settings.port, log_config=None, access_log=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the web app and API (default http://127.0.0.1:8000)."""
    s = get_settings().model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    _upgrade(s)
    _serve(s)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load the demo city and exit")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="no generated calls or simulated units")] = False,
) -> None:
    """Load the Chengdu demo city if missing, print the demo logins, and serve."""
    from jingwu import demo as demo_city

    os.environ.setdefault("JINGWU_DEMO_MODE", "1")
    get_settings.cache_clear()
    s = get_settings().model_copy(update={"demo_mode": True, "demo_stream": not no_stream, **{k: v for k, v in
                                                                  {"host": host, "port": port}.items() if v}})
    _upgrade(s)
    c = _container(s)
    pw_file = s.data_dir / "demo-passwords.json"
    if not demo_city.demo_loaded(c):
        steps = ["graph", "agencies", "jurisdictions", "stations", "units", "users"]
        with Progress(TextColumn("[bold blue]demo city"), BarColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("road graph", total=len(steps))

            def step(name: str) -> None:
                bar.update(task, advance=1, description=name)

            passwords = demo_city.load_demo_city(c, progress=step)
        demo_city.save_passwords(pw_file, passwords)
        # A Safety Index needs 91 days of history: give the demo a labelled synthetic one.
        from jingwu.safety_index.cli import generate_cmd

        generate_cmd(days=150, per_day=60, seed=1)
    import json

    passwords = json.loads(pw_file.read_text(encoding="utf-8")) if pw_file.exists() else {}
    table = Table(title="Jingwu demo logins (演示账号)")
    table.add_column("username")
    table.add_column("password")
    for u, p in passwords.items():
        table.add_row(u, p)
    out.print(table)
    out.print(f"open http://{s.host}:{s.port}/  (passwords kept in {pw_file})")
    c.engine.dispose()
    if not no_serve:
        _serve(s)


def main() -> None:  # pragma: no cover
    sys.exit(app())
