"""Routing CLI verbs (``jingwu route``, ``jingwu isochrone``, ``jingwu import osm``, ``jingwu geocode``)
as plain functions.

The main CLI (``jingwu.cli``) registers these with typer. Defaults come from
routing's settings section: the road network is ``osm_file``, compiled graphs live in
``graph_dir`` (default ``data_dir/graphs``). Every routing error is printed to stderr as
``error [code]: message`` and exits with status 2; nothing partial is cached.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from jingwu.routing.domain import Metric, RoutingError, parse_lonlat

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

_err = Console(stderr=True, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)


def _fail(exc: Exception, code: str | None = None) -> typer.Exit:
    code = code or getattr(exc, "code", "error")
    message = getattr(exc, "message", str(exc))
    _err.print(f"error [{code}]: {message}", markup=False, highlight=False)
    return typer.Exit(2)


def _load(osm: Path | None, progress: bool = False) -> RoadGraph:
    from jingwu.platform.settings import get_settings
    from jingwu.routing.graph import RoadGraph
    from jingwu.routing.settings import RoutingSettings, graph_cache_dir

    settings = get_settings()
    return RoadGraph.load_or_build(osm or settings.section(RoutingSettings).osm_file, graph_cache_dir(settings),
                                   progress=progress)


def route(
    from_: str = typer.Option(..., "--from", help="start as LON,LAT (WGS84)"),
    to: str = typer.Option(..., "--to", help="destination as LON,LAT (WGS84)"),
    metric: str = typer.Option("time", "--metric", help="time | distance"),
    json_: bool = typer.Option(False, "--json", help="print JSON with seconds, meters, geometry"),
    osm: Path | None = typer.Option(None, "--osm", help="road network file (default: JINGWU_OSM_FILE)"),
) -> None:
    """Drive from one point to another on the road network."""
    try:
        try:
            m = Metric(metric)
        except ValueError:
            raise _fail(ValueError(f"--metric must be time or distance, got {metric!r}"), "invalid_metric")
        a_lonlat = parse_lonlat(from_)
        b_lonlat = parse_lonlat(to)
        graph = _load(osm)
        a = graph.snap(*a_lonlat)
        b = graph.snap(*b_lonlat)
        r = graph.route(a, b, m)
    except RoutingError as exc:
        raise _fail(exc)
    except OSError as exc:
        raise _fail(exc, "io_error")
    if json_:
        payload = {"seconds": round(r.seconds, 3), "meters": round(r.meters, 3), "geometry": r.geometry}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    _out.print(
        f"{r.seconds / 60:.1f} min, {r.meters / 1000:.2f} km "
        f"({len(r.geometry['coordinates'])} points; start snapped {a.distance_m:.0f} m, "
        f"end snapped {b.distance_m:.0f} m)"
    )


def isochrone(
    at: str = typer.Option(..., "--at", help="centre as LON,LAT (WGS84)"),
    minutes: float = typer.Option(..., "--minutes", help="driving time budget in minutes"),
    osm: Path | None = typer.Option(None, "--osm", help="road network file (default: JINGWU_OSM_FILE)"),
) -> None:
    """Print the area reachable within N minutes as a GeoJSON Feature."""
    try:
        if not (0 <= minutes <= 24 * 60):
            raise _fail(ValueError(f"--minutes must be between 0 and 1440, got {minutes}"), "invalid_minutes")
        lonlat = parse_lonlat(at)
        graph = _load(osm)
        poly = graph.isochrone(graph.snap(*lonlat), minutes)
    except RoutingError as exc:
        raise _fail(exc)
    except OSError as exc:
        raise _fail(exc, "io_error")
    feature = {"type": "Feature", "properties": {"minutes": minutes, "at": list(lonlat)}, "geometry": poly}
    typer.echo(json.dumps(feature, ensure_ascii=False))


def import_osm(file: Path = typer.Argument(..., help="OpenStreetMap file (.osm or .osm.pbf)")) -> None:
    """Build (or confirm the cache of) the road graph and the gazetteer of an OSM file; report what was kept."""
    from jingwu.platform.settings import get_settings
    from jingwu.routing.graph import RoadGraph
    from jingwu.routing.settings import graph_cache_dir

    cache_dir = graph_cache_dir(get_settings())
    t0 = time.perf_counter()
    try:
        if not file.is_file():
            from jingwu.routing.domain import OsmCorrupt

            raise OsmCorrupt(f"OSM file not found: {file}")
        cached = RoadGraph.cache_path(file, cache_dir).exists()
        graph = RoadGraph.load_or_build(file, cache_dir, progress=True)
    except RoutingError as exc:
        raise _fail(exc)
    except OSError as exc:
        raise _fail(exc, "io_error")
    took = time.perf_counter() - t0
    state = "loaded from cache" if cached else "built and cached"
    _out.print(f"[bold]road graph {state}[/bold] in {took:.2f} s → {RoadGraph.cache_path(file, cache_dir)}")
    for line in graph.report.lines():
        _out.print("  " + line, markup=False)
    _build_gazetteer_step(file, cache_dir)


def _build_gazetteer_step(file: Path, cache_dir: Path) -> None:
    """The address gazetteer is built from the same file beside the graph (docs/methods/geocoding.md)."""
    from jingwu.routing.gazetteer import build_gazetteer

    t0 = time.perf_counter()
    try:
        path = build_gazetteer(file, cache_dir, progress=True)
    except RoutingError as exc:
        raise _fail(exc)
    except OSError as exc:
        raise _fail(exc, "io_error")
    _out.print(f"[bold]gazetteer ready[/bold] in {time.perf_counter() - t0:.2f} s → {path}")


def geocode(
    query: str = typer.Argument(..., help="address, street, intersection, place or POI"),
    json_: bool = typer.Option(False, "--json", help="print the results as JSON"),
    limit: int = typer.Option(5, "--limit", min=1, max=50, help="number of results"),
    osm: Path | None = typer.Option(None, "--osm", help="OSM file of the gazetteer (default: JINGWU_OSM_FILE)"),
) -> None:
    """Search addresses and places in the gazetteer built by `jingwu import osm`."""
    from jingwu.platform.settings import get_settings
    from jingwu.routing.gazetteer.search import Gazetteer
    from jingwu.routing.gazetteer.store import gazetteer_path, is_valid
    from jingwu.routing.settings import RoutingSettings, graph_cache_dir

    settings = get_settings()
    file = osm or settings.section(RoutingSettings).osm_file
    if not query.strip():
        raise _fail(ValueError("the query is empty"), "empty_query")
    try:
        if not Path(file).is_file():
            raise _fail(FileNotFoundError(f"OSM file not found: {file}"), "osm_corrupt")
        path = gazetteer_path(Path(file), graph_cache_dir(settings))
    except OSError as exc:
        raise _fail(exc, "io_error")
    if not path.exists() or not is_valid(path):
        raise _fail(FileNotFoundError(f"no gazetteer for {file}: run `jingwu import osm {file}` first"),
                    "no_gazetteer")
    gaz = Gazetteer(path)
    try:
        hits = gaz.search(query, limit=limit)
    finally:
        gaz.close()
    if json_:
        typer.echo(json.dumps({"query": query, "results": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    if not hits:
        _out.print("no match", markup=False)
        raise typer.Exit(1)
    for h in hits:
        extra = f"  ({h.note})" if h.note else ""
        _out.print(f"{h.confidence:.2f}  {h.kind:<12} {h.name}  {h.lon:.6f},{h.lat:.6f}{extra}", markup=False)
