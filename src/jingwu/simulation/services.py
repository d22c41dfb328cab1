"""Running a simulation on the deployment: its road graphs (every travel mode), its stations as the units'
posts (or a posts file), the generated or a replayed call stream.

Posts: with ``use_roster``, the deployment's active police units at their home positions in their own travel
modes; with ``posts`` given, unit k is at row k mod n of the list; otherwise at the deployment's active
police stations (``kind = station`` with coordinates) in turn; with none, at ``units`` network nodes spread by
farthest-point sampling from the node nearest the network's centre (deterministic).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from jingwu.platform.container import Container
from jingwu.platform.domain import travel_mode_of
from jingwu.platform.errors import InvalidInput
from jingwu.routing.api import ROAD_GRAPH, ROAD_GRAPHS
from jingwu.routing.graph import RoadGraph
from jingwu.simulation import engine, generator
from jingwu.simulation.domain import SimParams
from jingwu.simulation.engine import Progress


def read_posts_csv(path: Path) -> list[tuple[float, float]]:
    """Posts from a CSV with columns ``lon,lat`` (other columns ignored); checked whole."""
    out: list[tuple[float, float]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not {"lon", "lat"} <= set(reader.fieldnames or ()):
                raise InvalidInput(f"{path.name}: needs columns lon,lat", code="invalid_posts")
            for line, r in enumerate(reader, start=2):
                try:
                    lon, lat = float(r["lon"]), float(r["lat"])
                except (TypeError, ValueError):
                    raise InvalidInput(f"{path.name} line {line}: lon/lat must be numbers", code="invalid_posts") \
                        from None
                if not (-180 <= lon <= 180 and -90 <= lat <= 90 and math.isfinite(lon) and math.isfinite(lat)):
                    raise InvalidInput(f"{path.name} line {line}: lon/lat out of range", code="invalid_posts")
                out.append((lon, lat))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="invalid_posts") from None
    if not out:
        raise InvalidInput(f"{path.name}: no posts", code="invalid_posts")
    return out


def spread_posts(g: RoadGraph, n: int) -> list[tuple[float, float]]:
    """``n`` network nodes spread by farthest-point sampling, starting at the node nearest the centre."""
    lat0 = float(np.mean(g.node_lat))
    xy = np.column_stack([g.node_lon * math.cos(math.radians(lat0)), g.node_lat])
    first = int(np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1)))
    chosen = [first]
    d = ((xy - xy[first]) ** 2).sum(axis=1)
    while len(chosen) < min(n, g.n_nodes):
        k = int(np.argmax(d))
        chosen.append(k)
        d = np.minimum(d, ((xy - xy[k]) ** 2).sum(axis=1))
    return [(float(g.node_lon[k]), float(g.node_lat[k])) for k in chosen]


def deployment_posts(c: Container, units: int) -> tuple[list[tuple[float, float]], str]:
    """One post per unit and where they came from (``stations`` or ``spread``)."""
    with c.uow() as uow:
        stations = [a for a in uow.agencies.in_subtree("/", kind="station")
                    if a.active and a.lon is not None and a.lat is not None]
    if stations:
        pts = [(float(a.lon), float(a.lat)) for a in stations]  # type: ignore[arg-type]
        return [pts[k % len(pts)] for k in range(units)], "stations"
    base = spread_posts(c.get(ROAD_GRAPH), units)
    return [base[k % len(base)] for k in range(units)], "spread"


def roster(c: Container) -> list[tuple[float, float, str]]:
    """The deployment's active police units (not fire engines) with a home position: (lon, lat, travel mode),
    the mode being the unit's own or its kind's (``travel_mode_of``)."""
    with c.uow() as uow:
        units = uow.units.in_subtree("/")
    out = [(float(u.home_lon), float(u.home_lat), travel_mode_of(u.kind, u.travel_mode).value)
           for u in units if u.active and u.kind != "fire_engine" and u.home_lon is not None
           and u.home_lat is not None]
    if not out:
        raise InvalidInput("the deployment has no active unit with a home position: give --units instead",
                           code="no_units")
    return out


def simulate_deployment(c: Container, p: SimParams, *, calls_csv: Path | None = None,
                        posts_csv: Path | None = None, use_roster: bool = False,
                        progress: Progress | None = None) -> dict[str, Any]:
    """Check the inputs, then run every policy of ``p`` on the deployment's network (see the module doc). With
    ``use_roster`` the units are the deployment's own (their number, home positions and travel modes)."""
    p.check()
    if use_roster:
        units = roster(c)
        p = p.with_(units=len(units), modes=tuple(m for _, _, m in units)).check()
    tz = ZoneInfo(c.settings.timezone)
    stream = generator.read_calls_csv(calls_csv, p, tz) if calls_csv is not None else None
    if use_roster:
        posts, source = [(x, y) for x, y, _ in units], "roster"
    elif posts_csv is not None:
        listed = read_posts_csv(posts_csv)
        posts, source = [listed[k % len(listed)] for k in range(p.units)], "file"
    else:
        posts, source = deployment_posts(c, p.units)
    graphs = c.get(ROAD_GRAPHS)
    by_mode = {m: graphs.graph(m) for m in dict.fromkeys(p.unit_modes())}
    car = c.get(ROAD_GRAPH)
    if stream is None:
        stream = generator.generate(p, car.node_lon, car.node_lat)
    out = engine.run(by_mode, posts, p, stream, progress)
    out["posts_source"] = source
    out["calls_source"] = calls_csv.name if calls_csv is not None else "generated"
    out["timezone"] = str(tz)
    return out
