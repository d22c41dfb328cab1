"""``jingwu setup`` on the Nanshan (Shenzhen) extract, which the demo does not use: a deployment from files,
idempotent re-runs, dry runs that change nothing, and each kind of bad input rejected by name with nothing
stored. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely import union_all
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from jingwu.app import create_app
from jingwu.platform.container import Container
from jingwu.platform.deployment_store import SERVED_NETWORK, TIMEZONE, deployment_config
from jingwu.platform.errors import InvalidInput
from jingwu.platform.tables import agencies, audit_log, towns, units, users
from jingwu.routing.gcj02 import wgs84_to_gcj02
from jingwu.routing.geodesy import haversine_m
from jingwu.setup.services import SetupResult, run_setup
from support import both_databases, login

DATA = Path(__file__).resolve().parents[1] / "data" / "shenzhen"
OSM = DATA / "nanshan_osm_2021-03-17.osm"
FILES = DATA / "setup"
PASSWORD = "admin-password-1"
MANIFEST = """\
version: 1
network: nanshan.osm
timezone: Asia/Shanghai
agencies: agencies.csv
stations: stations.csv
towns: towns.geojson
units: units.csv
admin:
  username: admin
  display_name: 系统管理员
"""
TABLES = (agencies, towns, units, users, audit_log, deployment_config)


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """A scratch directory with the manifest and its files (tests edit the copies)."""
    d = tmp_path / "city"
    d.mkdir()
    for f in FILES.iterdir():
        shutil.copy(f, d / f.name)
    shutil.copy(OSM, d / "nanshan.osm")
    (d / "jingwu-setup.yaml").write_text(MANIFEST, encoding="utf-8")
    return d


def setup(c: Container, city: Path, dry_run: bool = False) -> SetupResult:
    return run_setup(city / "jingwu-setup.yaml", c, dry_run=dry_run, password=lambda: PASSWORD)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def counts(c: Container) -> dict[str, int]:
    with c.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in TABLES}


def osm_extent(path: Path) -> tuple[float, float, float, float]:
    """The extent of the file's nodes, read with a regular expression (independent of the importer)."""
    text = path.read_text(encoding="utf-8")
    lats = [float(x) for x in re.findall(r'<node[^>]*\slat="([-0-9.]+)"', text)]
    lons = [float(x) for x in re.findall(r'<node[^>]*\slon="([-0-9.]+)"', text)]
    return min(lons), min(lats), max(lons), max(lats)


# ------------------------------------------------------------------ the deployment


@both_databases
def test_setup_builds_a_serving_deployment_from_the_files(container: Container, city: Path) -> None:
    r = setup(container, city)
    assert r.applied and not r.plan.rejections
    stations = read_csv(city / "stations.csv")
    unit_rows = read_csv(city / "units.csv")
    town_feats = json.loads((city / "towns.geojson").read_text(encoding="utf-8"))["features"]
    with container.uow() as uow:
        tree = uow.agencies.in_subtree("/")
        stored_towns = uow.towns.all()
        stored_units = uow.units.in_subtree("/")
        admin = uow.users.by_username("admin")
        tz = uow.config.get(TIMEZONE)
        net = uow.config.get(SERVED_NETWORK)
    by_code = {a.code: a for a in tree}
    assert set(by_code) == {"440300-PSB", "440305-PSB"} | {s["code"] for s in stations}
    for s in stations:
        a = by_code[s["code"]]
        assert (a.kind, a.name, a.name_en) == ("station", s["name"], s["name_en"])
        assert (a.lon, a.lat) == (float(s["lon"]), float(s["lat"]))
        assert by_code[s["branch"]].id == a.parent_id
        assert a.jurisdiction is not None and shape(a.jurisdiction).buffer(1e-6).contains(Point(a.lon, a.lat))
    assert by_code["440305-PSB"].parent_id == by_code["440300-PSB"].id
    # station jurisdictions tile the network's box without overlapping
    polys = [shape(by_code[s["code"]].jurisdiction) for s in stations]  # type: ignore[arg-type]
    union = union_all(polys)
    assert union.area == pytest.approx(sum(p.area for p in polys), rel=1e-6)
    # towns as given
    assert {t.code: (t.name, t.population, t.agency_id) for t in stored_towns} == {
        f["properties"]["code"]: (f["properties"]["name"], f["properties"]["population"], by_code["440305-PSB"].id)
        for f in town_feats}
    # units: at the given position, or at their station on the nearest road
    got = {u.call_sign: u for u in stored_units}
    assert set(got) == {u["call_sign"] for u in unit_rows}
    for row in unit_rows:
        u = got[row["call_sign"]]
        st = by_code[row["station"]]
        assert (u.kind, u.agency_id, u.status) == (row["kind"], st.id, "available")
        if row["lon"]:
            assert (u.home_lon, u.home_lat) == pytest.approx((float(row["lon"]), float(row["lat"])), abs=1e-7)
        else:
            assert haversine_m(u.home_lon, u.home_lat, st.lon, st.lat) < 300  # type: ignore[arg-type]
    assert admin is not None and {r.value for r in admin.roles} == {"admin"}
    assert tz == {"name": "Asia/Shanghai"}
    assert net is not None and Path(net["path"]) == (city / "nanshan.osm").resolve()
    with container.engine.connect() as conn:
        entries = conn.execute(select(audit_log.c.action, audit_log.c.actor, audit_log.c.detail)).all()
    mine = {a: json.loads(d) for a, actor, d in entries if actor == "cli:setup"}
    assert sorted(mine["setup_units"]["created"]) == sorted(u["call_sign"] for u in unit_rows)
    assert mine["setup_applied"]["counts"]["town"]["created"] == len(town_feats)
    assert "user_created" in mine and "served_network_recorded" in mine

    # the server serves the new network and the administrator logs in
    west, south, east, north = osm_extent(city / "nanshan.osm")
    app = create_app(container.settings, container)
    with TestClient(app) as client:
        h = login(client, "admin", PASSWORD)
        roads = client.get("/api/v1/map/roads", headers=h)
        assert roads.status_code == 200
        pts = [p for f in roads.json()["features"] for p in f["geometry"]["coordinates"]]
        assert pts and all(west <= x <= east and south <= y <= north for x, y in pts)
        assert len(client.get("/api/v1/units", headers=h).json()) == len(unit_rows)


@both_databases
def test_a_second_run_changes_nothing_and_an_edited_row_is_updated(container: Container, city: Path) -> None:
    setup(container, city)
    before = counts(container)
    again = setup(container, city)
    assert again.applied
    assert {c.action for c in again.plan.changes} == {"unchanged"}
    after = counts(container)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items()
                                                                     if k != "audit_log"}
    # one station renamed, one town re-peopled: exactly these two rows are updated
    rows = read_csv(city / "stations.csv")
    rows[1]["name"] = "沙河派出所（新址）"
    write_csv(city / "stations.csv", rows)
    doc = json.loads((city / "towns.geojson").read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["population"] += 1000
    (city / "towns.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    third = setup(container, city)
    changed = [(c.kind, c.key, c.fields) for c in third.plan.changes if c.action != "unchanged"]
    assert changed == [("agency", rows[1]["code"], ("name",)),
                       ("town", doc["features"][0]["properties"]["code"], ("population",))]
    with container.uow() as uow:
        assert uow.agencies.by_code(rows[1]["code"]).name == "沙河派出所（新址）"  # type: ignore[union-attr]
        town = next(t for t in uow.towns.all() if t.code == doc["features"][0]["properties"]["code"])
    assert town.population == doc["features"][0]["properties"]["population"]
    assert counts(container)["agencies"] == before["agencies"]


@both_databases
def test_dry_run_changes_nothing(container: Container, city: Path) -> None:
    empty = counts(container)
    plan = setup(container, city, dry_run=True)
    assert not plan.applied
    assert plan.plan.counts()["agency"]["created"] == 2 + len(read_csv(city / "stations.csv"))
    assert counts(container) == empty
    setup(container, city)
    applied = counts(container)
    rows = read_csv(city / "units.csv")
    rows.append({**rows[0], "call_sign": "粤B999"})
    write_csv(city / "units.csv", rows)
    plan = setup(container, city, dry_run=True)
    assert [(c.action, c.key) for c in plan.plan.changes if c.action != "unchanged"] == [("created", "粤B999")]
    assert counts(container) == applied


# ------------------------------------------------------------------ bad input


def _edit_feature(city: Path, i: int, **geometry: Any) -> None:
    doc = json.loads((city / "towns.geojson").read_text(encoding="utf-8"))
    doc["features"][i]["geometry"] = geometry
    (city / "towns.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _not_polygons(city: Path) -> str:
    _edit_feature(city, 1, type="LineString", coordinates=[[113.93, 22.54], [113.94, 22.55]])
    return "towns.geojson feature 2 (code T02)"


def _overlap(city: Path) -> str:
    doc = json.loads((city / "towns.geojson").read_text(encoding="utf-8"))
    a = shape(doc["features"][0]["geometry"])
    b = shape(doc["features"][1]["geometry"])
    from shapely.geometry import box, mapping

    grown = b.union(box(a.bounds[2] - 0.002, a.bounds[1], a.bounds[2], a.bounds[3]))
    doc["features"][1]["geometry"] = mapping(grown)
    (city / "towns.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return "towns.geojson feature 2 (code T02)"


def _station_outside(city: Path) -> str:
    doc = json.loads((city / "towns.geojson").read_text(encoding="utf-8"))
    del doc["features"][5]
    (city / "towns.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return "stations.csv line 7"


def _unknown_station(city: Path) -> str:
    rows = read_csv(city / "units.csv")
    rows[3]["station"] = "NO-SUCH-STATION"
    write_csv(city / "units.csv", rows)
    return "units.csv line 5"


def _no_drivable_road(city: Path) -> str:
    (city / "nanshan.osm").write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="22.54" lon="113.93"/><node id="2" lat="22.541" lon="113.931"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>', encoding="utf-8")
    return "nanshan.osm"


def _swapped(city: Path) -> str:
    rows = read_csv(city / "stations.csv")
    rows[1]["lon"], rows[1]["lat"] = rows[1]["lat"], rows[1]["lon"]
    write_csv(city / "stations.csv", rows)
    return "stations.csv line 3"


def _gcj02(city: Path) -> str:
    for name in ("stations.csv", "units.csv"):
        rows = read_csv(city / name)
        for r in rows:
            if r["lon"]:
                lon, lat = wgs84_to_gcj02(float(r["lon"]), float(r["lat"]))
                r["lon"], r["lat"] = f"{float(lon):.7f}", f"{float(lat):.7f}"
        write_csv(city / name, rows)
    return "stations and units"


@both_databases
@pytest.mark.parametrize(("spoil", "code"), [
    (_not_polygons, "not_polygons"), (_overlap, "overlapping_towns"), (_station_outside, "station_outside_towns"),
    (_unknown_station, "unknown_station"), (_no_drivable_road, "no_drivable_roads"),
    (_swapped, "swapped_coordinates"), (_gcj02, "wrong_datum")])
def test_bad_input_is_rejected_by_name_and_nothing_is_stored(container: Container, city: Path, spoil: Any,
                                                            code: str) -> None:
    where = spoil(city)
    empty = counts(container)
    r = setup(container, city)
    assert not r.applied
    assert (where, code) in [(x.where, x.code) for x in r.plan.rejections], r.plan.rejections
    assert counts(container) == empty


def test_overlap_names_both_towns_and_a_true_wgs84_set_is_not_taken_for_gcj02(container: Container,
                                                                                city: Path) -> None:
    _overlap(city)
    r = setup(container, city)
    msg = next(x.message for x in r.plan.rejections if x.code == "overlapping_towns")
    assert "T01" in msg and "T02" in msg
    assert "wrong_datum" not in {x.code for x in r.plan.rejections}


def test_manifest_with_an_unknown_key_is_refused(container: Container, city: Path) -> None:
    m = city / "jingwu-setup.yaml"
    m.write_text(MANIFEST + "password: hunter2\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        setup(container, city)
    assert e.value.code == "invalid_manifest" and "password: unknown key" in e.value.message
    assert counts(container)["agencies"] == 0


def test_rows_the_files_no_longer_name_are_kept_and_noted_and_strict_refuses(container: Container,
                                                                               city: Path) -> None:
    setup(container, city)
    rows = read_csv(city / "units.csv")
    write_csv(city / "units.csv", rows[1:])
    r = setup(container, city)
    assert r.applied
    assert any(rows[0]["call_sign"] in n and "left as they are" in n for n in r.plan.notes)
    with container.uow() as uow:
        assert rows[0]["call_sign"] in {u.call_sign for u in uow.units.in_subtree("/")}
    before = counts(container)
    strict = run_setup(city / "jingwu-setup.yaml", container, dry_run=False, strict=True)
    assert not strict.applied and [x.code for x in strict.plan.rejections] == ["strict_note"]
    assert counts(container) == before
