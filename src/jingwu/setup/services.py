"""The setup use case: read the manifest and its files, check them against each other, the database and
the road network, plan what changes (created / updated / unchanged by code), and apply the plan in one
transaction, or nothing at all when anything is rejected (or on a dry run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape

from jingwu.platform.container import Container
from jingwu.platform.deployment_store import SERVED_NETWORK, TIMEZONE
from jingwu.platform.domain import Role
from jingwu.platform.errors import InvalidInput
from jingwu.platform.security import hash_password
from jingwu.platform.services import MIN_PASSWORD, USERNAME_RE
from jingwu.routing.domain import RoutingError
from jingwu.routing.graph import RoadGraph
from jingwu.routing.jurisdictions import km2, station_jurisdictions
from jingwu.routing.network import ServedNetwork, import_network, record_network
from jingwu.routing.settings import graph_cache_dir
from jingwu.setup import checks, sources, store
from jingwu.setup.checks import Located
from jingwu.setup.manifest import Manifest, TownsByNearestStation, TownsFromBoundaries, load_manifest
from jingwu.setup.records import AgencyRec, Change, Plan, Rejection, TownRec, UnitRec

ACTOR = "cli:setup"
STEPS = ("manifest", "road network", "files", "checks", "jurisdictions", "plan", "apply")


@dataclass
class SetupResult:
    manifest: Manifest
    plan: Plan
    applied: bool = False
    network: ServedNetwork | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    agencies: list[AgencyRec] = field(default_factory=list)
    towns: list[TownRec] = field(default_factory=list)
    units: list[UnitRec] = field(default_factory=list)


def _diff(kind: str, key: str, where: str, new: dict[str, Any], old: dict[str, Any] | None) -> Change:
    if old is None:
        return Change("created", kind, key, where)
    changed = tuple(k for k, v in new.items() if old.get(k) != v)
    return Change("updated" if changed else "unchanged", kind, key, where, changed)


def _depth_order(records: list[AgencyRec]) -> list[AgencyRec]:
    parent = {r.code: r.parent for r in records}

    def depth(code: str) -> int:
        d, at, seen = 0, code, set()
        while parent.get(at) is not None and at not in seen:
            seen.add(at)
            at = parent[at]  # type: ignore[assignment]
            d += 1
        return d

    return sorted(records, key=lambda r: depth(r.code))


def run_setup(manifest_path: Path, c: Container, *, dry_run: bool, strict: bool = False,
              password: Callable[[], str] | None = None,
              step: Callable[[str], None] = lambda _s: None) -> SetupResult:
    """Plan (and unless ``dry_run`` or anything is rejected, apply) the manifest. ``password`` is asked only
    when the administrator is to be created. ``strict``: every note (an OSM office that is not made a station,
    rows in the database that the files do not name) is a rejection too. Raises ``InvalidInput`` for a bad
    manifest."""
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        seconds[name] = round(now - t0, 2)
        t0 = now
        step(name)

    m, base = load_manifest(manifest_path)
    lap("manifest")
    plan = Plan()
    result = SetupResult(m, plan, seconds=seconds)
    rej = plan.rejections
    network_path = (base / m.network).resolve()
    try:
        graph, network = import_network(network_path, cache_dir=graph_cache_dir(c.settings), uow=None, actor=ACTOR)
    except RoutingError as exc:
        rej.append(Rejection(m.network, exc.code, exc.message))
        return result
    result.network = network
    lap("road network")

    with c.read_uow() as uow:
        existing = store.read_existing(uow, m.admin.username)
        recorded_tz = uow.config.get(TIMEZONE)
        recorded_net = uow.config.get(SERVED_NETWORK)

    agencies = sources.read_agencies(m.agencies, base, rej)
    roots = [a.code for a in agencies if a.parent is None]
    branches = [a.code for a in agencies if a.kind == "branch_bureau"]
    default_parent = branches[0] if len(branches) == 1 else (roots[0] if roots else None)
    stations = sources.read_stations(m.stations, base, network_path, default_parent, rej, plan.notes)
    units = sources.read_units(m.units, base, rej) if m.units else []
    lap("files")

    all_agencies = agencies + stations
    rej += checks.duplicates(((a.code, a.where) for a in all_agencies), "agency code")
    rej += checks.duplicates(((u.call_sign, u.where) for u in units), "call sign")
    rej += checks.agency_tree(all_agencies, {k: (v["kind"], v["parent"]) for k, v in existing.agencies.items()})
    from_files = [Located(a.where, a.lon, a.lat) for a in all_agencies
                  if a.source is None and a.lon is not None and a.lat is not None]
    unit_points = [Located(u.where, u.lon, u.lat) for u in units if u.lon is not None and u.lat is not None]
    bad_position = checks.positions(from_files + unit_points, graph.bbox)
    rej += bad_position
    if not bad_position:
        rej += checks.datum(graph, from_files + unit_points, "stations and units")

    kinds = {k: v["kind"] for k, v in existing.agencies.items()} | {a.code: a.kind for a in all_agencies}
    rejected = {r.key for r in rej if r.key}
    for u in units:
        if u.station in rejected:
            continue  # its station is rejected already
        if kinds.get(u.station) not in ("station", "fire_station"):
            rej.append(Rejection(u.where, "unknown_station",
                                 f"unit {u.call_sign}: no station with code {u.station} in the files or the database"))
    lap("checks")

    police = [a for a in all_agencies if a.kind == "station"]
    if not rej:
        polys = _jurisdictions(graph, police, rej)
        for a, p in zip(police, polys, strict=True):
            a.jurisdiction = dict(mapping(p)) if p is not None and not p.is_empty else None
    lap("jurisdictions")

    towns = _towns(m, base, network_path, police, roots, kinds, graph, rej)
    if not rej:
        for u in units:
            u.home = _unit_home(graph, u, {a.code: a for a in all_agencies}, existing, rej)

    # the plan
    for a in _depth_order(all_agencies):
        plan.changes.append(_diff("agency", a.code, a.where, a.compared(), existing.agencies.get(a.code)))
    for t in towns:
        plan.changes.append(_diff("town", t.code, t.where, t.compared(), existing.towns.get(t.code)))
    for u in units:
        plan.changes.append(_diff("unit", u.call_sign, u.where, u.compared(), existing.units.get(u.call_sign)))
    plan.changes.append(_diff("config", TIMEZONE, "manifest timezone", {"name": m.timezone}, recorded_tz))
    net_old = ServedNetwork.from_value(recorded_net) if recorded_net else None
    plan.changes.append(Change("unchanged" if network.same_source(net_old) else
                               ("created" if net_old is None else "updated"), "config", SERVED_NETWORK,
                               f"manifest network ({network_path.name})"))
    admin_agency = m.admin.agency or (roots[0] if roots else None)
    if not USERNAME_RE.match(m.admin.username):
        rej.append(Rejection("manifest admin.username", "invalid_username",
                             "3-64 characters of a-z, 0-9, '_', '.', '-'"))
    if admin_agency is None or admin_agency not in kinds:
        rej.append(Rejection("manifest admin.agency", "unknown_agency", f"no agency with code {admin_agency}"))
    plan.changes.append(Change("unchanged" if m.admin.username in existing.usernames else "created", "user",
                               m.admin.username, "manifest admin"))
    for kind, keys, given in (("agencies", existing.agencies, {a.code for a in all_agencies}),
                              ("towns", existing.towns, {t.code for t in towns}),
                              ("units", existing.units, {u.call_sign for u in units})):
        extra = sorted(set(keys) - given)
        if extra:
            plan.notes.append(f"{len(extra)} {kind} in the database are not in the files and are left as they are: "
                              + ", ".join(extra[:10]) + (" …" if len(extra) > 10 else ""))
    if strict:
        rej += [Rejection("--strict", "strict_note", n) for n in plan.notes]
    result.agencies, result.towns, result.units = all_agencies, towns, units
    lap("plan")
    if rej or dry_run:
        return result

    pw: str | None = None
    if m.admin.username not in existing.usernames:
        if password is None:
            raise InvalidInput("the administrator's password is needed: set JINGWU_ADMIN_PASSWORD",
                               code="missing_password")
        pw = password()
        if len(pw) < MIN_PASSWORD:
            raise InvalidInput(f"the administrator's password needs at least {MIN_PASSWORD} characters",
                               code="weak_password")
    _apply(c, plan, result, existing, admin_agency or "", pw, network)
    result.applied = True
    lap("apply")
    return result


def _jurisdictions(graph: RoadGraph, police: list[AgencyRec], rej: list[Rejection]) -> list[Any]:
    if not police:
        return []
    seats = [(float(a.lon), float(a.lat)) for a in police]  # type: ignore[arg-type]
    for a, (lon, lat) in zip(police, seats, strict=True):
        try:
            graph.snap(lon, lat, max_distance_m=2000)
        except RoutingError:
            rej.append(Rejection(a.where, "off_network", f"station {a.code}: no drivable road within 2 km"))
    if rej:
        return [None] * len(police)
    return station_jurisdictions(graph, seats)


def _towns(m: Manifest, base: Path, network: Path, police: list[AgencyRec], roots: list[str],
           kinds: dict[str, str], graph: RoadGraph, rej: list[Rejection]) -> list[TownRec]:
    spec = m.towns
    if isinstance(spec, TownsByNearestStation):
        out = []
        for a in police:
            if a.jurisdiction is None:
                continue
            g = shape(a.jurisdiction)
            area = km2(g, g.centroid.y)
            note = spec.population_note or (f"estimate: area {area:.2f} km² × {spec.population_density:,.0f} "
                                            "residents/km² (manifest population_density)")
            out.append(TownRec(f"T-{a.code}", f"{a.name}辖区", f"Area of {a.name_en or a.name}", a.code,
                               round(area * spec.population_density), note, round(area, 3), a.jurisdiction,
                               f"{a.where} (jurisdiction)"))
        return out
    if isinstance(spec, TownsFromBoundaries):
        towns = sources.read_osm_towns(spec, base, network, roots[0] if roots else None, rej)
    else:
        towns = sources.read_town_features(base / spec, rej)
    rej += checks.duplicates(((t.code, t.where) for t in towns), "town code")
    for t in towns:
        if t.agency not in kinds:
            rej.append(Rejection(t.where, "unknown_agency", f"town {t.code}: no agency with code {t.agency}"))
    centroids = []
    for t in towns:
        c = shape(t.geometry).representative_point()
        centroids.append(Located(t.where, c.x, c.y))
    bad = checks.positions(centroids, graph.bbox)
    rej += bad
    if not bad:
        rej += checks.town_overlaps(towns)
        rej += checks.stations_in_towns(police, towns)
    return towns


def _unit_home(graph: RoadGraph, u: UnitRec, agencies: dict[str, AgencyRec], existing: store.Existing,
               rej: list[Rejection]) -> tuple[float, float] | None:
    if u.lon is not None and u.lat is not None:
        return (u.lon, u.lat)
    a = agencies.get(u.station)
    lon, lat = (a.lon, a.lat) if a else (existing.agencies[u.station]["lon"], existing.agencies[u.station]["lat"])
    if lon is None or lat is None:
        rej.append(Rejection(u.where, "missing_value", f"unit {u.call_sign}: give lon, lat (its station has none)"))
        return None
    try:
        s = graph.snap(lon, lat, max_distance_m=3000)
    except RoutingError:
        rej.append(Rejection(u.where, "off_network", f"unit {u.call_sign}: no road within 3 km of its station"))
        return None
    return (s.snapped_lon, s.snapped_lat)


def _apply(c: Container, plan: Plan, r: SetupResult, existing: store.Existing, admin_agency: str, pw: str | None,
           network: ServedNetwork) -> None:
    actions = {(ch.kind, ch.key): ch.action for ch in plan.changes}
    m = r.manifest
    with c.uow() as uow:
        now = uow.clock.now()
        ids = {code: (v["id"], v["path"]) for code, v in existing.agencies.items()}
        for a in _depth_order(r.agencies):
            if actions[("agency", a.code)] != "unchanged":
                store.upsert_agency(uow, a, ids, now)
        for t in r.towns:
            if actions[("town", t.code)] != "unchanged":
                store.upsert_town(uow, t, t.code in existing.towns, ids[t.agency][0], now)
        for u in r.units:
            if actions[("unit", u.call_sign)] != "unchanged":
                store.upsert_unit(uow, u, u.call_sign in existing.units, ids[u.station][0], now)
        if actions[("config", TIMEZONE)] != "unchanged":
            uow.config.set(TIMEZONE, {"name": m.timezone}, at=now, by=ACTOR)
        if actions[("config", SERVED_NETWORK)] != "unchanged":
            record_network(uow, ServedNetwork(network.path, network.sha256, now), actor=ACTOR)
        if pw is not None:
            uid = uow.users.add(username=m.admin.username, display_name=m.admin.display_name or m.admin.username,
                                password_hash=hash_password(pw), agency_id=ids[admin_agency][0], roles={Role.ADMIN},
                                at=now)
            uow.audit.write(actor=ACTOR, action="user_created", object_type="user", object_id=uid,
                            agency_id=ids[admin_agency][0], detail={"username": m.admin.username, "roles": ["admin"]})
        for kind in ("agency", "town", "unit"):
            mine = [ch for ch in plan.changes if ch.kind == kind]
            uow.audit.write(actor=ACTOR, action=f"setup_{kind}s", object_type=kind,
                            detail={"created": [ch.key for ch in mine if ch.action == "created"],
                                    "updated": [ch.key for ch in mine if ch.action == "updated"],
                                    "unchanged": sum(1 for ch in mine if ch.action == "unchanged")})
        uow.audit.write(actor=ACTOR, action="setup_applied", object_type="deployment_config",
                        detail={"counts": plan.counts(), "network": str(network.path), "timezone": m.timezone})
        uow.commit()
