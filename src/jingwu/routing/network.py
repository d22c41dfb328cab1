"""The served road network: which OSM file the deployment routes on, recorded in the database.

:func:`import_network` is the one way to import a road network: it builds (or
loads from the cache) the compiled graph of an OSM file and, unless told not
to, records the file as the deployment's served network
(``deployment_config`` key ``routing.served_network``: path, SHA-256, time),
with an audit entry. ``jingwu import osm`` and ``jingwu setup`` both call it;
whatever else an import must build from the OSM file belongs in this function.

The ``ROAD_GRAPH`` slot (:mod:`jingwu.routing.api`) serves the recorded
network when there is one, else the ``JINGWU_OSM_FILE`` setting (the demo's
extract by default). A running server notices a switch without a restart:
:func:`network_watch_job` compares the recorded network with the loaded one
every few seconds and reloads the graph (and, through the container, every
slot built from it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jingwu.platform.deployment_store import SERVED_NETWORK, recorded_value
from jingwu.platform.jobs import PeriodicJob
from jingwu.routing.domain import OsmCorrupt
from jingwu.routing.gazetteer.build import build_gazetteer
from jingwu.routing.settings import RoutingSettings, graph_cache_dir

if TYPE_CHECKING:
    from jingwu.platform.container import Container
    from jingwu.platform.uow import SqlUnitOfWork
    from jingwu.routing.graph import RoadGraph

log = logging.getLogger("jingwu.routing")


@dataclass(frozen=True)
class ServedNetwork:
    path: Path
    sha256: str
    recorded_at: datetime | None = None

    def same_source(self, other: ServedNetwork | None) -> bool:
        return other is not None and self.path == other.path and self.sha256 == other.sha256

    def to_value(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256,
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None}

    @classmethod
    def from_value(cls, v: dict[str, Any]) -> ServedNetwork:
        at = v.get("recorded_at")
        return cls(Path(v["path"]), str(v["sha256"]), datetime.fromisoformat(at) if at else None)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def recorded_network(uow: SqlUnitOfWork) -> ServedNetwork | None:
    """The network recorded as served, or None (then the ``JINGWU_OSM_FILE`` setting is served)."""
    with uow:
        v = uow.config.get(SERVED_NETWORK)
    return ServedNetwork.from_value(v) if v else None


def record_network(uow: SqlUnitOfWork, network: ServedNetwork, *, actor: str) -> None:
    """Record ``network`` as the served one, in the caller's open unit of work (not committed here)."""
    before = uow.config.get(SERVED_NETWORK)
    uow.config.set(SERVED_NETWORK, network.to_value(), at=uow.clock.now(), by=actor)
    uow.audit.write(actor=actor, action="served_network_recorded", object_type="deployment_config",
                    object_id=SERVED_NETWORK,
                    detail={"path": str(network.path), "sha256": network.sha256,
                            "previous": before.get("path") if before else None})


def import_network(osm_file: Path, *, cache_dir: Path, uow: SqlUnitOfWork | None, actor: str,
                   progress: bool = False) -> tuple[RoadGraph, ServedNetwork]:
    """Import a road network: build (or load from the cache) the compiled car graph and the gazetteer of
    ``osm_file`` and record it as the served network when ``uow`` is given (None: build only, switch nothing).

    Raises a ``RoutingError`` (``osm_corrupt``, ``osm_empty``, ``no_drivable_roads``) and records
    nothing when the file cannot serve.
    """
    from jingwu.routing.graph import RoadGraph

    path = Path(osm_file).resolve()
    if not path.is_file():
        raise OsmCorrupt(f"OSM file not found: {osm_file}")
    graph = RoadGraph.load_or_build(path, cache_dir, progress=progress)
    build_gazetteer(path, cache_dir, progress=progress)  # address search and map labels of the same file
    network = ServedNetwork(path, file_sha256(path))
    if uow is not None:
        with uow:
            network = ServedNetwork(path, network.sha256, uow.clock.now())
            record_network(uow, network, actor=actor)
            uow.commit()
    return graph, network


def network_to_serve(c: Container) -> ServedNetwork:
    """The recorded network, else the ``JINGWU_OSM_FILE`` setting (hashed now).

    Read on a connection of the container's main engine, which is returned to its pool, so that disposing
    of the engine (as commands and test fixtures do) closes it; a reader connection left open on SQLite
    would hold the write-ahead log back from the database file."""
    v = recorded_value(c.engine, SERVED_NETWORK)
    if v:
        return ServedNetwork.from_value(v)
    path = Path(c.settings.section(RoutingSettings).osm_file).resolve()
    return ServedNetwork(path, file_sha256(path) if path.is_file() else "")


def load_served_graph(c: Container) -> tuple[RoadGraph, ServedNetwork]:
    from jingwu.routing.graph import RoadGraph

    net = network_to_serve(c)
    if net.sha256 and net.path.is_file() and file_sha256(net.path) != net.sha256:
        log.warning("the served network changed on disk since it was recorded; serving the file as it is now",
                    extra={"path": str(net.path)})
    return RoadGraph.load_or_build(net.path, graph_cache_dir(c.settings), progress=False), net


def check_switch(c: Container) -> bool:
    """Reload the road graph when the recorded network differs from the loaded one (True when reloaded).
    Nothing is loaded when nothing was loaded yet (the slot loads lazily)."""
    from jingwu.routing.api import LOADED_NETWORK, ROAD_GRAPH

    loaded = c.get(LOADED_NETWORK).get("network")
    if c.peek(ROAD_GRAPH) is None or loaded is None:
        return False
    wanted = recorded_network(c.read_uow())
    if wanted is None or wanted.same_source(loaded):
        return False
    log.info("served road network switched; reloading", extra={"path": str(wanted.path)})
    c.forget(ROAD_GRAPH)  # also drops what was built from it (map layer, dispatch placement)
    c.get(ROAD_GRAPH)  # load it here, not in the next request
    return True


def network_watch_job(c: Container) -> PeriodicJob | None:
    seconds = c.settings.section(RoutingSettings).network_check_seconds
    if seconds <= 0:
        return None
    return PeriodicJob("routing.network_watch", lambda: check_switch(c), seconds)
