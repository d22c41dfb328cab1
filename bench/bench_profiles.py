"""Travel profiles: build time, memory and size of each mode's graph on the repository's OSM extracts.

Each (extract, mode) is built in its own process with ``RoadGraph.build`` (no cache), so the peak
resident memory is that build's; "before" is the same process with every library imported.

    .venv/bin/python bench/bench_profiles.py [FILE ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = [REPO / "src" / "jingwu" / "data" / "chengdu" / "chengdu_central_osm_2018.osm",
         REPO / "tests" / "data" / "shenzhen" / "nanshan_osm_2021-03-17.osm"]
ONE = """
import json, resource, sys, time
from pathlib import Path
from jingwu.routing.graph import RoadGraph
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
g = RoadGraph.build(Path(sys.argv[1]), mode=sys.argv[2])
took = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(build_s=took, peak_mb=peak / 1024, before_mb=before / 1024,
                      arrays_mb=sum(v.nbytes for v in g.a.values()) / 2**20, nodes=g.n_nodes, edges=g.n_edges,
                      km=g.report.kept_km)))
"""


def main() -> None:
    from jingwu.routing.profiles import MODES

    files = [Path(f) for f in sys.argv[1:]] or FILES
    print(f"{'extract':28} {'mode':9} {'nodes':>7} {'edges':>7} {'km':>7} {'arrays MB':>9} {'build s':>7} "
          f"{'peak RSS MB':>11} {'(libs MB)':>9}")
    for f in files:
        for mode in MODES:
            out = subprocess.run([sys.executable, "-c", ONE, str(f), mode], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{f.name[:28]:28} {mode:9} {r['nodes']:7d} {r['edges']:7d} {r['km']:7.1f} {r['arrays_mb']:9.2f} "
                  f"{r['build_s']:7.2f} {r['peak_mb']:11.1f} {r['before_mb']:9.1f}")


if __name__ == "__main__":
    main()
