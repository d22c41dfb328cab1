"""``jingwu setup MANIFEST.yaml [--dry-run] [--strict]``: a deployment from files (docs/deploy.md).

Prints the plan (created / updated / unchanged counts, the rows that change, every rejected row with its
reason). Any rejection: exit 1 and nothing is applied. ``--dry-run``: the plan only, nothing changes.
The administrator's password comes from ``JINGWU_ADMIN_PASSWORD`` or a prompt (with confirmation), never
from the manifest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.platform.errors import AppError

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)
PASSWORD_ENV = "JINGWU_ADMIN_PASSWORD"  # noqa: S105 - the name of the variable


def _password() -> str:
    pw = os.environ.get(PASSWORD_ENV)
    if pw:
        return pw
    if not sys.stdin.isatty():
        from jingwu.platform.errors import InvalidInput

        raise InvalidInput(f"the administrator's password is needed: set {PASSWORD_ENV} (no terminal to ask on)",
                           code="missing_password")
    return str(typer.prompt("password for the administrator", hide_input=True, confirmation_prompt=True))


def setup(
    manifest: Annotated[Path, typer.Argument(help="the setup manifest (YAML; docs/deploy.md)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would change; change nothing")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="also refuse on notes (OSM offices left out, rows in "
                                                           "the database that the files do not name)")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also list the unchanged rows")] = False,
) -> None:
    """Set up (or update) a deployment from files: road network, agencies, stations, towns, units, time
    zone, first administrator. Idempotent; any rejected row aborts everything."""
    from jingwu.platform.cli import migrated_container
    from jingwu.setup.services import STEPS, run_setup

    c = migrated_container()
    try:
        with Progress(TextColumn("[bold blue]setup"), BarColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("reading the manifest", total=len(STEPS))
            following = dict(zip(STEPS, [*STEPS[1:], "done"], strict=True))
            nexts = {"road network": "building the road graph", "jurisdictions": "station jurisdictions by road"}

            def step(name: str) -> None:
                after = following.get(name, "")
                bar.update(task, advance=1, description=nexts.get(after, after))

            result = run_setup(manifest, c, dry_run=dry_run, strict=strict, password=_password, step=step)
    except AppError as exc:
        err.print(f"error [{exc.code}]: {exc.message}", markup=False)
        raise typer.Exit(1) from None
    finally:
        c.dispose()
    plan = result.plan
    for note in plan.notes:
        out.print(f"note: {note}", markup=False)
    table = Table(title="jingwu setup" + (" --dry-run (nothing changed)" if dry_run else ""))
    for col in ("", "created", "updated", "unchanged"):
        table.add_column(col, justify="right" if col else "left")
    for kind, row in plan.counts().items():
        table.add_row(kind, *(str(row[a]) for a in ("created", "updated", "unchanged")))
    table.add_row("rejected", str(len(plan.rejections)), "", "")
    out.print(table)
    for ch in plan.changes:
        if ch.action != "unchanged" or verbose:
            extra = f" ({', '.join(ch.fields)})" if ch.fields else ""
            out.print(f"  {ch.action:9} {ch.kind:6} {ch.key}{extra}  ← {ch.where}", markup=False)
    if plan.rejections:
        for r in plan.rejections:
            err.print(f"rejected: {r.line()}", markup=False)
        err.print(f"error [rejected_input]: {len(plan.rejections)} row(s) rejected; nothing was applied",
                  markup=False)
        raise typer.Exit(1)
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    if dry_run:
        out.print(f"dry run: nothing was changed ({timing})")
    else:
        out.print(f"applied ({timing}); served network: {result.network.path if result.network else '?'}",
                  markup=False)
