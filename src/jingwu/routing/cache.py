"""Getting a RoadGraph for an OSM file: build it, or load it from the on-disk cache.

A compiled graph is cached as one uncompressed ``.npz`` whose name carries the
SHA-256 of the source file, the travel profile (none for the car graph, which keeps the
name it had before profiles existed; ``.foot``, ``.bicycle``, ``.motorbike`` with the profile's rule
version for the others) and the on-disk format version (:data:`FORMAT_VERSION`); it is written
atomically and loading is a handful of ``np.load`` reads. The :data:`DERIVED` arrays are not stored but recomputed
by :func:`with_derived`. :class:`~jingwu.routing.graph.RoadGraph` exposes these
functions as its class methods ``build``, ``cache_path``, ``load_or_build``,
``load`` and ``save``; they take the graph class so subclasses get their own type back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from jingwu.routing.build import Arrays
from jingwu.routing.domain import ImportReport, OsmCorrupt
from jingwu.routing.osm_import import read_osm
from jingwu.routing.profiles import get_profile

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph

# Bumped whenever the on-disk arrays change *or* the importer / graph builder computes a different
# graph from the same file (6: only_* restrictions whose to way is not in the kept network), so that
# caches built by older code are rebuilt instead of loaded.
FORMAT_VERSION = 6
# arrays recomputed at load (cheap gathers) instead of stored: keeps the cache ~25 % smaller
DERIVED = ("ftime", "flen", "rtime", "rlen", "ftail")


def with_derived(arrays: Arrays) -> Arrays:
    """A copy of ``arrays`` with the :data:`DERIVED` arrays computed if they are missing (as after a load)."""
    a = dict(arrays)
    if "ftime" not in a:
        fedge, redge = a["fedge"], a["redge"]
        a["ftime"], a["flen"] = a["edge_time"][fedge], a["edge_len"][fedge]
        a["rtime"], a["rlen"] = a["edge_time"][redge], a["edge_len"][redge]
        n_s = a["fptr"].shape[0] - 1
        a["ftail"] = np.repeat(np.arange(n_s, dtype=np.int32), np.diff(a["fptr"]))
    return a


def build(cls: type[RoadGraph], osm_path: Path, progress: bool, mode: str = "car") -> RoadGraph:
    # the car graph is read by the importer's own drivable rule (unchanged by the travel profiles)
    profile = None if mode == "car" else get_profile(mode)
    return cls.from_pieces(read_osm(Path(osm_path), progress=progress, profile=profile), progress=progress,
                           mode=mode)


def cache_path(osm_path: Path, cache_dir: Path, mode: str = "car") -> Path:
    profile = get_profile(mode)
    with open(osm_path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    stem = Path(osm_path).name.split(".")[0]
    if mode == "car":
        return Path(cache_dir) / f"{stem}-{digest[:24]}.v{FORMAT_VERSION}.npz"
    return Path(cache_dir) / f"{stem}-{digest[:24]}.{mode}.v{FORMAT_VERSION}-{profile.version}.npz"


def load_or_build(cls: type[RoadGraph], osm_path: Path, cache_dir: Path, progress: bool,
                  mode: str = "car") -> RoadGraph:
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        raise OsmCorrupt(f"OSM file not found: {osm_path}")
    path = cls.cache_path(osm_path, cache_dir, mode)
    if path.exists():
        with contextlib.suppress(Exception):
            return cls.load(path, mode)
    graph = cls.build(osm_path, progress=progress, mode=mode)
    graph.save(path)
    # caches of the same source in older on-disk formats are dead weight now
    prefix = path.name.rsplit(".v", 1)[0]
    for old in path.parent.glob(f"{prefix}.v*.npz"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
    return graph


def save(graph: RoadGraph, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = np.asarray(json.dumps(asdict(graph.report), ensure_ascii=False))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        stored = {k: v for k, v in graph.a.items() if k not in DERIVED}
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __meta__=meta, **stored)  # type: ignore[arg-type]
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is not secret
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(cls: type[RoadGraph], path: Path, mode: str = "car") -> RoadGraph:
    with np.load(path, allow_pickle=False) as z:
        arrays: Arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(str(z["__meta__"]))
    return cls(arrays, ImportReport(**meta), mode=mode)
