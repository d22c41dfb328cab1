"""A small synthetic city for the simulation tests: a 40 × 40 grid (≈ 4 km square) as a car graph and as a
foot graph (the same streets walked at 5 km/h both ways)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jingwu.routing.graph import RoadGraph
from jingwu.routing.osm_import import BOTH
from jingwu.routing.synthetic import grid_city


@pytest.fixture(scope="package")
def city() -> dict[str, RoadGraph]:
    tab = grid_city(40, seed=3)
    walk = dataclasses.replace(tab, piece_speed=np.full(tab.piece_speed.shape, 5.0),
                               piece_dir=np.full(tab.piece_dir.shape, BOTH, dtype=np.int8))
    return {"car": RoadGraph.from_pieces(tab), "foot": RoadGraph.from_pieces(walk, mode="foot")}
