"""The served road network in every travel mode: one compiled graph per profile (ADR 0013), each
loaded from its cache (or built and cached) on first use, all from the same OSM file.

:class:`RoadGraphs` is what the ``ROAD_GRAPHS`` container slot holds (:mod:`jingwu.routing.api`). The
car graph is not loaded twice: it is the ``ROAD_GRAPH`` slot's graph. When that graph is replaced (the
served network switched), the other modes' graphs are dropped and rebuilt from the new source on
their next use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from jingwu.routing.graph import RoadGraph
from jingwu.routing.profiles import MODES, get_profile


class RoadGraphs:
    """``graph(mode)``: the served network's graph for ``car``, ``motorbike``, ``bicycle`` or ``foot``."""

    def __init__(self, osm_file: Callable[[], Path], cache_dir: Path,
                 car: Callable[[], RoadGraph] | None = None) -> None:
        self._osm_file = osm_file
        self._cache_dir = Path(cache_dir)
        self._car = car
        self._graphs: dict[str, RoadGraph] = {}
        self._car_seen: RoadGraph | None = None
        self._locks = {m: threading.Lock() for m in MODES}
        self._lock = threading.Lock()

    def graph(self, mode: str) -> RoadGraph:
        get_profile(mode)  # invalid_argument for an unknown mode
        if mode == "car" and self._car is not None:
            return self._car()
        if self._car is not None:
            car = self._car()
            if car is not self._car_seen:  # the served network changed: forget graphs of the old one
                with self._lock:
                    if car is not self._car_seen:
                        self._graphs = {}
                        self._car_seen = car
        g = self._graphs.get(mode)
        if g is not None:
            return g
        with self._locks[mode]:
            g = self._graphs.get(mode)
            if g is None:
                g = RoadGraph.load_or_build(self._osm_file(), self._cache_dir, mode=mode)
                with self._lock:
                    self._graphs[mode] = g
            return g

    __call__ = graph

    def loaded(self) -> tuple[str, ...]:
        """Modes whose graph is in memory now (the car graph counts once it was asked for)."""
        return tuple(m for m in MODES if m in self._graphs or (m == "car" and self._car_seen is not None))
