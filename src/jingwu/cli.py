"""The ``jingwu`` command line (Typer), built from the registered features (``jingwu.features``): each
feature's command groups and commands, plus ``serve`` and ``demo``. Errors print a clear message and exit
non-zero.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.features import FEATURES
from jingwu.platform.cli import fail as _fail
from jingwu.platform.cli import migrated_container
from jingwu.platform.cli import upgrade_database as _upgrade
from jingwu.platform.feature import Feature
from jingwu.platform.settings import Settings, get_settings


def build_cli(features: Sequence[Feature] = FEATURES) -> typer.Typer:
    """The command line of these features: groups first (a group may be extended by a later feature,
    as the demo adds ``index generate``), then each command under its group or at the top."""
    root = typer.Typer(help="Jingwu (警务): open-source public-safety operations platform.", no_args_is_help=True,
                       pretty_exceptions_enable=False)
    groups: dict[str, typer.Typer] = {}
    for f in features:
        for g in f.cli_groups:
            if g.name in groups:
                raise RuntimeError(f"feature {f.name}: command group {g.name!r} is declared twice")
            groups[g.name] = typer.Typer(help=g.help, no_args_is_help=True)
            root.add_typer(groups[g.name], name=g.name)
    for f in features:
        for cmd in f.cli:
            if cmd.group is not None and cmd.group not in groups:
                raise RuntimeError(f"feature {f.name}: command {cmd.name!r} names unknown group {cmd.group!r}")
            target = root if cmd.group is None else groups[cmd.group]
            target.command(cmd.name, help=cmd.help)(cmd.callback)
    root.command()(serve)
    root.command()(demo)
    return root


err = Console(stderr=True)
out = Console()


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


def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the web app and API (default http://127.0.0.1:8000)."""
    s = get_settings().copy_with(**{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    _upgrade(s)
    _serve(s)


def demo(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load the demo city and exit")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="no generated calls or simulated units")] = False,
) -> None:
    """Load the Chengdu demo city if missing, print the demo logins, and serve."""
    from jingwu.demo import city as demo_city
    from jingwu.demo.history import generate_cmd
    from jingwu.demo.settings import DemoSettings

    os.environ.setdefault("JINGWU_DEMO_MODE", "1")
    get_settings.cache_clear()
    s = get_settings().copy_with(demo_mode=True, **{k: v for k, v in {"host": host, "port": port}.items() if v})
    s = s.with_sections(DemoSettings(demo_stream=not no_stream))
    c = migrated_container(s)
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
        generate_cmd(days=150, per_day=60, seed=1)
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


app = build_cli()


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover - `python -m jingwu.cli ...`
    main()
