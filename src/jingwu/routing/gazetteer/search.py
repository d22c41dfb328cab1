"""Searching the gazetteer: forward (text → places), reverse (point → street, address, POIs) and the
map labels of a bounding box. The method and its constants are documented in docs/methods/geocoding.md.

Candidates come from the FTS5 trigram index (any trigram of the query's normal form, its pinyin forms
matched in the ``pinyin`` and ``initials`` columns), topped up for short or mistyped queries by a LIKE
scan on the query's bigrams; rapidfuzz scores them. Intersections, landmark phrases and house numbers
are recognised by patterns and resolved through the same name search.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rapidfuzz import fuzz
from shapely.geometry import shape
from shapely.ops import nearest_points

from jingwu.routing.gazetteer.store import open_readonly
from jingwu.routing.gazetteer.text import has_cjk, normalise, pinyin_forms

KINDS = ("street", "intersection", "place", "poi", "address")
KIND_WEIGHT = {"street": 1.0, "place": 1.0, "poi": 0.97, "address": 1.0, "intersection": 1.0}
PARTIAL_WEIGHT = 0.85       # a query that is only part of a name
INITIALS_WEIGHT = 0.9       # a query matched on pinyin initials (ambiguous by nature)
MIN_SCORE = 0.45            # candidates scoring less are not returned
NEAR_MISS_M = 30.0          # two streets that share no node but pass this close "cross"
NEAR_MISS_WEIGHT = 0.9
CLUSTER_M = 120.0           # crossing nodes of one street pair this close are one intersection
LANDMARK_WEIGHT = 0.9
STREET_FALLBACK_WEIGHT = 0.7  # "street + number" when the number is not in OSM: the street itself
SAME_STREET_M = 60.0        # same-name streets this close are listed once
NEAR_DECAY_M = 20_000.0     # with near=: confidence × (1 − 0.1·min(1, d / 20 km))

_SPLIT_ZH = re.compile(r"^(.+?)(?:与|和|跟|及|交|同)(.+?)(?:的)?"
                       r"(?:交叉口|交叉路口|交界处|交汇处|交口|路口|十字路口|丁字路口)?$")
_SPLIT_EN = re.compile(r"^(?:(?:the\s+)?(?:corner|intersection|junction|crossing)\s+of\s+)?(.+?)\s*"
                       r"(?:\s(?:and|at|x)\s|&|/|＆|／|\+)\s*(.+)$", re.IGNORECASE)
_DIRS_ZH = {"东": (1, 0), "西": (-1, 0), "南": (0, -1), "北": (0, 1), "东北": (1, 1), "东南": (1, -1),
            "西北": (-1, 1), "西南": (-1, -1), "正": (0, 0), "大": (0, 0)}
_GATE_ZH = re.compile(r"^(.+?)(东北|东南|西北|西南|东|西|南|北|正|大)(?:门|门口|侧|边|面)$")
_NEAR_ZH = re.compile(r"^(?:在)?(.+?)(?:的)?(附近|旁边|周边|对面|门口|边上)$")
_NEAR_EN = re.compile(r"^(near|opposite|next to|behind|in front of|outside)\s+(?:the\s+)?(.+)$", re.IGNORECASE)
_GATE_EN = re.compile(r"^(?:the\s+)?(north|south|east|west)\s+(?:gate|entrance|side)\s+of\s+(?:the\s+)?(.+)$",
                      re.IGNORECASE)
_DIRS_EN = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
_NUM_ZH = re.compile(r"^(.+?)\s*(\d+[A-Za-z]?(?:[-之]\d+)?)\s*[号號]$")
_NUM_LEAD = re.compile(r"^(\d+[A-Za-z]?(?:-\d+)?)\s*,?\s+(\D.+)$")
_NUM_TRAIL = re.compile(r"^(\D.+?)\s+(\d+[A-Za-z]?(?:-\d+)?)$")


@dataclass
class Hit:
    kind: str
    name: str
    name_zh: str | None
    name_en: str | None
    lon: float
    lat: float
    confidence: float
    osm: str | None = None
    category: str | None = None
    matched: str | None = None
    geometry: dict[str, Any] | None = None
    note: str | None = None
    distance_m: float | None = None
    feature_ids: tuple[int, ...] = ()
    tiebreak: tuple[float, ...] = field(default=(0.0,), repr=False)

    @property
    def address_text(self) -> str:
        return self.name

    def to_dict(self, with_geometry: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "name": self.name, "name_zh": self.name_zh, "name_en": self.name_en,
                             "lon": round(self.lon, 7), "lat": round(self.lat, 7),
                             "confidence": round(self.confidence, 3), "osm": self.osm, "category": self.category,
                             "matched": self.matched, "note": self.note}
        if self.distance_m is not None:
            d["distance_m"] = round(self.distance_m, 1)
        if with_geometry:
            d["geometry"] = self.geometry or {"type": "Point", "coordinates": [self.lon, self.lat]}
        return d


class Gazetteer:
    """A read-only gazetteer file with the in-memory geometry it needs for reverse and crossings."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = open_readonly(self.path)
        self._lock = threading.Lock()
        meta: dict[str, str] = {r["key"]: r["value"] for r in self._q("SELECT key, value FROM meta")}
        self.source = meta.get("source", "")
        self.bbox = tuple(json.loads(meta.get("bbox", "[0,0,0,0]")))
        lon0, lat0 = json.loads(meta.get("origin", "[0,0]"))
        self._origin = (lon0, lat0)
        self._kx = math.cos(math.radians(lat0)) * 111_320.0
        self._ky = 110_574.0
        self._streets: tuple[list[int], Any, list[Any]] | None = None

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------ plumbing
    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self._origin[0]) * self._kx, (lat - self._origin[1]) * self._ky

    def _lonlat(self, x: float, y: float) -> tuple[float, float]:
        return x / self._kx + self._origin[0], y / self._ky + self._origin[1]

    def _metric(self, geom: Any) -> Any:
        return shapely.transform(geom, lambda a: np.column_stack(
            ((a[:, 0] - self._origin[0]) * self._kx, (a[:, 1] - self._origin[1]) * self._ky)))

    def distance_m(self, lon1: float, lat1: float, lon2: float, lat2: float) -> float:
        kx = math.cos(math.radians((lat1 + lat2) / 2)) * 111_320.0
        return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * self._ky)

    def _street_index(self) -> tuple[list[int], Any, list[Any]]:
        if self._streets is None:
            rows = self._q("SELECT id, geom FROM feature WHERE kind='street'")
            ids = [r["id"] for r in rows]
            geoms = [self._metric(shape(json.loads(r["geom"]))) for r in rows]
            self._streets = (ids, shapely.STRtree(geoms), geoms)
        return self._streets

    def _street_geom_m(self, fid: int) -> Any:
        ids, _, geoms = self._street_index()
        return geoms[ids.index(fid)]

    def feature(self, fid: int) -> sqlite3.Row:
        return self._q("SELECT * FROM feature WHERE id=?", (fid,))[0]

    # ------------------------------------------------------------ name candidates
    def _candidates(self, qn: str, qpy: tuple[str, str] | None, cap: int = 400) -> dict[int, sqlite3.Row]:
        found: dict[int, sqlite3.Row] = {}
        cols = "a.id, a.feature_id, a.text, a.lang, a.norm, a.pinyin, a.initials"

        def add(rows: list[sqlite3.Row]) -> None:
            for r in rows:
                found.setdefault(r["id"], r)

        terms: list[str] = []
        for form in {qn, *(qpy or ())}:
            terms += [form[i:i + 3] for i in range(len(form) - 2)]
        terms = list(dict.fromkeys(terms))[:60]
        if terms:
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
            add(self._q(f"SELECT {cols} FROM alias_fts f JOIN alias a ON a.id=f.rowid "
                        f"WHERE alias_fts MATCH ? ORDER BY f.rank LIMIT {cap}", (match,)))
        if len(found) < 50:
            grams = [qn[i:i + 2] for i in range(max(1, len(qn) - 1))][:8] if len(qn) >= 2 else [qn]
            for g in dict.fromkeys(grams):
                pat = "%" + g.replace("%", "").replace("_", "") + "%"
                add(self._q(f"SELECT {cols} FROM alias a WHERE a.norm LIKE ? OR a.pinyin LIKE ? "
                            f"OR a.initials LIKE ? LIMIT 200", (pat, pat, pat)))
        return found

    @staticmethod
    def _similarity(qn: str, qpy: tuple[str, str] | None, alias: sqlite3.Row) -> float:
        """rapidfuzz similarity in [0, 1] of a query to one alias (documented in geocoding.md)."""
        def sim(a: str, b: str) -> float:
            if not a or not b:
                return 0.0
            r = fuzz.ratio(a, b) / 100.0
            p = fuzz.partial_ratio(a, b) / 100.0 if min(len(a), len(b)) >= 2 else 0.0
            return max(r, PARTIAL_WEIGHT * p * (1.0 if p == 1.0 else r))

        s = sim(qn, alias["norm"])
        if not has_cjk(qn):  # Latin query: also against the pinyin of Chinese names
            if alias["pinyin"]:
                s = max(s, sim(qn, alias["pinyin"]))
            if alias["initials"] and len(qn) >= 2:
                s = max(s, INITIALS_WEIGHT * fuzz.ratio(qn, alias["initials"]) / 100.0)
        elif qpy and alias["pinyin"]:  # a Chinese query with a wrong character of the same sound
            s = max(s, 0.9 * fuzz.ratio(qpy[0], alias["pinyin"]) / 100.0)
        return s

    def match_names(self, text: str, kinds: Iterable[str] | None = None,
                    limit: int = 20) -> list[tuple[float, str, sqlite3.Row]]:
        """Features whose names match ``text``: (similarity, matched alias text, feature row), best first."""
        qn = normalise(text)
        if not qn:
            return []
        qpy = pinyin_forms(text)
        cands = self._candidates(qn, qpy)
        best: dict[int, tuple[float, str]] = {}
        for a in cands.values():
            s = self._similarity(qn, qpy, a)
            if s >= MIN_SCORE and s > best.get(a["feature_id"], (0.0, ""))[0]:
                best[a["feature_id"]] = (s, a["text"])
        if not best:
            return []
        ids = list(best)
        rows: list[sqlite3.Row] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows += self._q(f"SELECT * FROM feature WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        kinds_set = set(kinds) if kinds else None
        out = [(best[r["id"]][0], best[r["id"]][1], r) for r in rows if kinds_set is None or r["kind"] in kinds_set]
        out.sort(key=lambda t: (-t[0] * KIND_WEIGHT[t[2]["kind"]], t[2]["rank"], -(t[2]["length_m"] or 0)))
        return out[:limit]

    def _hit(self, row: sqlite3.Row, conf: float, matched: str | None, note: str | None = None) -> Hit:
        geom = json.loads(row["geom"])
        return Hit(row["kind"], row["name"], row["name_zh"], row["name_en"], row["lon"], row["lat"],
                   min(1.0, conf), row["osm"], row["category"], matched, geom, note, feature_ids=(row["id"],),
                   tiebreak=(row["rank"], -(row["length_m"] or 0.0)))

    # ------------------------------------------------------------ forward
    def search(self, query: str, limit: int = 10, near: tuple[float, float] | None = None) -> list[Hit]:
        q = " ".join(query.split())
        if not q:
            return []
        hits: list[Hit] = []
        pair = split_intersection(q)
        if pair:
            hits += self._intersections(*pair)
        num = split_housenumber(q)
        if num:
            hits += self._addresses(*num)
        landmark = split_landmark(q)
        if landmark:
            hits += self._landmarks(*landmark)
        for sim, matched, row in self.match_names(q, limit=max(limit, 10) * 2):
            hits.append(self._hit(row, sim * KIND_WEIGHT[row["kind"]], matched))
        if near is not None:
            for h in hits:
                if h.kind == "street" and h.geometry:
                    x, y = self._xy(*near)
                    p = nearest_points(self._metric(shape(h.geometry)), shapely.Point(x, y))[0]
                    h.lon, h.lat = self._lonlat(p.x, p.y)
                h.distance_m = self.distance_m(near[0], near[1], h.lon, h.lat)
                h.confidence *= 1.0 - 0.1 * min(1.0, h.distance_m / NEAR_DECAY_M)
        seen: set[tuple[str, tuple[int, ...], float, float]] = set()
        out: list[Hit] = []
        for h in sorted(hits, key=lambda h: (-h.confidence, *h.tiebreak)):
            key = (h.kind, h.feature_ids, round(h.lon, 5), round(h.lat, 5))
            if key in seen or self._same_street_as_shown(h, out):
                continue
            seen.add(key)
            out.append(h)
            if len(out) == limit:
                break
        return out

    def _same_street_as_shown(self, h: Hit, shown: list[Hit]) -> bool:
        """A street of the same name within SAME_STREET_M of one already listed (the other carriageway of a
        dual carriageway, a piece cut by a bridge) is not listed again."""
        if h.kind != "street":
            return False
        for o in shown:
            if o.kind == "street" and o.name == h.name and \
                    self._street_geom_m(o.feature_ids[0]).distance(
                        self._street_geom_m(h.feature_ids[0])) <= SAME_STREET_M:
                return True
        return False

    def _intersections(self, a_text: str, b_text: str) -> list[Hit]:
        a_cands = [c for c in self.match_names(a_text, ("street",), 6) if c[0] >= 0.6]
        b_cands = [c for c in self.match_names(b_text, ("street",), 6) if c[0] >= 0.6]
        by_name_a: dict[str, tuple[float, list[sqlite3.Row]]] = {}
        by_name_b: dict[str, tuple[float, list[sqlite3.Row]]] = {}
        for cands, by in ((a_cands, by_name_a), (b_cands, by_name_b)):
            for s, _, row in cands:
                n = normalise(row["name"])
                prev = by.get(n)
                if prev is None:
                    by[n] = (s, [row])
                else:
                    by[n] = (max(prev[0], s), [*prev[1], row])
        hits: list[Hit] = []
        for na, (sa, rows_a) in by_name_a.items():
            for nb, (sb, rows_b) in by_name_b.items():
                if na == nb:
                    continue
                lo, hi = sorted((na, nb))
                nodes = self._q("SELECT node, lon, lat FROM crossing WHERE a=? AND b=?", (lo, hi))
                conf = math.sqrt(sa * sb)
                ra, rb = rows_a[0], rows_b[0]
                if nodes:
                    for cl in self._cluster([(n["lon"], n["lat"], n["node"]) for n in nodes]):
                        lon = sum(p[0] for p in cl) / len(cl)
                        lat = sum(p[1] for p in cl) / len(cl)
                        hits.append(self._crossing_hit(ra, rb, lon, lat, conf, f"node/{cl[0][2]}",
                                                       "shared node" if len(cl) == 1 else f"{len(cl)} shared nodes"))
                    continue
                best: tuple[float, Any, Any] | None = None
                for x in rows_a:
                    for y in rows_b:
                        ga, gb = self._street_geom_m(x["id"]), self._street_geom_m(y["id"])
                        d = ga.distance(gb)
                        if d <= NEAR_MISS_M and (best is None or d < best[0]):
                            best = (d, *nearest_points(ga, gb))
                if best is not None:
                    lon, lat = self._lonlat((best[1].x + best[2].x) / 2, (best[1].y + best[2].y) / 2)
                    hits.append(self._crossing_hit(ra, rb, lon, lat, conf * NEAR_MISS_WEIGHT, None,
                                                   f"streets pass {best[0]:.0f} m apart (no shared node)"))
        return hits

    def _cluster(self, pts: list[tuple[float, float, int]]) -> list[list[tuple[float, float, int]]]:
        clusters: list[list[tuple[float, float, int]]] = []
        for p in sorted(pts, key=lambda p: p[2]):
            for cl in clusters:
                if self.distance_m(cl[0][0], cl[0][1], p[0], p[1]) <= CLUSTER_M:
                    cl.append(p)
                    break
            else:
                clusters.append([p])
        return clusters

    @staticmethod
    def _crossing_hit(ra: sqlite3.Row, rb: sqlite3.Row, lon: float, lat: float, conf: float, osm: str | None,
                      note: str) -> Hit:
        zh = f"{ra['name_zh']}与{rb['name_zh']}交叉口" if ra["name_zh"] and rb["name_zh"] else None
        en = f"{ra['name_en']} & {rb['name_en']}" if ra["name_en"] and rb["name_en"] else None
        return Hit("intersection", f"{ra['name']} / {rb['name']}", zh, en, lon, lat, min(1.0, conf), osm, None,
                   None, None, note, feature_ids=(ra["id"], rb["id"]), tiebreak=(min(ra["rank"], rb["rank"]), 0.0))

    def _addresses(self, street_text: str, number: str) -> list[Hit]:
        hn = normalise(number).removesuffix("号")
        hits: list[Hit] = []
        streets = [c for c in self.match_names(street_text, ("street",), 5) if c[0] >= 0.6]
        names: dict[str, float] = {}
        for s, _, row in streets:
            n = normalise(row["name"])
            names[n] = max(names.get(n, 0.0), s)
        # addresses carry addr:street, which may name a street the extract does not hold as a way
        street_norm = normalise(street_text)
        names.setdefault(street_norm, 1.0)
        for n, s in names.items():
            for row in self._q("SELECT * FROM feature WHERE kind='address' AND street_norm=? AND housenumber=?",
                               (n, hn)):
                h = self._hit(row, s, row["street"])
                h.name = f"{row['street']} {row['housenumber']}"
                hits.append(h)
        if not hits:
            for s, matched, row in streets[:2]:
                hits.append(self._hit(row, s * STREET_FALLBACK_WEIGHT, matched,
                                      f"house number {number} not in the OSM data: the street"))
        return hits

    def _landmarks(self, name: str, direction: tuple[int, int] | None, phrase: str) -> list[Hit]:
        hits: list[Hit] = []
        for s, matched, row in self.match_names(name, ("poi", "place"), 3):
            h = self._hit(row, s * LANDMARK_WEIGHT, matched, phrase)
            if direction and direction != (0, 0):
                # the middle of the bbox side facing the direction (the object's own point when it is a node)
                dx, dy = direction
                cx, cy = (row["minlon"] + row["maxlon"]) / 2, (row["minlat"] + row["maxlat"]) / 2
                h.lon = row["maxlon"] if dx > 0 else row["minlon"] if dx < 0 else cx
                h.lat = row["maxlat"] if dy > 0 else row["minlat"] if dy < 0 else cy
                h.geometry = None
            hits.append(h)
        return hits

    # ------------------------------------------------------------ reverse
    def reverse(self, lon: float, lat: float, radius_m: float = 100.0) -> list[Hit]:
        """Nearest street (any distance), then addresses and POIs within ``radius_m``, nearest first."""
        x, y = self._xy(lon, lat)
        pt = shapely.Point(x, y)
        hits: list[Hit] = []
        ids, tree, geoms = self._street_index()
        if ids:
            i = int(tree.nearest(pt))
            row = self.feature(ids[i])
            on = nearest_points(geoms[i], pt)[0]
            slon, slat = self._lonlat(on.x, on.y)
            h = self._hit(row, 1.0, None)
            h.lon, h.lat, h.distance_m = slon, slat, float(geoms[i].distance(pt))
            hits.append(h)
        dlat = radius_m / self._ky
        dlon = radius_m / max(1.0, math.cos(math.radians(lat)) * 111_320.0)
        rows = self._q("SELECT f.* FROM feature_rtree r JOIN feature f ON f.id=r.id WHERE r.maxlon>=? AND "
                       "r.minlon<=? AND r.maxlat>=? AND r.minlat<=? AND f.kind IN ('address','poi','place')",
                       (lon - dlon, lon + dlon, lat - dlat, lat + dlat))
        near: list[Hit] = []
        for row in rows:
            d = self.distance_m(lon, lat, row["lon"], row["lat"])
            if d <= radius_m:
                h = self._hit(row, 1.0, None)
                h.distance_m = d
                if row["kind"] == "address":
                    h.name = f"{row['street']} {row['housenumber']}"
                near.append(h)
        near.sort(key=lambda h: (h.distance_m or 0.0, h.kind != "address"))
        return hits + near[:9]

    # ------------------------------------------------------------ labels
    def labels(self, bbox: tuple[float, float, float, float], zoom: int, public: bool = False) -> dict[str, Any]:
        """Map labels in ``bbox`` drawn at ``zoom`` as a GeoJSON FeatureCollection (see api.py for the shape)."""
        w, s, e, n = bbox
        kinds = "('street','place')" if public else "('street','place','poi')"
        rows = self._q(f"SELECT f.* FROM feature_rtree r JOIN feature f ON f.id=r.id WHERE r.maxlon>=? AND "
                       f"r.minlon<=? AND r.maxlat>=? AND r.minlat<=? AND f.kind IN {kinds} AND f.min_zoom<=? "
                       f"ORDER BY f.rank, f.id", (w, e, s, n, zoom))
        tol = 360.0 / (256 * 2 ** zoom)  # one pixel at this zoom, in degrees of longitude
        clip = shapely.box(w - 10 * tol, s - 10 * tol, e + 10 * tol, n + 10 * tol)
        feats: list[dict[str, Any]] = []
        for row in rows:
            if public and row["kind"] == "street" and row["rank"] > 3:
                continue
            if row["kind"] == "street":
                g = shape(json.loads(row["geom"])).intersection(clip).simplify(tol, preserve_topology=False)
                if g.is_empty:
                    continue
                lines = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "LineString" and p.length > 0]
                if not lines:
                    continue
                geom: dict[str, Any] = ({"type": "LineString", "coordinates": _coords(lines[0])} if len(lines) == 1
                                        else {"type": "MultiLineString", "coordinates": [_coords(x) for x in lines]})
            else:
                geom = {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
            kind = row["kind"]
            feats.append({"type": "Feature", "geometry": geom, "properties": {
                "kind": kind, "name": row["name"], "name_zh": row["name_zh"], "name_en": row["name_en"],
                "rank": row["rank"], "min_zoom": row["min_zoom"]}})
        return {"type": "FeatureCollection", "features": feats}


def _coords(line: Any) -> list[list[float]]:
    return [[round(x, 6), round(y, 6)] for x, y in line.coords]


# ---------------------------------------------------------------- query patterns

def split_intersection(q: str) -> tuple[str, str] | None:
    """The two street names of an intersection query, or None ("X与Y交叉口", "X and Y", "X / Y", "X & Y",
    "corner of X and Y")."""
    if has_cjk(q):
        m = _SPLIT_ZH.match(q.replace(" ", ""))
        if m and m.group(1) and m.group(2):
            return m.group(1), m.group(2)
    m = _SPLIT_EN.match(q)
    if m and m.group(1).strip() and m.group(2).strip():
        return m.group(1).strip(), m.group(2).strip()
    return None


def split_housenumber(q: str) -> tuple[str, str] | None:
    """(street, house number) of "深南大道1001号", "1001 Shennan Avenue", "Mannerheimintie 5"; else None."""
    m = _NUM_ZH.match(q)
    if m:
        return m.group(1).strip(), m.group(2)
    m = _NUM_LEAD.match(q)
    if m:
        return m.group(2).strip(), m.group(1)
    m = _NUM_TRAIL.match(q)
    if m:
        return m.group(1).strip().rstrip(","), m.group(2)
    return None


def split_landmark(q: str) -> tuple[str, tuple[int, int] | None, str] | None:
    """(landmark name, gate direction or None, phrase) of "X东门", "X附近", "X对面", "near X", "east gate of X"."""
    m = _GATE_ZH.match(q.replace(" ", ""))
    if m and len(m.group(1)) >= 2:
        return m.group(1), _DIRS_ZH[m.group(2)], f"{m.group(2)}门 of {m.group(1)}"
    m = _NEAR_ZH.match(q.replace(" ", ""))
    if m and len(m.group(1)) >= 2:
        return m.group(1), None, f"{m.group(2)} {m.group(1)}"
    m = _GATE_EN.match(q)
    if m:
        return m.group(2), _DIRS_EN[m.group(1).lower()], f"{m.group(1).lower()} gate of {m.group(2)}"
    m = _NEAR_EN.match(q)
    if m:
        return m.group(2), None, f"{m.group(1).lower()} {m.group(2)}"
    return None
