"""``jingwu cases`` commands: the weekly interference report and a reminder run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from jingwu.platform.errors import AppError
from jingwu.platform.settings import get_settings


def interference_cmd(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W05 (default: last complete week)")] = None,
    agency_path: Annotated[str, typer.Option(help="agency subtree path")] = "/",
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Weekly report of the interference register (过问干预案件登记): who opened which case, when, why."""
    from jingwu.cases.services.oversight import interference_report
    from jingwu.platform.container import build_container

    c = build_container(get_settings())
    try:
        r = interference_report(None, c=c, week=week, agency_path=agency_path)
    except AppError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        c.dispose()
    if as_json:
        typer.echo(json.dumps(r, ensure_ascii=False, default=str, indent=1))
        return
    typer.echo(f"interference register, week {r['week']}: {len(r['entries'])} entries")
    for e in r["entries"]:
        typer.echo(f"{e['at'].isoformat()}  {e['username']:<16} {e['number']:<22} {e['action']:<10} {e['reason']}")
    for user, n in r["by_user"]:
        typer.echo(f"  {user}: {n}")


def remind_cmd() -> None:
    """Evaluate every open case's deadlines once and push due-soon / overdue reminders."""
    from jingwu.cases.services.oversight import run_reminders
    from jingwu.platform.container import build_container

    c = build_container(get_settings())
    try:
        r = run_reminders(c=c)
    finally:
        c.dispose()
    typer.echo(f"{r.cases} open cases, {r.reminders} reminders queued")
