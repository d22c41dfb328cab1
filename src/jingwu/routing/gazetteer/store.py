"""The gazetteer file: one SQLite database with an FTS5 (trigram) index of every name, beside the
compiled road graph (ADR 0012).

Named like the graph cache, after the OSM file's SHA-256 (``{stem}-{sha24}.gaz.v{N}.sqlite``), written
to a temporary file and renamed into place, opened read-only by the server and the CLI. The schema:

- ``feature``: one row per street (ways of one name that touch, merged), place, POI or address, with
  its kind, names, category, rank, min_zoom, representative point, bounding box and GeoJSON geometry;
- ``alias``: every name of a feature (``name``, ``name:zh``, ``name:en``, other ``name:*``,
  ``alt_name`` …) with its normal form, full pinyin and pinyin initials; ``alias_fts`` indexes these
  three columns with the trigram tokenizer (works for CJK and Latin alike);
- ``crossing``: nodes shared by named streets of two different names (normal forms, a < b);
- ``feature_rtree``: R*Tree of the features' bounding boxes (map labels, reverse geocoding);
- ``meta``: format version, source file, the local metric projection's origin.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

FORMAT_VERSION = 1

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feature(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, osm TEXT, name TEXT NOT NULL, name_zh TEXT, name_en TEXT,
  category TEXT, rank INTEGER NOT NULL, min_zoom INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL,
  minlon REAL NOT NULL, minlat REAL NOT NULL, maxlon REAL NOT NULL, maxlat REAL NOT NULL,
  street TEXT, street_norm TEXT, housenumber TEXT, geom TEXT NOT NULL, length_m REAL);
CREATE INDEX feature_address ON feature(street_norm, housenumber);
CREATE INDEX feature_kind_name ON feature(kind, name);
CREATE TABLE alias(id INTEGER PRIMARY KEY, feature_id INTEGER NOT NULL, text TEXT NOT NULL, lang TEXT,
  norm TEXT NOT NULL, pinyin TEXT, initials TEXT);
CREATE INDEX alias_feature ON alias(feature_id);
CREATE VIRTUAL TABLE alias_fts USING fts5(norm, pinyin, initials, content='alias', content_rowid='id',
  tokenize='trigram');
CREATE TABLE crossing(a TEXT NOT NULL, b TEXT NOT NULL, node INTEGER NOT NULL, lon REAL NOT NULL,
  lat REAL NOT NULL);
CREATE INDEX crossing_ab ON crossing(a, b);
CREATE VIRTUAL TABLE feature_rtree USING rtree(id, minlon, maxlon, minlat, maxlat);
"""


def gazetteer_path(osm_path: Path, cache_dir: Path) -> Path:
    """Where the gazetteer of ``osm_path`` lives (named after the file's SHA-256, like the graph cache)."""
    with open(osm_path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    stem = Path(osm_path).name.split(".")[0]
    return Path(cache_dir) / f"{stem}-{digest[:24]}.gaz.v{FORMAT_VERSION}.sqlite"


def open_readonly(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def is_valid(path: Path) -> bool:
    """True when ``path`` is a complete gazetteer of this format version."""
    try:
        conn = open_readonly(path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            return row is not None and row[0] == str(FORMAT_VERSION)
        finally:
            conn.close()
    except sqlite3.Error:
        return False
