"""``jingwu index``: compute or backfill the Safety Index with a progress bar,
import incident files with a column mapping (report of rejected rows), run the
daily job once."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.platform.cli import migrated_container
from jingwu.platform.errors import AppError
from jingwu.platform.settings import get_settings

err = Console(stderr=True)
out = Console()


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[bold red]error:[/] --{name} must be a date YYYY-MM-DD, got {value!r}")
        raise typer.Exit(2)


def compute_cmd(
    from_: Annotated[str | None, typer.Option("--from", help="first day YYYY-MM-DD (default: earliest possible)")]
    = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="last day YYYY-MM-DD (default: the last day with data, at most yesterday)")] = None,
) -> None:
    """Compute (backfill) scores, ranks, warnings and tickets for a range of days."""
    from jingwu.safety_index.config import SafetyIndexSettings, load_method
    from jingwu.safety_index.services.compute import compute

    first, last = _day(from_, "from"), _day(to, "to")
    if first and last and first > last:
        err.print("[bold red]error:[/] --from is after --to")
        raise typer.Exit(2)
    c = migrated_container()
    si = get_settings().section(SafetyIndexSettings)
    try:
        with Progress(TextColumn("[bold blue]safety index"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("days"), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("compute", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            s = compute(first, last, uow_factory=c.uow, clock=c.clock, tz=ZoneInfo(c.settings.timezone),
                                 method=load_method(si.method_file), progress=step,
                                 ticket_recent_days=si.ticket_recent_days,
                                 ticket_deadline_days=si.ticket_deadline_days)
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2)
    finally:
        c.engine.dispose()
    for note in s.notes:
        err.print(f"note: {note}")
    out.print(f"computed {s.days} days x {s.towns} towns ({s.first} .. {s.last}); "
              f"{s.warnings} warning-days; {s.tickets_opened} tickets opened")


def import_cmd(
    file: Annotated[Path, typer.Argument(help="incidents: .csv, .parquet or .geojson", exists=True, dir_okay=False)],
    mapping: Annotated[Path, typer.Option("--mapping", help="column mapping, .yaml or .json", exists=True,
                                          dir_okay=False)],
    strict: Annotated[bool, typer.Option("--strict", help="store nothing if any row is rejected")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="write rejected rows (CSV) here")] = None,
) -> None:
    """Import incidents (assigned to towns by polygon); rejected rows are reported with reasons."""
    from jingwu.safety_index import importer
    from jingwu.safety_index.config import SafetyIndexSettings, load_method
    from jingwu.safety_index.services.compute import recompute_days
    from jingwu.safety_index.services.ingest import apply_changes

    c = migrated_container()
    tz = ZoneInfo(c.settings.timezone)
    si = get_settings().section(SafetyIndexSettings)
    try:
        m = importer.load_mapping(mapping)
        steps = ["read", "parse", "store", "recompute"]
        with Progress(TextColumn("[bold blue]import"), BarColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("read", total=len(steps))

            def step(name: str) -> None:
                bar.update(task, advance=1, description=name)

            rep = importer.import_file(file, m, uow_factory=c.uow, tz=tz, strict=strict, progress=step)
            if rep.stored:
                kw: dict[str, Any] = {"uow_factory": c.uow, "clock": c.clock, "tz": tz,
                                      "method": load_method(si.method_file),
                                      "ticket_recent_days": si.ticket_recent_days,
                                      "ticket_deadline_days": si.ticket_deadline_days}
                # small late batches: add to the stored window sums; big imports: recompute from the facts
                s = (apply_changes(rep.changes, **kw) if rep.stored <= importer.BULK_ROWS
                     else recompute_days(rep.days, through_last_scored=bool(rep.changes.earlier_first), **kw))
                rep.recomputed_days = s.days
            step("done")
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2)
    finally:
        c.engine.dispose()
    if rep.rejected:
        t = Table(title=f"rejected rows: {len(rep.rejected)} of {rep.rows}")
        for col in ("row", "id", "reason"):
            t.add_column(col)
        for r in rep.rejected[:20]:
            t.add_row(str(r.row), r.id, r.reason)
        err.print(t)
        if report is not None:
            with report.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["row", "id", "reason"])
                w.writerows([(r.row, r.id, r.reason) for r in rep.rejected])
    if not rep.committed:
        err.print("[bold red]nothing stored[/] (--strict and rows were rejected)")
        raise typer.Exit(1)
    out.print(f"{rep.file}: {rep.rows} rows, {rep.stored} stored, {len(rep.rejected)} rejected; "
              f"{rep.recomputed_days} scored days recomputed")
    if rep.first_day is not None:
        out.print(f"covers {rep.first_day} .. {rep.last_day} (recorded; days after the data's last day are "
                  "not scored)")


def daily_cmd() -> None:
    """Run the daily job once now: every unscored day up to yesterday, then escalate overdue tickets."""
    from jingwu.safety_index import jobs

    c = migrated_container()
    try:
        s = jobs.run_daily(c)
    finally:
        c.engine.dispose()
    out.print(f"computed {s.days} days ({s.first} .. {s.last}); {s.tickets_opened} tickets opened")


def validate_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="the HTML report to write")] = Path("si-validation.html"),
    synthetic: Annotated[bool, typer.Option(
        "--synthetic/--no-synthetic", help="also measure v1 and v2 on a generated history with known truth")] = False,
    seed: Annotated[int, typer.Option(help="random seed of the injected surges")] = 1,
) -> None:
    """Check the method on this deployment's own history before publishing: warning rate by town and month,
    power on surges injected into the history, calibration chart; one HTML report (nothing is stored)."""
    from dataclasses import asdict

    from jingwu.safety_index import validate
    from jingwu.safety_index.config import SafetyIndexSettings, load_method
    from jingwu.safety_index.domain import Method
    from jingwu.safety_index.services.validation import validate_history

    c = migrated_container()
    si = get_settings().section(SafetyIndexSettings)
    try:
        m = load_method(si.method_file)
        with Progress(TextColumn("[bold blue]validate"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                      TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("validate", total=None)
            extra = 2 if synthetic else 0

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total + extra)

            check = validate_history(uow_factory=c.uow, method=m, seed=seed, progress=step)
            syn = []
            if synthetic:
                for i, v in enumerate(("v1", "v2")):
                    syn.append(asdict(validate.synthetic_check(Method(version=v))))
                    bar.update(task, completed=(bar.tasks[0].total or 0) - extra + i + 1)
        out_file.write_text(validate.report_html(check, syn), encoding="utf-8")
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot write {out_file}: {exc}")
        raise typer.Exit(2)
    finally:
        c.engine.dispose()
    o = check["overall"]
    pw = ", ".join(f"x{p['factor']:g} {p['power_in_week_pct']}%" for p in check["power"])
    out.print(f"method {check['method_version']}: {check['towns']} towns x {check['scored_days']} days; "
              f"warning town-days {o['either_pct']}% (surge {o['surge_7d_pct']}%, mom {o['mom_28d_pct']}%); "
              f"power in the surge week {pw}; report {out_file}")
