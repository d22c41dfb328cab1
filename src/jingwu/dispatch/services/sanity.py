"""Sanity of what units report (ADR 0018): positions from the future, from (0, 0) or far outside the served
area are refused (and counted); an arrival far from the scene or sooner than the route allows is accepted
but flagged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter

from jingwu.dispatch.rows import AssignmentRow, IncidentRow
from jingwu.platform.org_store import UnitRow
from jingwu.routing.geodesy import haversine_m

POSITION_REJECTS = Counter("jingwu_position_rejects_total", "Unit positions refused by the sanity checks",
                           ["reason"])

# codes of a refused position (HTTP 422) and the reason stored in position_rejects
IN_FUTURE, NULL_ISLAND, OUTSIDE = "position_in_future", "null_island", "position_outside_area"
NULL_ISLAND_DEG = 0.01  # within about a kilometre of (0, 0): a receiver's "no fix" default, never a real place
METRES_PER_DEG = 111_320.0

TOO_SOON, FAR_FROM_SCENE = "too_soon", "far_from_scene"
FLAG_NAMES_ZH = {TOO_SOON: "到场过快", FAR_FROM_SCENE: "距现场过远"}  # the alert's message (the board translates)


@dataclass(frozen=True)
class Sanity:
    """The thresholds (DispatchSettings) and the served area's bounding box (lon0, lat0, lon1, lat1)."""

    clock_skew: timedelta = timedelta(seconds=120)
    area_margin_m: float = 5000.0
    bbox: tuple[float, float, float, float] | None = None
    far_from_scene_m: float = 500.0
    too_soon_ratio: float = 0.5

    def position_problem(self, lon: float, lat: float, at: datetime, now: datetime) -> str | None:
        """The code refusing a position, or None when it is plausible."""
        if at > now + self.clock_skew:
            return IN_FUTURE
        if abs(lon) < NULL_ISLAND_DEG and abs(lat) < NULL_ISLAND_DEG:
            return NULL_ISLAND
        if self.bbox is not None:
            x0, y0, x1, y1 = self.bbox
            dy = self.area_margin_m / METRES_PER_DEG
            dx = dy / max(math.cos(math.radians((y0 + y1) / 2)), 0.01)
            if not (x0 - dx <= lon <= x1 + dx and y0 - dy <= lat <= y1 + dy):
                return OUTSIDE
        return None

    def arrival_flags(self, unit: UnitRow, asg: AssignmentRow, inc: IncidentRow, at: datetime) -> list[str]:
        """Flags of an arrival reported at ``at``: too_soon when less than ``too_soon_ratio`` of the ETA stored
        at dispatch has passed since the dispatch; far_from_scene when the unit's latest position received
        since the dispatch lies further than ``far_from_scene_m`` from the scene (no position since the
        dispatch: not judged)."""
        flags: list[str] = []
        if asg.eta_seconds and (at - asg.dispatched_at).total_seconds() < self.too_soon_ratio * asg.eta_seconds:
            flags.append(TOO_SOON)
        slon, slat = inc.snapped_lon or inc.lon, inc.snapped_lat or inc.lat
        if (slon is not None and slat is not None and unit.lon is not None and unit.lat is not None
                and unit.position_at is not None and unit.position_at >= asg.dispatched_at
                and haversine_m(unit.lon, unit.lat, slon, slat) > self.far_from_scene_m):
            flags.append(FAR_FROM_SCENE)
        return flags
