"""The gazetteer on the Shenzhen Nanshan extract: queries made from the file's own names, answers checked
against the geometry read from the same file by an independent osmium reader (tests/geocode/osm_facts.py),
never against recorded outputs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pypinyin import Style, lazy_pinyin
from shapely.geometry import Point

from geocode.osm_facts import Facts, metres, read_facts
from jingwu.routing.gazetteer import build_gazetteer, gazetteer_path
from jingwu.routing.gazetteer.search import Gazetteer, split_housenumber, split_intersection, split_landmark
from jingwu.routing.gazetteer.text import normalise, pinyin_forms
from support import TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"
HIT_M = 50.0


@pytest.fixture(scope="module")
def facts() -> Facts:
    return read_facts(data_file(NANSHAN))


@pytest.fixture(scope="module")
def gaz(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    return Gazetteer(build_gazetteer(data_file(NANSHAN), tmp_path_factory.mktemp("gaz")))


def top_distance(gaz: Gazetteer, q: str, truth: list) -> float:  # type: ignore[type-arg]
    res = gaz.search(q, limit=1)
    assert res, f"no result for {q!r}"
    return min(metres(Point(res[0].lon, res[0].lat), t) for t in truth)


def precision(gaz: Gazetteer, cases: list[tuple[str, list]]) -> tuple[float, list[str]]:  # type: ignore[type-arg]
    misses = [q for q, truth in cases if top_distance(gaz, q, truth) > HIT_M]
    return 1 - len(misses) / len(cases), misses


# ---------------------------------------------------------------- text forms

def test_normal_forms() -> None:
    assert normalise("Mannerheimvägen") == "mannerheimvagen"
    assert normalise("1001 Shennan Ave.") == normalise("1001 shennan avenue") == "1001shennanavenue"
    assert normalise("深南 大道") == "深南大道"
    assert pinyin_forms("重庆路") == ("chongqinglu", "cql")  # heteronym 重 read from the phrase
    assert pinyin_forms("Main Street") is None


def test_query_patterns() -> None:
    assert ("南海大道", "深南大道") in split_intersection("南海大道与深南大道交叉口")
    assert ("长和路", "长月路") in split_intersection("长和路与长月路")  # 和 inside a name is also a reading
    assert ("科技路", "高新南一道") in split_intersection("科技路和高新南一道路口")
    for q in ("Main Street and 2nd Ave", "Main Street / 2nd Ave", "Main Street & 2nd Ave",
              "corner of Main Street and 2nd Ave"):
        assert split_intersection(q) == [("Main Street", "2nd Ave")], q
    assert split_housenumber("深南大道1001号") == ("深南大道", "1001")
    assert split_housenumber("1001 Shennan Avenue") == ("Shennan Avenue", "1001")
    assert split_housenumber("Mannerheimintie 3 B") == ("Mannerheimintie", "3 B")
    assert split_landmark("深圳大学东门")[:2] == ("深圳大学", (1, 0))  # type: ignore[index]
    assert split_landmark("深圳大学附近")[:2] == ("深圳大学", None)  # type: ignore[index]
    assert split_landmark("near Shenzhen University")[:2] == ("Shenzhen University", None)  # type: ignore[index]
    assert split_intersection("深南大道") == [] and split_housenumber("深南大道") is None


# ---------------------------------------------------------------- what is indexed

def test_streets_keep_every_way_once(gaz: Gazetteer, facts: Facts) -> None:
    """Ways of one name merged into streets: per name, the streets' length is the ways' length."""
    conn = sqlite3.connect(gaz.path)
    got = dict(conn.execute("SELECT name, SUM(length_m) FROM feature WHERE kind='street' GROUP BY name").fetchall())
    assert set(got) == set(facts.streets)
    for name, lines in facts.streets.items():
        expect = sum(metres(Point(a), Point(b)) for g in lines for a, b in zip(g.coords, g.coords[1:]))
        assert got[name] == pytest.approx(expect, rel=0.01), name


def test_the_gazetteer_is_built_once_and_named_after_the_file(tmp_path: Path) -> None:
    p = build_gazetteer(data_file(NANSHAN), tmp_path)
    assert p == gazetteer_path(NANSHAN, tmp_path) and p.exists()
    mtime = p.stat().st_mtime_ns
    assert build_gazetteer(NANSHAN, tmp_path) == p and p.stat().st_mtime_ns == mtime
    assert [x.name for x in tmp_path.iterdir()] == [p.name]  # no temporary file left behind


# ---------------------------------------------------------------- forward search

def test_every_street_name_finds_its_street(gaz: Gazetteer, facts: Facts) -> None:
    p, misses = precision(gaz, [(n, list(g)) for n, g in facts.streets.items()])
    assert p == 1.0, misses


def test_pinyin_full_and_initials(gaz: Gazetteer, facts: Facts) -> None:
    zh = [n for n in facts.streets if pinyin_forms(n)]
    assert len(zh) > 30
    full, misses = precision(gaz, [("".join(lazy_pinyin(n)), list(facts.streets[n])) for n in zh])
    assert full >= 0.97, misses
    initials, misses = precision(
        gaz, [("".join(lazy_pinyin(n, style=Style.FIRST_LETTER)), list(facts.streets[n])) for n in zh])
    assert initials >= 0.9, misses  # initials are ambiguous by nature (科研路 and 科苑路 are both kyl)


def test_pinyin_of_a_known_street(gaz: Gazetteer, facts: Facts) -> None:
    assert "深南大道" in facts.streets
    # 深南大道 is the only street of the extract whose initials are sndd
    assert [n for n in facts.streets if "".join(lazy_pinyin(n, style=Style.FIRST_LETTER)) == "sndd"] == ["深南大道"]
    for q in ("深南大道", "shennandadao", "shennan dadao", "sndd", "深男大道"):  # the last: a same-sound typo
        assert top_distance(gaz, q, list(facts.streets["深南大道"])) < 1.0, q


def test_english_names_find_their_street(gaz: Gazetteer, facts: Facts) -> None:
    assert len(facts.streets_en) > 20
    p, misses = precision(gaz, [(n, list(g)) for n, g in facts.streets_en.items()])
    assert p >= 0.95, misses


def test_intersections_in_every_form(gaz: Gazetteer, facts: Facts) -> None:
    pairs = sorted(facts.crossings.items())
    assert len(pairs) > 50
    for form in ("{a}与{b}交叉口", "{a}和{b}路口", "{b} / {a}", "{a} & {b}", "corner of {a} and {b}"):
        p, misses = precision(gaz, [(form.format(a=a, b=b), list(pts)) for (a, b), pts in pairs])
        assert p >= 0.97, (form, misses)


def test_intersection_results_say_so(gaz: Gazetteer, facts: Facts) -> None:
    (a, b), pts = next((k, v) for k, v in sorted(facts.crossings.items()) if len(v) == 1)
    top = gaz.search(f"{a}与{b}")[0]
    assert top.kind == "intersection" and 0 < top.confidence <= 1
    assert metres(Point(top.lon, top.lat), pts[0]) < 1.0


def test_house_numbers(gaz: Gazetteer, facts: Facts) -> None:
    from jingwu.routing.gazetteer.text import has_cjk

    cases = [(f"{s}{n.removesuffix('号')}号" if has_cjk(s) else f"{n} {s}", pts)
             for (s, n), pts in facts.addresses.items()]
    assert cases
    p, misses = precision(gaz, cases)  # type: ignore[arg-type]
    assert p >= 0.8, misses
    top = gaz.search(cases[0][0], limit=1)[0]
    assert top.kind == "address"


def test_places(gaz: Gazetteer, facts: Facts) -> None:
    p, misses = precision(gaz, [(n, list(pts)) for n, pts in facts.places.items()])
    assert p == 1.0, misses


def test_landmark_gate_is_on_the_side_of_the_outline(gaz: Gazetteer, facts: Facts) -> None:
    name, outlines = next((n, o) for n, o in sorted(facts.poi_ways.items())
                          if len(o) == 1 and len(o[0]) >= 4 and n not in facts.streets and len(n) >= 4)
    xs = [x for x, _ in outlines[0]]
    ys = [y for _, y in outlines[0]]
    east = gaz.search(f"{name}东门", limit=1)[0]
    assert east.lon == pytest.approx(max(xs)) and east.lat == pytest.approx((min(ys) + max(ys)) / 2)
    north = gaz.search(f"{name}北门", limit=1)[0]
    assert north.lat == pytest.approx(max(ys)) and north.lon == pytest.approx((min(xs) + max(xs)) / 2)
    for q in (f"{name}附近", f"{name}对面"):
        near = gaz.search(q, limit=1)[0]
        assert near.name == name and near.note


def test_results_are_ranked_by_confidence(gaz: Gazetteer) -> None:
    for q in ("科技", "nanshan", "深南", "kjl", "xx"):
        res = gaz.search(q, limit=10)
        c = [h.confidence for h in res]
        assert c == sorted(c, reverse=True) and all(0 < x <= 1 for x in c), q


def test_near_prefers_the_closer_of_two_equal_names(gaz: Gazetteer, facts: Facts) -> None:
    # a name borne by two streets far apart (not touching): near= picks the one near the point
    far = [(n, g) for n, g in facts.streets.items()
           if len(g) >= 2 and max(metres(a, b) for a in g for b in g) > 1000]
    if not far:
        pytest.fail("the extract has no name on two distant streets")
    name, lines = far[0]
    for line in lines[:2]:
        p = line.interpolate(0.5, normalized=True)
        top = gaz.search(name, limit=1, near=(p.x, p.y))[0]
        assert metres(Point(top.lon, top.lat), line) < HIT_M


# ---------------------------------------------------------------- reverse

def test_reverse_finds_the_street_under_the_point_and_the_address_nearby(gaz: Gazetteer, facts: Facts) -> None:
    for name, lines in list(facts.streets.items())[:20]:
        p = lines[0].interpolate(0.37, normalized=True)
        first = gaz.reverse(p.x, p.y)[0]
        assert first.kind == "street" and first.distance_m is not None and first.distance_m < 1.0
        assert any(metres(p, g) < 1.0 for g in facts.streets[first.name])
    (street, number), pts = sorted(facts.addresses.items())[0]
    q = pts[0]
    res = gaz.reverse(q.x + 0.0002, q.y, radius_m=100)
    hit = [h for h in res if h.kind == "address" and h.name == f"{street} {number}"]
    assert hit and hit[0].distance_m == pytest.approx(metres(Point(q.x + 0.0002, q.y), q), abs=0.5)


def test_intake_geocoding_never_refuses_for_want_of_a_gazetteer(gaz: Gazetteer) -> None:
    from jingwu.dispatch.geo import GEOCODE_MIN_CONFIDENCE, Geo
    from jingwu.routing.gazetteer.api import GazetteerUnavailable
    from jingwu.routing.graph import RoadGraph
    from support import GRAPH_DIR

    graph = RoadGraph.load_or_build(data_file(NANSHAN), GRAPH_DIR)

    def missing() -> Gazetteer:
        raise GazetteerUnavailable("no gazetteer for the served OSM file")

    assert Geo(graph, [], [], {}, gazetteer=missing).geocode_address("深南大道") is None
    assert Geo(graph, [], [], {}).geocode_address("深南大道") is None
    fix = Geo(graph, [], [], {}, gazetteer=lambda: gaz).geocode_address("深南大道")
    assert fix is not None and fix.used and fix.confidence >= GEOCODE_MIN_CONFIDENCE and fix.kind == "street"
    weak = Geo(graph, [], [], {}, gazetteer=lambda: gaz).geocode_address("qqqq 深 zzzz")
    assert weak is None or (not weak.used and weak.confidence < GEOCODE_MIN_CONFIDENCE)


def test_any_text_is_answered_without_error(gaz: Gazetteer) -> None:
    """FTS5 query syntax, LIKE wildcards and the patterns never turn user text into an error."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list('"\'*%_-/&:^()[]{}与和号东门附近交叉口 nearandofORNOT12深南大道科技路Xa'))

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet, min_size=1, max_size=30))
    def check(q: str) -> None:
        res = gaz.search(q, limit=5)
        assert len(res) <= 5 and all(0 < h.confidence <= 1 for h in res)

    check()
