"""Regenerate the setup test files of tests/data/shenzhen/setup/ from the Nanshan OSM extract:
``python tests/setup/make_nanshan_files.py``. Written once and committed; the tests read the files.

- towns.geojson: the extract's road-network bounding box cut into 3 × 2 equal rectangles (generated towns,
  not real sub-districts), peopled at Nanshan district's 2020 census density (1,795,826 residents on
  187.47 km², tests/data/census2020_county_5cities.csv and the district's published area);
- stations.csv: in each rectangle, the road node nearest its centre, moved 10 m north (generated positions,
  not the real stations);
- units.csv: two units per station, the first on a road node near its station, the second without a
  position (it starts at its station).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from jingwu.routing.graph import RoadGraph

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "shenzhen"
OUT = DATA / "setup"
DENSITY = 1_795_826 / 187.47
NAMES = [("粤海派出所", "Yuehai Police Station"), ("沙河派出所", "Shahe Police Station"),
         ("南头派出所", "Nantou Police Station"), ("西丽派出所", "Xili Police Station"),
         ("桃源派出所", "Taoyuan Police Station"), ("蛇口派出所", "Shekou Police Station")]


def main() -> None:
    from shapely.geometry import box, mapping

    from jingwu.routing.jurisdictions import km2

    g = RoadGraph.build(DATA / "nanshan_osm_2021-03-17.osm")
    w, s, e, n = g.bbox
    xy = g.node_coords()
    OUT.mkdir(exist_ok=True)
    feats, stations, units = [], [], []
    k = 0
    for j in range(2):
        for i in range(3):
            cell = box(w + (e - w) * i / 3, s + (n - s) * j / 2, w + (e - w) * (i + 1) / 3, s + (n - s) * (j + 1) / 2)
            cx, cy = cell.centroid.x, cell.centroid.y
            inside = [p for p in range(len(xy)) if cell.buffer(-0.001).contains(
                __import__("shapely").Point(xy[p, 0], xy[p, 1]))]
            best = min(inside, key=lambda p: (xy[p, 0] - cx) ** 2 + (xy[p, 1] - cy) ** 2)
            lon, lat = float(xy[best, 0]), float(xy[best, 1]) + 10 / 110574
            code = f"440305-{k + 1:02d}"
            stations.append({"code": code, "name": NAMES[k][0], "name_en": NAMES[k][1], "lon": f"{lon:.7f}",
                             "lat": f"{lat:.7f}", "branch": "440305-PSB"})
            area = km2(cell, cell.centroid.y)
            feats.append({"type": "Feature", "geometry": mapping(cell), "properties": {
                "code": f"T{k + 1:02d}", "name": f"南山测试街道{k + 1}", "name_en": f"Nanshan test town {k + 1}",
                "population": round(area * DENSITY), "agency": "440305-PSB"}})
            d = np.hypot(xy[:, 0] - lon, xy[:, 1] - lat)
            near = int(np.argsort(d)[3])
            units.append({"call_sign": f"粤B{k + 1:02d}1", "kind": "patrol_car", "station": code,
                          "lon": f"{xy[near, 0]:.7f}", "lat": f"{xy[near, 1]:.7f}", "travel_mode": "car"})
            units.append({"call_sign": f"粤B{k + 1:02d}2", "kind": "foot_patrol", "station": code,
                          "lon": "", "lat": "", "travel_mode": "foot"})
            k += 1
    (OUT / "towns.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                                                  ensure_ascii=False, indent=1), encoding="utf-8")
    for name, rows in (("stations.csv", stations), ("units.csv", units)):
        with (OUT / name).open("w", encoding="utf-8", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            wr.writeheader()
            wr.writerows(rows)
    (OUT / "agencies.csv").write_text(
        "code,name,name_en,kind,parent\n"
        "440300-PSB,深圳市公安局,Shenzhen Public Security Bureau,city_bureau,\n"
        "440305-PSB,南山分局,Nanshan Branch,branch_bureau,440300-PSB\n", encoding="utf-8")


if __name__ == "__main__":
    main()
