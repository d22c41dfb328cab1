"""The Chengdu demo city: agencies (city bureau, branch bureaus, the police
stations and fire stations of the OSM extract), station jurisdictions derived
by nearest station over the roads, areas with documented population estimates,
about 40 units and one demo user per role.

Only precinct stations become stations: ``amenity=police`` offices that are not
(visa and ID-card centres, a campus security office) are left out and logged
(``osm_stations.non_precinct_reason``). Names follow one rule
(``jingwu.platform.naming``), never an OSM id.

Population method (docs/methods/demo-city.md): each area's population is its
area times the mean residential density of Chengdu's five central districts at
the 7th national census (2020).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import mapping

from jingwu.demo.osm_stations import OsmStation, read_stations
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.domain import AgencyKind, Role, UnitKind
from jingwu.platform.org_store import AgencyRow
from jingwu.routing.api import ROAD_GRAPH
from jingwu.routing.jurisdictions import km2, station_jurisdictions
from jingwu.routing.osm_places import precinct_stations

log = logging.getLogger("jingwu.demo")

CITY_CODE = "510100-PSB"

# 7th national census (2020), resident population by district (public repo leiii/census, MIT; a copy is in tests/data)
# and district land area in km² as published by the district governments (approximate, see the method doc).
DISTRICTS: list[dict[str, Any]] = [
    {"code": "510104", "name": "锦江分局", "name_en": "Jinjiang Branch", "district": "锦江区",
     "population_2020": 902_933, "area_km2": 62.12, "seat": (104.0834, 30.6567)},
    {"code": "510105", "name": "青羊分局", "name_en": "Qingyang Branch", "district": "青羊区",
     "population_2020": 955_954, "area_km2": 66.17, "seat": (104.0611, 30.6742)},
    {"code": "510106", "name": "金牛分局", "name_en": "Jinniu Branch", "district": "金牛区",
     "population_2020": 1_265_398, "area_km2": 108.0, "seat": (104.0524, 30.6914)},
    {"code": "510107", "name": "武侯分局", "name_en": "Wuhou Branch", "district": "武侯区",
     "population_2020": 1_855_186, "area_km2": 76.56, "seat": (104.0432, 30.6421)},
    {"code": "510108", "name": "成华分局", "name_en": "Chenghua Branch", "district": "成华区",
     "population_2020": 1_381_894, "area_km2": 108.8, "seat": (104.1012, 30.6600)},
]
CENTRAL_DENSITY = sum(d["population_2020"] for d in DISTRICTS) / sum(d["area_km2"] for d in DISTRICTS)

DEMO_USERS: list[tuple[str, str, Role, str]] = [
    # username, display name, role, agency ("city" or station index)
    ("calltaker", "接警员 王芳", Role.CALL_TAKER, "city"),
    ("dispatcher", "调度员 李强", Role.DISPATCHER, "city"),
    ("commander", "指挥长 张伟", Role.COMMANDER, "city"),
    ("officer", "巡逻民警 刘洋", Role.PATROL_OFFICER, "station0"),
    ("investigator", "侦查员 陈静", Role.INVESTIGATOR, "station0"),
    ("legal", "法制员 杨敏", Role.LEGAL_OFFICER, "city"),
    ("analyst", "分析员 赵磊", Role.ANALYST, "city"),
    ("auditor", "审计员 黄丽", Role.AUDITOR, "city"),
    ("admin", "管理员 周军", Role.ADMIN, "city"),
]

# 6 units at each of the 6 stations and an engine at each of the 3 fire stations: 39 units.
UNITS_PER_STATION = [(UnitKind.PATROL_CAR, 3), (UnitKind.MOTORBIKE, 1), (UnitKind.FOOT_PATROL, 2)]
UNITS_PER_FIRE_STATION = [(UnitKind.FIRE_ENGINE, 1)]


def _code(s: OsmStation) -> str:
    return f"OSM-{s.osm_type[0].upper()}{s.osm_id}"


def _unique(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Number repeated (zh, en) names: ``…（2）`` / ``… (2)`` (two unnamed stations near the same street)."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for zh, en in names:
        k = seen[(zh, en)] = seen.get((zh, en), 0) + 1
        out.append((zh, en) if k == 1 else (f"{zh}（{k}）", f"{en} ({k})"))
    return out


def _nearest_district(lon: float, lat: float) -> dict[str, Any]:
    return min(DISTRICTS, key=lambda d: (d["seat"][0] - lon) ** 2 + (d["seat"][1] - lat) ** 2)


def demo_loaded(c: Container) -> bool:
    with c.uow() as uow:
        return uow.agencies.by_code(CITY_CODE) is not None


def _agency(uow: Any, code: str) -> AgencyRow:
    """An agency the demo loader created a step earlier (its absence is a bug in the loader, not bad input)."""
    agency: AgencyRow | None = uow.agencies.by_code(code)
    if agency is None:
        raise RuntimeError(f"demo agency {code} is missing: the demo city was loaded only in part")
    return agency


def load_demo_city(c: Container, *, progress: Callable[[str], None] = lambda _m: None) -> dict[str, str]:
    """Create the demo city; returns {username: password}. Refuses to run twice."""
    if demo_loaded(c):
        raise RuntimeError("the demo city is already loaded")
    graph = c.get(ROAD_GRAPH)
    progress("graph")
    stations = read_stations()
    police, left_out = precinct_stations(stations)
    for s, reason in left_out:
        log.info("demo city: %s (%s) is not made a station: %s", s.names.zh, s.source, reason)
    fire = [s for s in stations if s.amenity == "fire_station"]

    services.create_agency(services.CreateAgency(CITY_CODE, "成都市公安局", AgencyKind.CITY_BUREAU.value,
                                                 name_en="Chengdu Public Security Bureau"), uow=c.uow(), actor=None)
    for d in DISTRICTS:
        services.create_agency(services.CreateAgency(f"{d['code']}-PSB", d["name"], AgencyKind.BRANCH_BUREAU.value,
                                                     parent_code=CITY_CODE, name_en=d["name_en"],
                                                     lon=d["seat"][0], lat=d["seat"][1]), uow=c.uow(), actor=None)
    progress("agencies")

    # Station jurisdictions: every road node belongs to the station that reaches it first by road.
    polys = station_jurisdictions(graph, [(s.lon, s.lat) for s in police])
    progress("jurisdictions")

    station_codes: list[str] = []
    police_names = _unique([(s.names.zh, s.names.en) for s in police])
    for i, s in enumerate(police):
        name, name_en = police_names[i]
        code = _code(s)
        branch = _nearest_district(s.lon, s.lat)
        geom = mapping(polys[i]) if polys[i] is not None and not polys[i].is_empty else None
        services.create_agency(services.CreateAgency(
            code, name, AgencyKind.STATION.value, parent_code=f"{branch['code']}-PSB",
            name_en=name_en, lon=s.lon, lat=s.lat, jurisdiction=geom, source=s.source), uow=c.uow(), actor=None)
        station_codes.append(code)
    for s, (name, name_en) in zip(fire, _unique([(s.names.zh, s.names.en) for s in fire]), strict=True):
        services.create_agency(services.CreateAgency(
            _code(s), name, AgencyKind.FIRE_STATION.value, parent_code=CITY_CODE, name_en=name_en,
            lon=s.lon, lat=s.lat, source=s.source), uow=c.uow(), actor=None)
    progress("stations")

    # Areas (towns) = station jurisdictions, population = area x central density.
    with c.uow() as uow:
        now = uow.clock.now()
        for i, code in enumerate(station_codes):
            poly = polys[i]
            if poly is None or poly.is_empty:
                continue
            agency = _agency(uow, code)
            area = km2(poly, poly.centroid.y)
            uow.towns.add(
                code=f"AREA-{i + 1:02d}", name=f"{agency.name}辖区", name_en=f"Area of {agency.name_en}",
                agency_id=agency.id, population=round(area * CENTRAL_DENSITY),
                population_note=(f"估算: 面积 {area:.2f} km² × 中心城区 2020 年人口密度 {CENTRAL_DENSITY:,.0f} 人/km²"
                                 " (第七次人口普查, 五城区合计)"),
                area_km2=round(area, 3), geometry=mapping(poly), at=now)
        uow.audit.write(actor="cli", action="demo_towns_created", object_type="town",
                        detail={"count": len(station_codes),
                                "not_stations": [{"source": s.source, "name": s.names.zh, "reason": reason}
                                                 for s, reason in left_out]})
        uow.commit()

    # Units: near their station, on the road.
    rng = np.random.default_rng(110)
    with c.uow() as uow:
        now = uow.clock.now()
        n = 0
        for i, code in enumerate(station_codes):
            agency = _agency(uow, code)
            if agency.lon is None or agency.lat is None:
                raise RuntimeError(f"demo station {code} was created without a position")
            for kind, count in UNITS_PER_STATION:
                for k in range(count):
                    lon = agency.lon + float(rng.normal(0, 0.004))
                    lat = agency.lat + float(rng.normal(0, 0.003))
                    sn = graph.snap(lon, lat, max_distance_m=3000)
                    uow.units.add(call_sign=f"川A{i + 1:02d}{kind.value[:1].upper()}{k + 1}", kind=kind.value,
                                  agency_id=agency.id, lon=sn.snapped_lon, lat=sn.snapped_lat, at=now)
                    n += 1
        for s in fire:
            agency = _agency(uow, _code(s))
            for kind, count in UNITS_PER_FIRE_STATION:
                for k in range(count):
                    sn = graph.snap(s.lon, s.lat, max_distance_m=3000)
                    uow.units.add(call_sign=f"消{s.osm_id[-3:]}-{k + 1}", kind=kind.value, agency_id=agency.id,
                                  lon=sn.snapped_lon, lat=sn.snapped_lat, at=now)
                    n += 1
        uow.audit.write(actor="cli", action="demo_units_created", object_type="unit", detail={"count": n})
        uow.commit()
    progress("units")

    passwords: dict[str, str] = {}
    for username, display, role, where in DEMO_USERS:
        agency_code = CITY_CODE if where == "city" else station_codes[int(where.removeprefix("station"))]
        pw = secrets.token_urlsafe(9)
        services.create_user(services.CreateUser(username, display, pw, agency_code, (role.value,)),
                             uow=c.uow(), actor=None, reason="demo city")
        passwords[username] = pw
    progress("users")
    return passwords


def save_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(passwords, indent=2), encoding="utf-8")
    path.chmod(0o600)
