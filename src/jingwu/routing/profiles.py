"""Travel profiles: which OSM ways car, motorbike, bicycle and foot may use, in which directions, how fast.

Each profile compiles to its own road graph from the same OSM file (ADR 0013); the tables and the
numbers with their sources are in docs/methods/routing.md §9. The car profile's rule is the drivable
network of :mod:`jingwu.routing.osm_import` unchanged (the car graph is still read by that unchanged
code path; :data:`CAR` states the same rule as a profile so the two can be compared).

Police on duty may enter private grounds, so, as for cars, only an explicit ``no`` (or ``use_sidepath``
for bicycles and pedestrians, meaning "use the separate path drawn next to it") closes a way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jingwu.routing.domain import InvalidArgument
from jingwu.routing.osm_import import (
    BOTH,
    BWD,
    DENIED,
    FWD,
    HIGHWAY_CODE,
    REVERSIBLE,
    SPEED_KMH,
    motor_access,
    parse_maxspeed,
    way_direction,
)

Verdict = tuple[int, float] | str | None

# Motorbikes: the car speed capped at 80 km/h, the legal top speed of a motorcycle on a Chinese
# expressway (道路交通安全法实施条例 art. 78); below it a motorbike is taken to keep up with cars.
MOTORBIKE_MAX_KMH = 80.0
# Bicycles: 15 km/h, OSRM's bicycle.lua default cycling speed (and GraphHopper's bike default of
# 15-18 km/h on paved roads), never faster than the road's own car speed (a 10 km/h living street).
BICYCLE_KMH = 15.0
# Walking: 5 km/h (1.39 m/s), OSRM's foot.lua walking_speed; within the 1.2-1.5 m/s measured for adult
# pedestrians (Knoblauch, Pietrucha & Nitzburg 1996, TRR 1538). Same on every way, steps included.
FOOT_KMH = 5.0

_YES = {"yes", "designated", "permissive"}
_CLOSED = {"no"}
_CLOSED_SIDEPATH = {"no", "use_sidepath"}
_MOTORWAY = {"motorway", "motorway_link"}
_TRUNK = {"trunk", "trunk_link"}
_MAJOR = {"primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link"}
# ways a pedestrian uses unless closed to foot
_FOOT_WAYS = {"footway", "pedestrian", "path", "steps", "living_street", "residential", "service",
              "unclassified", "road", "track"}
# ways a pedestrian uses only when foot=yes|designated|permissive says so
_FOOT_IF_TAGGED = _MOTORWAY | _TRUNK | {"cycleway", "bridleway"}
# ways a cyclist uses only when bicycle=yes|designated|permissive says so
_BICYCLE_IF_TAGGED = _TRUNK | {"path", "footway", "pedestrian", "bridleway"}
_ONEWAY_FWD = {"yes", "true", "1"}
_ONEWAY_BWD = {"-1", "reverse"}


def first_tag(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    """The value of the first of ``keys`` the way carries (the OSM access hierarchy, most specific first)."""
    for key in keys:
        value = tags.get(key)
        if value is not None:
            return value.strip().lower()
    return None


def _road_speed(tags: dict[str, str], highway: str) -> float | None:
    """The car speed of a drivable class (numeric maxspeed, else the urban table); None for other classes."""
    if highway not in SPEED_KMH:
        return None
    return parse_maxspeed(tags.get("maxspeed")) or SPEED_KMH[highway]


def _car(tags: dict[str, str]) -> Verdict:
    highway = tags.get("highway", "")
    if highway not in SPEED_KMH or tags.get("area") == "yes":
        return None
    if not motor_access(tags):
        return DENIED
    direction = way_direction(tags)
    if direction == 0:
        return REVERSIBLE
    return direction, parse_maxspeed(tags.get("maxspeed")) or SPEED_KMH[highway]


def _motorbike(tags: dict[str, str]) -> Verdict:
    highway = tags.get("highway", "")
    if highway not in SPEED_KMH or tags.get("area") == "yes":
        return None
    emergency = tags.get("emergency", "") in {"yes", "designated", "permissive", "destination", "delivery", "emergency"}
    if not emergency and first_tag(tags, ("motorcycle", "motor_vehicle", "vehicle", "access")) in _CLOSED:
        return DENIED
    direction = way_direction(tags)
    if direction == 0:
        return REVERSIBLE
    return direction, min(parse_maxspeed(tags.get("maxspeed")) or SPEED_KMH[highway], MOTORBIKE_MAX_KMH)


def bicycle_direction(tags: dict[str, str]) -> int:
    """Directions a bicycle may ride: the way's one-way rule unless ``oneway:bicycle`` or a contraflow
    ``cycleway*=opposite*`` lane says otherwise; 0 for reversible ways."""
    ob = tags.get("oneway:bicycle", "").strip().lower()
    if ob == "no":
        return BOTH
    if ob in _ONEWAY_FWD:
        return FWD
    if ob in _ONEWAY_BWD:
        return BWD
    for key in ("cycleway", "cycleway:both", "cycleway:left", "cycleway:right"):
        if tags.get(key, "").strip().lower().startswith("opposite"):
            return BOTH
    return way_direction(tags)


def _bicycle(tags: dict[str, str]) -> Verdict:
    highway = tags.get("highway", "")
    if highway not in HIGHWAY_CODE or highway in _MOTORWAY or highway == "steps" or tags.get("area") == "yes":
        return None
    if highway in _BICYCLE_IF_TAGGED and tags.get("bicycle", "").strip().lower() not in _YES:
        return None
    if first_tag(tags, ("bicycle", "vehicle", "access")) in _CLOSED_SIDEPATH:
        return DENIED
    direction = bicycle_direction(tags)
    if direction == 0:
        return REVERSIBLE
    road = _road_speed(tags, highway)
    return direction, BICYCLE_KMH if road is None else min(BICYCLE_KMH, road)


def foot_direction(tags: dict[str, str]) -> int:
    """Pedestrians ignore ``oneway`` (and roundabouts); only ``oneway:foot`` binds them."""
    of = tags.get("oneway:foot", "").strip().lower()
    if of in _ONEWAY_FWD:
        return FWD
    if of in _ONEWAY_BWD:
        return BWD
    return BOTH


def _foot(tags: dict[str, str]) -> Verdict:
    highway = tags.get("highway", "")
    if highway not in HIGHWAY_CODE or tags.get("area") == "yes":
        return None
    foot = tags.get("foot", "").strip().lower()
    if highway in _FOOT_IF_TAGGED:
        if foot not in _YES:
            return None
    elif highway in _MAJOR:
        sidewalk = tags.get("sidewalk", tags.get("sidewalk:both", "")).strip().lower()
        if sidewalk in {"no", "none"} and foot not in _YES:
            return DENIED
    elif highway not in _FOOT_WAYS:
        return None
    if first_tag(tags, ("foot", "access")) in _CLOSED_SIDEPATH:
        return DENIED
    return foot_direction(tags), FOOT_KMH


@dataclass(frozen=True)
class Profile:
    """One travel mode's rules. ``version`` is part of its cache file name: bump it when the rule changes."""

    name: str
    noun: str
    label_zh: str
    turn_restrictions: bool
    version: int
    rule: Callable[[dict[str, str]], Verdict]

    def classify(self, tags: dict[str, str]) -> Verdict:
        return self.rule(tags)


CAR = Profile("car", "cars", "汽车", True, 1, _car)
MOTORBIKE = Profile("motorbike", "motorbikes", "摩托车", True, 1, _motorbike)
BICYCLE = Profile("bicycle", "bicycles", "自行车", False, 1, _bicycle)
FOOT = Profile("foot", "pedestrians", "步行", False, 1, _foot)
PROFILES: dict[str, Profile] = {p.name: p for p in (CAR, MOTORBIKE, BICYCLE, FOOT)}
MODES: tuple[str, ...] = tuple(PROFILES)


def get_profile(mode: str) -> Profile:
    """The profile of a travel mode; ``invalid_argument`` for an unknown one."""
    try:
        return PROFILES[mode]
    except KeyError:
        raise InvalidArgument(f"unknown travel mode {mode!r}: use one of {', '.join(MODES)}") from None
