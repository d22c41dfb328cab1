"""Point-in-area lookup (platform/areas.py): one point, many points, shared borders, nearest fallback."""

from __future__ import annotations

import numpy as np

from jingwu.platform.areas import AreaIndex


def square(x0: float, y0: float, size: float = 1.0) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}


def test_locate_one_and_many_agree_and_the_first_listed_area_wins_on_a_shared_border() -> None:
    idx = AreaIndex([("B", square(1, 0)), ("A", square(0, 0)), ("none", None)])
    assert len(idx) == 2
    assert idx.locate(0.5, 0.5) == "A"
    assert idx.locate(1.5, 0.5) == "B"
    assert idx.locate(1.0, 0.5) == "B"  # on the shared edge: B is listed first
    assert idx.locate(5.0, 5.0) is None
    lon = np.array([0.5, 1.5, 1.0, 5.0])
    lat = np.array([0.5, 0.5, 0.5, 5.0])
    assert idx.locate_many(lon, lat) == [idx.locate(x, y) for x, y in zip(lon, lat, strict=True)]


def test_nearest_falls_back_to_the_closest_area() -> None:
    idx = AreaIndex([("A", square(0, 0)), ("B", square(10, 0))])
    assert idx.nearest(0.5, 0.5) == "A"
    assert idx.nearest(8.0, 0.5) == "B"
    assert idx.nearest(2.0, 0.5) == "A"
    empty: AreaIndex[str] = AreaIndex([])
    assert empty.locate(0, 0) is None and empty.nearest(0, 0) is None
    assert empty.locate_many(np.array([0.0]), np.array([0.0])) == [None]
