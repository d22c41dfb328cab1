"""Police and fire stations of the demo city, taken from the packaged OSM file.

``python -m jingwu.demo.osm_stations`` regenerates
``data/chengdu/chengdu_central_osm_police_fire.csv`` from
``data/chengdu/chengdu_central_osm_2018.osm`` with
:func:`jingwu.routing.osm_places.extract` (every ``amenity=police`` and
``amenity=fire_station`` object with its name tags, its ``police=*`` subtype
and the names of the nearest named street). The precinct filter
(``non_precinct_reason``) lives there too; docs/methods/demo-city.md explains
it and names each office it drops.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from jingwu.platform.settings import PACKAGE_DIR
from jingwu.routing import osm_places
from jingwu.routing.osm_places import (
    AMENITIES,
    COLUMNS,
    KINDS,
    NAME_TAGS,
    NON_PRECINCT,
    PRECINCT_POLICE_VALUES,
    STREET_CLASSES,
    TAGS,
    OsmStation,
    non_precinct_reason,
    stations_from_rows,
)

__all__ = ["AMENITIES", "COLUMNS", "KINDS", "NAME_TAGS", "NON_PRECINCT", "PRECINCT_POLICE_VALUES",
           "STREET_CLASSES", "TAGS", "OsmStation", "extract", "non_precinct_reason", "read_stations", "write_csv"]

DATA_DIR = PACKAGE_DIR / "data" / "chengdu"
OSM_FILE = DATA_DIR / "chengdu_central_osm_2018.osm"
STATIONS_FILE = DATA_DIR / "chengdu_central_osm_police_fire.csv"


def extract(osm_path: Path = OSM_FILE) -> list[dict[str, str]]:
    """The CSV rows (``COLUMNS``) for the police and fire stations of an OSM file (the demo's by default)."""
    return osm_places.extract(osm_path)


def read_stations(path: Path = STATIONS_FILE) -> list[OsmStation]:
    with path.open(encoding="utf-8") as fh:
        return stations_from_rows(list(csv.DictReader(fh)))


def write_csv(rows: list[dict[str, str]], path: Path = STATIONS_FILE) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":  # pragma: no cover
    write_csv(extract(Path(sys.argv[1]) if len(sys.argv) > 1 else OSM_FILE))
