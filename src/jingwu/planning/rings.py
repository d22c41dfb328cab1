"""Event security rings: for a venue and a crowd size, the three rings used in Chinese large-event
security (from the outside in: 分流区 diversion, 控制区 control, 核心区 core; seed 003, Zhuhai 2019
fireworks, 400,000 spectators), drawn from isochrones on the road graph, with their posts, officers and
units. The rules and every default are in docs/methods/planning.md; none of the staffing ratios comes
from a published norm in the project's sources, so all of them are parameters of :class:`RingPolicy`.

- core: the area reachable on foot from the venue within ``max(core_walk_min, holding)`` minutes, where
  holding is the walk (at 5 km/h) across the radius of a disc that holds the crowd at
  ``holding_density`` persons/m²;
- control: on foot within ``max(control_walk_min, core + 5)`` minutes (joined with the core);
- diversion: by car within ``diversion_drive_min`` minutes (joined with the control area);
- posts: where a road of the ring's travel mode crosses the ring's outer boundary, at the inside
  intersection, posts closer than ``merge_m`` merged (core and control: foot graph, entry and check
  points; diversion: car graph, traffic diversion points);
- officers: core ``max(2 × posts, crowd × core_per_1000 / 1000)``; control
  ``posts × control_post_officers + crowd × control_per_1000 / 1000``; diversion
  ``posts × diversion_post_officers``; units by patrol mode as in the method page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import RoutingError
from jingwu.routing.geodesy import EARTH_RADIUS_M

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

WALK_MPS = 5.0 / 3.6
RING_NAMES = ("core", "control", "diversion")
MAX_CROWD = 5_000_000


@dataclass(frozen=True)
class RingPolicy:
    core_walk_min: float = 3.0
    control_walk_min: float = 10.0
    diversion_drive_min: float = 5.0
    holding_density: float = 2.0          # persons per m² standing in the core
    core_per_1000: float = 3.0            # officers per 1,000 attendees inside the core
    control_per_1000: float = 1.0         # patrol officers per 1,000 attendees in the control ring
    control_post_officers: int = 4        # per entry / check point
    diversion_post_officers: int = 2      # per traffic diversion point
    merge_m: float = 120.0
    snap_m: float = 300.0

    def check(self) -> None:
        for name in ("core_walk_min", "control_walk_min", "diversion_drive_min", "holding_density", "merge_m",
                     "snap_m"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise InvalidInput(f"{name} must be a positive number, got {v}", code="invalid_policy")
        if self.core_walk_min > 60 or self.control_walk_min > 120 or self.diversion_drive_min > 60:
            raise InvalidInput("ring times are limited to 60 / 120 / 60 minutes", code="invalid_policy")


def _local(lon0: float, lat0: float) -> tuple[float, float]:
    ky = EARTH_RADIUS_M * math.pi / 180.0
    return ky * math.cos(math.radians(lat0)), ky


def _crossing_posts(g: RoadGraph, area: shapely.Geometry, merge_m: float, origin: tuple[float, float]
                    ) -> list[tuple[float, float]]:
    """Inside ends of the road pieces that cross the area's boundary, merged within ``merge_m``."""
    inside = shapely.contains_xy(area, g.node_lon, g.node_lat)
    u, v = g.piece_u, g.piece_v
    cross = inside[u] != inside[v]
    ends = np.unique(np.where(inside[u[cross]], u[cross], v[cross]))
    if ends.size == 0:
        return []
    kx, ky = _local(*origin)
    x = (g.node_lon[ends] - origin[0]) * kx
    y = (g.node_lat[ends] - origin[1]) * ky
    order = np.argsort(np.arctan2(y, x))  # around the venue
    kept: list[int] = []
    for i in order.tolist():
        if all((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 > merge_m ** 2 for j in kept):
            kept.append(i)
    return [(round(float(g.node_lon[ends[i]]), 6), round(float(g.node_lat[ends[i]]), 6)) for i in kept]


def _area_km2(geom: shapely.Geometry, origin: tuple[float, float]) -> float:
    kx, ky = _local(*origin)
    proj = shapely.transform(geom, lambda xy: (xy - [origin[0], origin[1]]) * [kx, ky])
    return float(proj.area) / 1e6


def _perimeter_km(geom: shapely.Geometry, origin: tuple[float, float]) -> float:
    kx, ky = _local(*origin)
    proj = shapely.transform(geom, lambda xy: (xy - [origin[0], origin[1]]) * [kx, ky])
    return float(proj.exterior.length if hasattr(proj, "exterior") else proj.boundary.length) / 1000.0


def check_request(lon: float, lat: float, crowd: int, policy: RingPolicy) -> None:
    if not (isinstance(lon, int | float) and isinstance(lat, int | float) and math.isfinite(lon)
            and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"the venue must be a lon, lat in WGS84, got {lon}, {lat}", code="invalid_coordinates")
    if not (isinstance(crowd, int) and 1 <= crowd <= MAX_CROWD):
        raise InvalidInput(f"the crowd size must be a whole number from 1 to {MAX_CROWD}, got {crowd}",
                           code="invalid_crowd")
    policy.check()


def event_rings(foot: RoadGraph, car: RoadGraph, lon: float, lat: float, crowd: int,
                policy: RingPolicy | None = None, name: str = "") -> dict[str, Any]:
    """The three rings with posts, officers and units (JSON-ready); ``off_network`` if the venue is more
    than ``policy.snap_m`` from a walkable or drivable road."""
    policy = policy or RingPolicy()
    check_request(lon, lat, crowd, policy)
    try:
        at_foot = foot.snap(lon, lat, policy.snap_m)
        at_car = car.snap(lon, lat, policy.snap_m)
    except RoutingError as exc:
        raise InvalidInput(f"the venue is off the road network: {exc.message}", code="off_network")
    origin = (lon, lat)
    hold_r = math.sqrt(crowd / (policy.holding_density * math.pi))
    core_min = max(policy.core_walk_min, hold_r / WALK_MPS / 60.0)
    control_min = max(policy.control_walk_min, core_min + 5.0)
    core = shape(foot.isochrone(at_foot, core_min, buffer_m=40.0)).buffer(0)
    control = shapely.union(shape(foot.isochrone(at_foot, control_min, buffer_m=40.0)).buffer(0), core)
    diversion = shapely.union(shape(car.isochrone(at_car, policy.diversion_drive_min, buffer_m=60.0)).buffer(0),
                              control)
    posts = {"core": _crossing_posts(foot, core, policy.merge_m * 0.5, origin),
             "control": _crossing_posts(foot, control, policy.merge_m, origin),
             "diversion": _crossing_posts(car, diversion, policy.merge_m * 1.5, origin)}
    areas = {"core": core, "control": shapely.difference(control, core),
             "diversion": shapely.difference(diversion, control)}
    outer = {"core": core, "control": control, "diversion": diversion}
    minutes = {"core": core_min, "control": control_min, "diversion": policy.diversion_drive_min}
    mode = {"core": "foot", "control": "foot", "diversion": "car"}
    officers = {
        "core": max(2 * len(posts["core"]), math.ceil(crowd * policy.core_per_1000 / 1000)),
        "control": len(posts["control"]) * policy.control_post_officers
        + math.ceil(crowd * policy.control_per_1000 / 1000),
        "diversion": len(posts["diversion"]) * policy.diversion_post_officers,
    }
    perim = {r: _perimeter_km(outer[r].convex_hull, origin) for r in RING_NAMES}
    units = {
        "core": {"foot": math.ceil(officers["core"] / 2), "video": 1},
        "control": {"foot": len(posts["control"]) + math.ceil(crowd * policy.control_per_1000 / 1000 / 2),
                    "motorbike": max(1, math.ceil(perim["control"] / 2.0)), "video": 1},
        "diversion": {"car": len(posts["diversion"]) + max(1, math.ceil(perim["diversion"] / 5.0)),
                      "motorbike": max(1, math.ceil(perim["diversion"] / 3.0)), "video": 1},
    }
    rings = []
    for r in RING_NAMES:
        rings.append({
            "ring": r, "travel_mode": mode[r], "minutes": round(minutes[r], 2),
            "area_km2": round(_area_km2(areas[r], origin), 3), "outer_perimeter_km": round(perim[r], 2),
            "posts": [{"lon": x, "lat": y} for x, y in posts[r]], "officers": officers[r], "units": units[r],
            "geometry": _round(mapping(areas[r])), "outer": _round(mapping(outer[r])),
        })
    total_units: dict[str, int] = {}
    for r in RING_NAMES:
        for k, n in units[r].items():
            total_units[k] = total_units.get(k, 0) + n
    return {"venue": {"lon": lon, "lat": lat, "name": name, "snap_m": round(at_foot.distance_m, 1)},
            "crowd": crowd, "holding_radius_m": round(hold_r, 1), "rings": rings,
            "officers": sum(officers.values()), "units": total_units,
            "policy": {k: getattr(policy, k) for k in policy.__dataclass_fields__}}


def _round(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float | int) and not isinstance(obj[0], bool):
            return [round(float(v), 6) for v in obj]
        return [_round(v) for v in obj]
    return obj
