"""School-gate peak duty on Shenzhen Nanshan: the assignment against brute force on a small case,
capacities kept, and refusals before any work."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from jingwu.planning.schoolgates import plan_gates
from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import Metric
from jingwu.routing.graph import RoadGraph
from support import GRAPH_DIR, TEST_DATA, data_file

NANSHAN = TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm"


@pytest.fixture(scope="module")
def nanshan() -> RoadGraph:
    return RoadGraph.load_or_build(data_file(NANSHAN), GRAPH_DIR)


def test_assignment_is_the_cheapest(nanshan: RoadGraph) -> None:
    rng = np.random.default_rng(8)
    nodes = rng.choice(nanshan.n_nodes, size=7, replace=False)
    xy = np.column_stack([nanshan.node_lon[nodes], nanshan.node_lat[nodes]])
    schools = "id,lon,lat,officers\n" + "".join(f"S{i},{x},{y},1\n" for i, (x, y) in enumerate(xy[:4]))
    units = "id,lon,lat,officers\n" + "".join(f"U{i},{x},{y},2\n" for i, (x, y) in enumerate(xy[4:]))
    plan = plan_gates(schools, units, lambda: nanshan, within=3600)
    assert plan["officers_per_peak"] == 4 and plan["officer_duties_per_day"] == 8
    assert all(u["assigned"] <= u["officers"] for u in plan["units"])
    # brute force: every way to send one officer to each school from units with 2 officers each
    snaps_u = [nanshan.snap(x, y) for x, y in xy[4:]]
    snaps_s = [nanshan.snap(x, y) for x, y in xy[:4]]
    t = np.array([nanshan.one_to_many(u, snaps_s, Metric.TIME) for u in snaps_u])
    best = min(sum(t[u, s] for s, u in enumerate(choice)) for choice in itertools.product(range(3), repeat=4)
               if all(choice.count(u) <= 2 for u in range(3)))
    assert plan["total_travel_s"] == pytest.approx(best, abs=0.5)


@pytest.mark.parametrize(("schools", "units", "code"), [
    ("id,lon,lat,officers\nS1,113.94,22.54,3\n", "id,lon,lat,officers\nU1,113.94,22.54,2\n", "short"),
    ("id,lon,lat\nS1,113.94,22.54\nS1,113.95,22.54\n", "id,lon,lat,officers\nU1,113.94,22.54,2\n", "duplicate_id"),
    ("id,lon,lat\nS1,113.94,22.54\n", "id,lon,lat\nU1,113.94,22.54\n", "missing_column"),
    ("id,lon,lat,officers\nS1,113.94,22.54,-1\n", "id,lon,lat,officers\nU1,113.94,22.54,2\n", "invalid_count"),
])
def test_refusals_before_the_graph(schools: str, units: str, code: str) -> None:
    def no_graph() -> RoadGraph:
        raise AssertionError("the road graph was asked for")

    with pytest.raises(InvalidInput) as exc:
        plan_gates(schools, units, no_graph)
    assert exc.value.code == code


def test_unreachable_school(nanshan: RoadGraph, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        plan_gates("id,lon,lat\nS1,113.93,22.54\n", "id,lon,lat,officers\nU1,113.965,22.56,2\n", lambda: nanshan,
                   within=30)
    assert exc.value.code == "unreachable"
    with pytest.raises(InvalidInput) as exc:
        plan_gates("id,lon,lat\nS1,113.94,22.54\n", "id,lon,lat,officers\nU1,113.94,22.54,2\n", lambda: nanshan,
                   peaks="8-9")
    assert exc.value.code == "invalid_peaks"
