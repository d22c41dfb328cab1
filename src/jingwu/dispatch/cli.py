"""``jingwu calls import FILE --mapping MAP.yaml``: historical calls from a CAD export (CSV or Parquet) with a
progress bar, a report of rejected rows with reasons, ``--dry-run`` and ``--strict``."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.platform.cli import migrated_container
from jingwu.platform.errors import AppError

err = Console(stderr=True)
out = Console()


def calls_import_cmd(
    file: Annotated[Path, typer.Argument(help="CAD export: .csv or .parquet", exists=True, dir_okay=False)],
    mapping: Annotated[Path, typer.Option("--mapping", help="column mapping, .yaml or .json", exists=True,
                                          dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count; store nothing")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="store nothing if any row is rejected")] = False,
    agency: Annotated[str | None, typer.Option("--agency", help="code of the agency that received the calls "
                                               "(calls no station serves belong to it or its city bureau); "
                                               "default: the root agency")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write rejected rows (CSV) here")] = None,
) -> None:
    """Import historical calls (closed incidents with their received, dispatched, arrived and cleared times);
    rejected rows are reported with reasons; re-running imports nothing twice."""
    from jingwu.dispatch.services import calls_import
    from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo

    c = migrated_container()
    t0 = time.perf_counter()
    try:
        types = catalogue(c).types
        m = calls_import.load_mapping(mapping, types)
        with Progress(TextColumn("[bold blue]calls import"), TextColumn("{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("read", total=None)

            def step(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total or None)

            rep = calls_import.import_calls(file, m, uow=dispatch_uow(c), geo=geo(c), types=types,
                                            agency_code=agency, strict=strict, dry_run=dry_run, progress=step)
    except AppError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)  # plain: messages may hold [brackets]
        raise typer.Exit(2)
    finally:
        c.dispose()
    secs = time.perf_counter() - t0
    if rep.rejected:
        t = Table(title=f"rejected rows: {len(rep.rejected)} of {rep.rows}")
        for col in ("row", "event number", "reason"):
            t.add_column(col)
        for r in rep.rejected[:20]:
            t.add_row(str(r.row), escape(r.id), escape(r.reason))
        err.print(t)
        if report is not None:
            with report.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["row", "event_number", "reason"])
                w.writerows([(r.row, r.id, r.reason) for r in rep.rejected])
    if strict and rep.rejected:
        err.print("[bold red]nothing stored[/] (--strict and rows were rejected)")
        raise typer.Exit(1)
    k = rep.counts()
    verb = "would store" if dry_run else "stored"
    out.print(f"{rep.file}: {k['rows']} rows, {verb} {k['stored']}, {k['already_imported']} already imported, "
              f"{k['rejected']} rejected; located {k['located']}, unlocated {k['unlocated']}, outside the area "
              f"{k['outside_area']}; officer-initiated {k['officer_initiated']}; DST-adjusted times "
              f"{k['dst_ambiguous']} ambiguous, {k['dst_nonexistent']} non-existent (earlier offset taken); "
              f"{secs:.2f} s, {k['rows'] / secs if secs > 0 else 0:.0f} rows/s"
              + (" (dry run: nothing stored)" if dry_run else ""), highlight=False, soft_wrap=True)


def write_broker_passwd(c: Any, out: Path, pid_file: Path | None = None, extra: Path | None = None) -> int:
    """The broker's password file (ADR 0025): the app's account (JINGWU_MQTT_USERNAME / its password) and one
    account per active alarm device (user = device code, password = its MQTT secret), hashed by
    ``mosquitto_passwd -U`` and swapped in atomically; then SIGHUP to the broker in ``pid_file`` (it rereads
    the file). ``extra``: further ``user:password`` lines (e.g. the ``jingwu-avl`` position gateway).
    Returns the number of device accounts."""
    import os
    import shutil
    import signal
    import subprocess

    from jingwu.dispatch.settings import DispatchSettings
    from jingwu.dispatch.wiring import dispatch_uow

    s = c.settings.section(DispatchSettings)
    uow = dispatch_uow(c)
    with uow:
        devs = [d for d in uow.devices.all("/") if d.active]
    lines = []
    if s.mqtt_username and s.mqtt_secret():
        lines.append(f"{s.mqtt_username}:{s.mqtt_secret()}")
    lines += [f"{d.code}:{d.key_hash}" for d in devs if d.code.replace("-", "").replace("_", "").replace(".", "")
              .isalnum()]  # codes are [A-Za-z0-9_.-]: nothing that could break a line of the file
    if extra is not None:
        lines += [ln.strip() for ln in extra.read_text(encoding="utf-8").splitlines()
                  if ln.strip() and not ln.startswith("#") and ":" in ln]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([tool, "-U", str(tmp)], check=True, capture_output=True)  # noqa: S603 - fixed tool, our file
    os.replace(tmp, out)
    if pid_file is not None and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
        except (ValueError, ProcessLookupError):
            pass
    return len(devs)


def mqtt_passwd_cmd(
    out: Annotated[Path, typer.Option("--out", help="password file the broker reads")] = Path("var/mosquitto/passwd"),
    pid_file: Annotated[Path | None, typer.Option("--pid-file", help="broker pid file: SIGHUP it to reload")]
    = Path("var/mosquitto/mosquitto.pid"),
    extra: Annotated[Path | None, typer.Option("--extra", help="more user:password lines (e.g. jingwu-avl)",
                                               exists=True, dir_okay=False)] = None,
) -> None:
    """Write the broker's password file from the registered alarm devices and the app's account, and tell the
    broker to reload it (run after registering or deactivating devices)."""
    c = migrated_container()
    n = write_broker_passwd(c, out, pid_file, extra)
    out_ = f"{out}: the app's account and {n} device accounts"
    Console().print(out_)
