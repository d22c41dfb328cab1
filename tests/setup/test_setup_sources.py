"""Setup's other sources and its pieces: the GCJ-02 transform and the datum check, the Helsinki extract with
the nearest-station towns, stations and towns read from OSM, the recorded time zone, the served-network
switch in a running process, and the command line as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shapely import union_all
from shapely.geometry import Point, shape

from jingwu.dispatch.wiring import GEO
from jingwu.platform.container import Container, build_container
from jingwu.platform.deployment_store import recorded_settings
from jingwu.platform.settings import Settings
from jingwu.routing.api import ROAD_GRAPH, ROADS_GEOJSON
from jingwu.routing.gcj02 import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02
from jingwu.routing.graph import RoadGraph
from jingwu.routing.jurisdictions import km2
from jingwu.routing.network import check_switch, import_network, recorded_network
from jingwu.routing.settings import graph_cache_dir
from jingwu.setup.checks import Located, datum_verdict, positions
from jingwu.setup.services import run_setup
from routing.osm_builder import grid_nodes, write_osm
from support import GRAPH_DIR

TESTS = Path(__file__).resolve().parents[1]
NANSHAN = TESTS / "data" / "shenzhen" / "nanshan_osm_2021-03-17.osm"
HELSINKI = TESTS / "data" / "helsinki" / "Helsinki.osm.pbf"
JINGWU = str(Path(sys.executable).parent / "jingwu")


# ------------------------------------------------------------------ GCJ-02


def test_gcj02_matches_a_published_implementation_and_inverts() -> None:
    # reference values: the gcoord library's tests (hujiulong/gcoord, test/unit/crs/*.spec.ts), to 1e-5°
    lon, lat = wgs84_to_gcj02(123.0, 45.0)
    assert (float(lon), float(lat)) == pytest.approx((123.00607541, 45.00197815), abs=1e-5)
    lon, lat = gcj02_to_wgs84(123.0, 45.0)
    assert (float(lon), float(lat)) == pytest.approx((122.99395597, 44.99804071), abs=1e-5)
    rng = np.random.default_rng(7)
    w_lon, w_lat = rng.uniform(100, 125, 200), rng.uniform(20, 45, 200)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(w_lon, w_lat))
    assert np.max(np.abs(back[0] - w_lon)) < 1e-8 and np.max(np.abs(back[1] - w_lat)) < 1e-8
    # outside China nothing moves (Helsinki)
    assert bool(out_of_china(24.94, 60.17)) and wgs84_to_gcj02(24.94, 60.17) == (24.94, 60.17)


def _near_road_points(g: RoadGraph, n: int, seed: int, setback_m: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = g.node_coords()[rng.choice(g.n_nodes, n, replace=False)]
    ang = rng.uniform(0, 2 * np.pi, n)
    lon = xy[:, 0] + setback_m * np.cos(ang) / (111_320 * np.cos(np.radians(xy[:, 1])))
    lat = xy[:, 1] + setback_m * np.sin(ang) / 110_574
    return lon, lat


@pytest.mark.parametrize("seed", range(10))
def test_a_wgs84_set_shifted_to_gcj02_is_detected_and_the_true_set_is_not(seed: int) -> None:
    g = RoadGraph.load_or_build(NANSHAN, GRAPH_DIR)
    lon, lat = _near_road_points(g, 12, seed, setback_m=10.0)
    true = [Located(f"p{i}", float(x), float(y)) for i, (x, y) in enumerate(zip(lon, lat, strict=True))]
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    shifted = [Located(f"p{i}", float(x), float(y)) for i, (x, y) in enumerate(zip(g_lon, g_lat, strict=True))]
    v_true, v_shifted = datum_verdict(g, true), datum_verdict(g, shifted)
    assert v_true is not None and not v_true.gcj02
    assert v_shifted is not None and v_shifted.gcj02


def test_the_datum_check_stays_out_of_the_way_outside_china_and_for_few_points() -> None:
    g = RoadGraph.load_or_build(HELSINKI, GRAPH_DIR)
    lon, lat = _near_road_points(g, 8, 1, 10.0)
    assert datum_verdict(g, [Located("p", float(x), float(y)) for x, y in zip(lon, lat, strict=True)]) is None
    n = RoadGraph.load_or_build(NANSHAN, GRAPH_DIR)
    assert datum_verdict(n, [Located("a", 113.93, 22.54), Located("b", 113.94, 22.55)]) is None


def test_positions_tell_swapped_pairs_from_points_elsewhere() -> None:
    box = (24.9352, 60.1642, 24.9534, 60.1791)  # central Helsinki
    got = positions([Located("ok", 24.94, 60.17), Located("swapped", 60.17, 24.94), Located("far", 25.5, 60.5)], box)
    assert [(r.where, r.code) for r in got] == [("swapped", "swapped_coordinates"), ("far", "outside_network")]


# ------------------------------------------------------------------ Helsinki: CSV stations, nearest-station towns


def _helsinki_city(d: Path, g: RoadGraph) -> Path:
    """Four stations at the road nodes nearest the quarters' centres of the network's box."""
    w, s, e, n = g.bbox
    xy = g.node_coords()
    rows = []
    for k, (fx, fy) in enumerate(((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75))):
        cx, cy = w + (e - w) * fx, s + (n - s) * fy
        i = int(np.argmin((xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2))
        rows.append({"code": f"HEL-{k + 1}", "name": f"Poliisiasema {k + 1}", "name_en": f"Police station {k + 1}",
                     "lon": f"{xy[i, 0]:.7f}", "lat": f"{xy[i, 1]:.7f}", "branch": "HEL-ETELA"})
    with (d / "stations.csv").open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    (d / "units.csv").write_text("call_sign,kind,station,travel_mode\n"
                                 "H1,patrol_car,HEL-1,car\nH2,foot_patrol,HEL-4,foot\n", encoding="utf-8")
    shutil.copy(HELSINKI, d / "helsinki.osm.pbf")
    (d / "setup.yaml").write_text("""\
network: helsinki.osm.pbf
timezone: Europe/Helsinki
agencies:
  - {code: HEL-PSB, name: Helsingin poliisilaitos, name_en: Helsinki Police Department, kind: city_bureau}
  - {code: HEL-ETELA, name: Eteläinen, name_en: Southern District, kind: branch_bureau, parent: HEL-PSB}
stations: stations.csv
towns: {source: nearest-station, population_density: 9000}
units: units.csv
admin: {username: chief}
""", encoding="utf-8")
    return d / "setup.yaml"


def test_helsinki_with_nearest_station_towns(container: Container, tmp_path: Path) -> None:
    g = RoadGraph.load_or_build(HELSINKI, GRAPH_DIR)
    manifest = _helsinki_city(tmp_path, g)
    r = run_setup(manifest, container, dry_run=False, password=lambda: "chief-password")
    assert r.applied, r.plan.rejections
    with container.uow() as uow:
        stations = uow.agencies.in_subtree("/", "station")
        towns = uow.towns.all()
        tz = uow.config.get("timezone")
    assert len(towns) == len(stations) == 4
    by_agency = {t.agency_id: t for t in towns}
    polys = []
    for s in stations:
        t = by_agency[s.id]
        p = shape(t.geometry)  # type: ignore[arg-type]
        polys.append(p)
        assert p.buffer(1e-6).contains(Point(s.lon, s.lat)), s.code
        assert t.population == round(km2(p, p.centroid.y) * 9000)
    assert union_all(polys).area == pytest.approx(sum(p.area for p in polys), rel=1e-6)  # a tiling
    assert tz == {"name": "Europe/Helsinki"}
    # the recorded zone applies where none is given explicitly, and an explicit one wins
    implicit = Settings.model_construct(**{k: getattr(container.settings, k)
                                           for k in ("data_dir", "database_url", "secret_key")})
    assert recorded_settings(container.engine, implicit).timezone == "Europe/Helsinki"
    explicit = container.settings.copy_with(timezone="Asia/Shanghai")
    assert recorded_settings(container.engine, explicit).timezone == "Asia/Shanghai"


# ------------------------------------------------------------------ OSM stations and boundaries


def _osm_city(d: Path) -> Path:
    """A 6 × 6 street grid with two police objects (one a visa office) and two administrative boundaries at
    level 8: a complete one (west half, with a population tag) and one whose member way is missing."""
    nodes = grid_nodes(6, lon0=113.90, lat0=22.50)
    ways = [(1000 + r, [r * 100 + c + 1 for c in range(6)], {"highway": "residential", "name": f"路{r}"})
            for r in range(6)]
    ways += [(2000 + c, [r * 100 + c + 1 for r in range(6)], {"highway": "residential"}) for c in range(6)]
    nodes |= {9001: (113.9011, 22.5021), 9002: (113.9031, 22.5031)}
    text = write_osm(d / "city.osm", nodes, ways).read_text(encoding="utf-8")
    police = ('<node id="9001" version="1" lat="22.5021000" lon="113.9011000">'
              '<tag k="amenity" v="police"/><tag k="name" v="测试派出所"/></node>\n'
              '<node id="9002" version="1" lat="22.5031000" lon="113.9031000">'
              '<tag k="amenity" v="police"/><tag k="name" v="出入境接待大厅"/></node>\n')
    text = text.replace('<node id="9001" version="1" lat="22.5021000" lon="113.9011000"/>\n', "")
    text = text.replace('<node id="9002" version="1" lat="22.5031000" lon="113.9031000"/>\n', police)
    ring = [1, 2, 3, 103, 203, 303, 403, 503, 502, 501, 401, 301, 201, 101, 1]
    boundary = ('<way id="3000" version="1">' + "".join(f'<nd ref="{n}"/>' for n in ring) + "</way>\n"
                '<relation id="4000" version="1"><member type="way" ref="3000" role="outer"/>'
                '<tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/>'
                '<tag k="name" v="西测试街道"/><tag k="name:en" v="West Test Subdistrict"/>'
                '<tag k="population" v="12345"/></relation>\n'
                '<relation id="4001" version="1"><member type="way" ref="3999" role="outer"/>'
                '<tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/>'
                '<tag k="name" v="东测试街道"/></relation>\n')
    text = text.replace("</osm>", boundary + "</osm>")
    (d / "city.osm").write_text(text, encoding="utf-8")
    (d / "setup.yaml").write_text("""\
network: city.osm
timezone: Asia/Shanghai
agencies: [{code: C, name: 测试市公安局, kind: city_bureau}, {code: B, name: 测试分局, kind: branch_bureau, parent: C}]
stations: osm
towns: {source: osm-boundaries, admin_level: 8, agency: B}
admin: {username: admin}
""", encoding="utf-8")
    return d / "setup.yaml"


def test_stations_and_towns_from_osm(container: Container, tmp_path: Path) -> None:
    manifest = _osm_city(tmp_path)
    r = run_setup(manifest, container, dry_run=True)
    # the visa office is not a station; the precinct station is, named from its tags, under the one branch
    stations = [a for a in r.agencies if a.kind == "station"]
    assert [(a.code, a.name, a.parent, a.source) for a in stations] == [("OSM-N9001", "测试派出所", "B",
                                                                          "osm:node/9001")]
    assert any("出入境接待大厅" in n for n in r.plan.notes)
    strict = run_setup(manifest, container, dry_run=True, strict=True)
    assert ("--strict", "strict_note") in [(x.where, x.code) for x in strict.plan.rejections]
    # the complete boundary is a town with its tagged population; the incomplete one is rejected by name
    assert [(t.code, t.name, t.name_en, t.population) for t in r.towns] == [
        ("OSM-R4000", "西测试街道", "West Test Subdistrict", 12345)]
    expected = shape({"type": "Polygon", "coordinates": [[(113.90, 22.50), (113.902, 22.50), (113.902, 22.505),
                                                          (113.90, 22.505), (113.90, 22.50)]]})
    assert shape(r.towns[0].geometry).symmetric_difference(expected).area < 1e-12  # type: ignore[arg-type]
    assert [(x.where, x.code) for x in r.plan.rejections] == [("city.osm relation/4001 (东测试街道)",
                                                               "incomplete_boundary")]


# ------------------------------------------------------------------ the served network


def test_import_records_the_network_and_a_running_process_switches(container: Container) -> None:
    first = container.get(ROAD_GRAPH)  # nothing recorded: the JINGWU_OSM_FILE setting (the demo's extract)
    assert first.bbox[0] < 105
    geo = container.get(GEO)
    assert not check_switch(container)  # nothing recorded yet: nothing to do
    import_network(NANSHAN, cache_dir=graph_cache_dir(container.settings), uow=container.uow(), actor="test")
    assert recorded_network(container.read_uow()).path == NANSHAN.resolve()  # type: ignore[union-attr]
    assert check_switch(container)
    now = container.get(ROAD_GRAPH)
    assert now is not first and 113 < now.bbox[0] < 114
    assert container.get(GEO) is not geo and container.get(GEO).graph is now  # dispatch's placement follows
    assert b"113.9" in container.get(ROADS_GEOJSON)
    assert not check_switch(container)  # and stays


def test_build_only_import_does_not_switch(container: Container) -> None:
    import_network(NANSHAN, cache_dir=graph_cache_dir(container.settings), uow=None, actor="test")
    assert recorded_network(container.read_uow()) is None


# ------------------------------------------------------------------ the command line


def _run(args: list[str], data: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("JINGWU_DATABASE_URL", "JINGWU_ADMIN_PASSWORD")}
    e.update({"JINGWU_DATA_DIR": str(data), "JINGWU_SECRET_KEY": "cli-test-secret-0123456789",
              "JINGWU_GRAPH_DIR": str(GRAPH_DIR), **env})
    return subprocess.run([JINGWU, *args], env=e, capture_output=True, text=True, timeout=300, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def test_cli_dry_run_rejection_apply_and_users(tmp_path: Path) -> None:
    d = tmp_path / "city"
    d.mkdir()
    for f in (TESTS / "data" / "shenzhen" / "setup").iterdir():
        shutil.copy(f, d / f.name)
    shutil.copy(NANSHAN, d / "nanshan.osm")
    (d / "setup.yaml").write_text("network: nanshan.osm\ntimezone: Asia/Shanghai\nagencies: agencies.csv\n"
                                  "stations: stations.csv\ntowns: towns.geojson\nunits: units.csv\n"
                                  "admin: {username: admin}\n", encoding="utf-8")
    data = tmp_path / "var"
    dry = _run(["setup", "setup.yaml", "--dry-run"], data, d)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was changed" in dry.stdout and "created   unit   粤B011" in dry.stdout
    no_pw = _run(["setup", "setup.yaml"], data, d)
    assert no_pw.returncode == 1 and "error [missing_password]" in no_pw.stderr
    units = (d / "units.csv").read_text(encoding="utf-8")
    (d / "units.csv").write_text(units + "粤B999,patrol_car,NOPE,,,car\n", encoding="utf-8")
    bad = _run(["setup", "setup.yaml"], data, d, JINGWU_ADMIN_PASSWORD="admin-password-1")
    assert bad.returncode == 1
    assert "rejected: units.csv line 14: [unknown_station]" in bad.stderr
    assert "nothing was applied" in bad.stderr
    (d / "units.csv").write_text(units, encoding="utf-8")
    ok = _run(["setup", "setup.yaml"], data, d, JINGWU_ADMIN_PASSWORD="admin-password-1")
    assert ok.returncode == 0, ok.stderr
    user = _run(["users", "create", "dispatcher1", "--agency", "440305-01", "--role", "dispatcher"], data, d,
                JINGWU_NEW_PASSWORD="dispatcher-pass-1")
    assert user.returncode == 0, user.stderr
    c = build_container(Settings(data_dir=data, secret_key="cli-test-secret-0123456789"))
    try:
        with c.uow() as uow:
            assert uow.users.by_username("dispatcher1") is not None
            audit = [e.actor for e in uow.audit_entries()]
        assert c.settings.timezone == "Asia/Shanghai"
    finally:
        c.dispose()
    assert audit.count("cli:setup") >= 4
    verify = _run(["audit", "verify"], data, d)
    assert verify.returncode == 0, verify.stderr
    # `import osm --no-switch` builds without recording; without it the served network switches
    helsinki = _run(["import", "osm", str(HELSINKI), "--no-switch"], data, d)
    assert helsinki.returncode == 0 and "not recorded" in helsinki.stdout
    switched = _run(["import", "osm", str(HELSINKI)], data, d)
    assert switched.returncode == 0 and "served network" in switched.stdout
    c = build_container(Settings(data_dir=data, secret_key="cli-test-secret-0123456789"))
    try:
        assert recorded_network(c.read_uow()).path == HELSINKI.resolve()  # type: ignore[union-attr]
    finally:
        c.dispose()


def test_forgetting_a_slot_drops_what_was_built_from_it(container: Container) -> None:
    from jingwu.platform.container import Slot

    base: Slot[list[int]] = Slot("test.base", lambda c: [1])
    built: Slot[tuple[int, ...]] = Slot("test.built", lambda c: tuple(c.get(base)))
    other: Slot[list[int]] = Slot("test.other", lambda c: [2])
    b1, o1 = container.get(built), container.get(other)
    assert container.get(built) is b1
    container.forget(base)
    assert container.peek(built) is None and container.get(other) is o1  # only the dependent goes
    assert container.get(built) == (1,) and container.get(built) is not b1

    # something forgotten while a slot is being built: the object is used once, not kept
    racing: Slot[list[int]] = Slot("test.racing", lambda c: (c.forget(other), [3])[1])
    assert container.get(racing) == [3] and container.peek(racing) is None


def test_stations_as_geojson_read_like_the_csv(container: Container, tmp_path: Path) -> None:
    d = tmp_path / "city"
    shutil.copytree(TESTS / "data" / "shenzhen" / "setup", d)
    shutil.copy(NANSHAN, d / "nanshan.osm")
    with (d / "stations.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
              "properties": {k: r[k] for k in ("code", "name", "name_en", "branch")}} for r in rows]
    (d / "stations.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    base = ("network: nanshan.osm\ntimezone: Asia/Shanghai\nagencies: agencies.csv\ntowns: towns.geojson\n"
            "units: units.csv\nadmin: {username: admin}\n")
    (d / "a.yaml").write_text(base + "stations: stations.csv\n", encoding="utf-8")
    (d / "b.yaml").write_text(base + "stations: stations.geojson\n", encoding="utf-8")
    a = run_setup(d / "a.yaml", container, dry_run=True)
    b = run_setup(d / "b.yaml", container, dry_run=True)
    assert not a.plan.rejections and not b.plan.rejections
    key = [(x.code, x.name, x.name_en, x.parent, x.lon, x.lat) for x in a.agencies]
    assert key == [(x.code, x.name, x.name_en, x.parent, x.lon, x.lat) for x in b.agencies]
    assert next(x.where for x in b.agencies if x.kind == "station") == "stations.geojson feature 1 (code 440305-01)"
    # a column the schema does not know is refused with the file's first line
    (d / "units.csv").write_text("call_sign,kind,station,colour\nX1,patrol_car,440305-01,red\n", encoding="utf-8")
    c = run_setup(d / "a.yaml", container, dry_run=True)
    assert [(x.where, x.code) for x in c.plan.rejections] == [("units.csv line 1", "bad_columns")]
