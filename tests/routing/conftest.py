"""Fixtures for routing tests: the Chengdu and Shenzhen graphs (built once per session) and references."""

from __future__ import annotations

from pathlib import Path

import pytest

from jingwu.routing.graph import RoadGraph
from routing.routing_reference import Reference, parse
from support import PACKAGED_DATA, TEST_DATA, data_file

CITIES = {
    "chengdu": PACKAGED_DATA / "chengdu" / "chengdu_central_osm_2018.osm",
    "shenzhen": TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm",
}


@pytest.fixture(scope="session")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graphs")


@pytest.fixture(scope="session", params=sorted(CITIES))
def city(request: pytest.FixtureRequest, graph_cache: Path) -> tuple[str, RoadGraph, Reference]:
    name = str(request.param)
    path = data_file(CITIES[name])
    graph = RoadGraph.load_or_build(path, graph_cache)
    return name, graph, Reference(parse(path))


@pytest.fixture(scope="session")
def chengdu(graph_cache: Path) -> RoadGraph:
    path = data_file(CITIES["chengdu"])
    return RoadGraph.load_or_build(path, graph_cache)
