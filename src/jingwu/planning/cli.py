"""``jingwu plan``: coverage (where to put K posts), hot spots by hour of week, event security rings.

Every input problem is printed as ``error [code]: message`` on stderr with exit status 2 before any
work starts (no road graph loaded, no solver run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jingwu.platform.errors import AppError
from jingwu.routing.domain import RoutingError

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _fail(exc: Exception) -> typer.Exit:
    code = getattr(exc, "code", "error")
    message = getattr(exc, "message", str(exc))
    err.print(f"error [{code}]: {message}", markup=False)
    return typer.Exit(2)


def _graph_loader(osm: Path | None, mode: str = "car") -> Any:
    def load() -> Any:
        from jingwu.platform.settings import get_settings
        from jingwu.routing.graph import RoadGraph
        from jingwu.routing.settings import RoutingSettings, graph_cache_dir

        settings = get_settings()
        return RoadGraph.load_or_build(osm or settings.section(RoutingSettings).osm_file, graph_cache_dir(settings),
                                       mode=mode)
    return load


def coverage_cmd(
    demand: Annotated[Path, typer.Option("--demand", help="demand CSV: id,weight,lon,lat")],
    sites: Annotated[Path, typer.Option("--sites", help="candidate sites CSV: id,lon,lat")],
    k: Annotated[int, typer.Option("--k", help="number of sites to choose")],
    within: Annotated[float, typer.Option("--within", help="coverage limit T, in the unit of the costs "
                                          "(road graph: seconds for --metric time, metres for distance)")],
    costs: Annotated[Path | None, typer.Option("--costs", help="long cost table CSV: site,demand,cost "
                                               "(default: travel costs on the road graph)")] = None,
    method: Annotated[str, typer.Option("--method", help="exact (MILP, HiGHS) | fast (greedy + interchange)")]
    = "exact",
    backup: Annotated[bool, typer.Option("--backup", help="maximise weight covered once plus weight covered "
                                         "twice (backup coverage)")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
    metric: Annotated[str, typer.Option("--metric", help="road-graph cost: time (s) | distance (m)")] = "time",
    snap_m: Annotated[float, typer.Option("--snap-m", help="largest distance from a point to its road (m)")]
    = 500.0,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="exact: stop after this many "
                                                     "seconds (the answer then says it is not proven)")] = None,
    osm: Annotated[Path | None, typer.Option("--osm", help="road network file (default: JINGWU_OSM_FILE)")] = None,
) -> None:
    """Choose K posts among candidate sites to maximise the demand reached within T (MCLP)."""
    from jingwu.planning.inputs import read_text
    from jingwu.planning.services.coverage import CoverageRequest, plan_coverage

    try:
        req = CoverageRequest(demand_csv=read_text(demand, "demand"), sites_csv=read_text(sites, "sites"),
                              costs_csv=read_text(costs, "costs") if costs else None, k=k, within=within,
                              method=method, backup=backup, metric=metric, snap_m=snap_m, time_limit=time_limit)
        answer = plan_coverage(req, graph=_graph_loader(osm))
    except (AppError, RoutingError) as exc:
        raise _fail(exc)
    if json_:
        typer.echo(json.dumps(answer, ensure_ascii=False))
        return
    state = "proven optimal" if answer["proven_optimal"] else (
        f"gap ≤ {answer['gap'] * 100:.3f} %" if answer["gap"] is not None else "gap unknown")
    out.print(f"{answer['method']}: {len(answer['chosen'])} of {answer['candidate_sites']} sites cover "
              f"{answer['covered_weight']:g} of {answer['total_weight']:g} ({answer['covered_share'] * 100:.2f} %) "
              f"within {answer['within']:g} ({answer['unit']}); {state}; {answer['seconds']:.3f} s", markup=False)
    if backup:
        out.print(f"covered twice: {answer['backup_weight']:g} ({answer['backup_share'] * 100:.2f} %)", markup=False)
    for s in answer["chosen"]:
        out.print(f"  {s['id']}: covers {s['covers_weight']:g} ({s['covers_points']} points)", markup=False)
