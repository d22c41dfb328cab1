"""``jingwu simulate``: a discrete-event simulation of dispatch on the deployment's road network, with a
progress bar, a summary table, an HTML report (``--out``) and the whole result as JSON (``--json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jingwu.platform.errors import AppError, InvalidInput
from jingwu.simulation.domain import DEFAULT_SERVICE, SimParams, parse_mix, parse_policies, parse_service, parse_shares
from jingwu.simulation.generator import CATEGORIES

err = Console(stderr=True)
out = Console()


def simulate_cmd(
    days: Annotated[int, typer.Option(help="simulated days")] = 7,
    calls_per_day: Annotated[float, typer.Option("--calls-per-day", help="mean calls a day (generated stream)")]
    = 1000.0,
    units: Annotated[int, typer.Option(help="units on the roster")] = 60,
    policy: Annotated[str, typer.Option(help="nearest, fastest, coverage, a comma list or all")] = "all",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same calls)")] = 1,
    target: Annotated[float, typer.Option(help="response target in seconds (also the coverage radius)")] = 300.0,
    tolerance: Annotated[float, typer.Option(help="coverage-aware rule: seconds within the fastest")] = 60.0,
    handling: Annotated[float, typer.Option(help="call handling before departure, seconds")] = 60.0,
    shifts: Annotated[str, typer.Option(help='share of units on duty by hour, e.g. "0-7:0.6,22-24:0.8"')] = "",
    mix: Annotated[str, typer.Option(help='travel-mode mix of the units, e.g. "car=3,foot=1"')] = "car=1",
    calls: Annotated[Path | None, typer.Option(help="replay historical calls: CSV received_at,lon,lat[,category]")]
    = None,
    posts: Annotated[Path | None, typer.Option(help="units' posts: CSV lon,lat (default: the stations)")] = None,
    service: Annotated[Path | None, typer.Option(
        help='on-scene times: JSON {"category": {"median_s": 1200, "sigma": 0.6}} (others: defaults)')] = None,
    use_roster: Annotated[bool, typer.Option("--roster", help="the deployment's own units (number, homes, modes) "
                                                              "instead of --units/--mix/--posts")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the HTML report here")] = None,
    lang: Annotated[str, typer.Option(help="report language first shown: zh-CN or en")] = "zh-CN",
    as_json: Annotated[bool, typer.Option("--json", help="print the whole result as JSON")] = False,
) -> None:
    """Simulate dispatch on the deployment's road network and compare policies (推演)."""
    try:
        svc = dict(DEFAULT_SERVICE)
        if service is not None:
            try:
                raw = json.loads(service.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInput(f"cannot read service times from {service}: {exc}", code="invalid_service") \
                    from None
            svc = parse_service(raw, CATEGORIES)
        p = SimParams(days=days, calls_per_day=calls_per_day, units=units, policies=parse_policies(policy), seed=seed,
                      target_s=target, tolerance_s=tolerance, handling_s=handling, shifts=parse_shares(shifts),
                      mix=parse_mix(mix), service=svc).check()
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message} ({exc.code})")
        raise typer.Exit(2)
    if out_file is not None and not out_file.parent.exists():
        err.print(f"[bold red]error:[/] the report's folder {out_file.parent} does not exist")
        raise typer.Exit(2)
    from jingwu.platform.cli import migrated_container
    from jingwu.simulation import report
    from jingwu.simulation.services import simulate_deployment

    c = migrated_container()
    try:
        with Progress(TextColumn("[bold blue]simulate"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                      console=err, disable=as_json and not sys.stderr.isatty()) as bar:
            task = bar.add_task("simulate", total=1.0)
            result = simulate_deployment(c, p, calls_csv=calls, posts_csv=posts, use_roster=use_roster,
                                         progress=lambda f: bar.update(task, completed=f))
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message} ({exc.code})")
        raise typer.Exit(2)
    finally:
        c.engine.dispose()
    if out_file is not None:
        out_file.write_text(report.render(result, lang=lang), encoding="utf-8")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    t = Table(title=f"{result['calls']} calls, {p.units} units, {result['params']['days']} days "
                    f"(posts: {result['posts_source']}, calls: {result['calls_source']})")
    t.add_column("")
    for r in result["results"]:
        t.add_column(r["policy"], justify="right")
    for label, key in (("mean response s", "response_mean_s"), ("median s", "response_median_s"),
                       ("p90 s", "response_p90_s"), (f"within {p.target_s:g} s", "within_target_share"),
                       ("mean travel s", "travel_mean_s"), ("mean queue wait s", "wait_mean_s"),
                       ("unreachable", "unreachable"), ("utilisation", "utilisation_mean"),
                       ("uncovered demand share", "uncovered_mean_share"), ("run time s", "seconds")):
        t.add_row(label, *[str(r[key]) for r in result["results"]])
    out.print(t)
    if out_file is not None:
        out.print(f"report: {out_file}")
