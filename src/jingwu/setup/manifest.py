"""The setup manifest (YAML), validated with pydantic: unknown keys are refused by name.

docs/deploy.md documents every key with an example. Paths are relative to the manifest's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jingwu.platform.errors import InvalidInput


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AgencyKindName = Literal["province_department", "city_bureau", "branch_bureau", "station", "fire_station"]


class AgencyEntry(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: AgencyKindName
    parent: str | None = None
    lon: float | None = None
    lat: float | None = None


class StationsFromOsm(_Strict):
    """Stations = the ``amenity=police`` objects of the road network's OSM file that pass the precinct filter."""

    source: Literal["osm"]
    parent: str | None = Field(default=None, description="agency code every station sits under")


class TownsFromBoundaries(_Strict):
    """Towns = the ``boundary=administrative`` relations of one ``admin_level`` in the OSM file."""

    source: Literal["osm-boundaries"]
    admin_level: int = Field(ge=1, le=12)
    agency: str | None = Field(default=None, description="agency code owning the towns (default: the root)")
    population_csv: str | None = Field(default=None, description="CSV name,population for towns without a "
                                                                "population tag")


class TownsByNearestStation(_Strict):
    """Towns = the station jurisdictions by road (one town per station), peopled at a given density."""

    source: Literal["nearest-station"]
    population_density: float = Field(gt=0, description="residents per km², e.g. from the latest census")
    population_note: str | None = None


class Admin(_Strict):
    username: str
    display_name: str | None = None
    agency: str | None = Field(default=None, description="agency code (default: the root of the tree)")


class Manifest(_Strict):
    version: Literal[1] = 1
    network: str = Field(description="OSM file (.osm or .osm.pbf)")
    timezone: str
    agencies: str | list[AgencyEntry]
    stations: str | StationsFromOsm
    towns: str | Annotated[TownsFromBoundaries | TownsByNearestStation, Field(discriminator="source")]
    units: str | None = None
    admin: Admin

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r} (e.g. Asia/Shanghai, Europe/Helsinki)") from None
        return v

    @field_validator("stations", mode="before")
    @classmethod
    def _stations(cls, v: Any) -> Any:
        return {"source": "osm"} if v == "osm" else v

    @field_validator("towns", mode="before")
    @classmethod
    def _towns(cls, v: Any) -> Any:
        if v in ("nearest-station", "osm-boundaries"):
            raise ValueError(f"towns: {v} needs its options, e.g. "
                             + ("{source: nearest-station, population_density: 8000}" if v == "nearest-station"
                                else "{source: osm-boundaries, admin_level: 8}"))
        return v


def _location(loc: tuple[Any, ...]) -> str:
    # drop pydantic's union-branch names (``str``, ``StationsFromOsm``) from the location
    parts = [str(p) for p in loc
             if not (isinstance(p, str) and (p[:1].isupper() or p in ("str", "osm-boundaries", "nearest-station")
                                              or "[" in p))]
    return ".".join(parts) or "(top level)"


def load_manifest(path: Path) -> tuple[Manifest, Path]:
    """The manifest and its directory; ``InvalidInput`` (``invalid_manifest``) naming each bad key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read the manifest {path}: {exc.strerror}", code="invalid_manifest") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}", code="invalid_manifest") from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path}: the manifest must be a YAML mapping of keys", code="invalid_manifest")
    try:
        m = Manifest.model_validate(raw)
    except ValidationError as exc:
        seen: dict[str, str] = {}
        errors = [(_location(tuple(e["loc"])), e) for e in exc.errors()]
        for where, e in errors:
            if e["type"] == "string_type" and any((w != where and w.startswith(where)) or
                                                  (w == where and o["type"] != "string_type")
                                                  for w, o in errors):
                continue  # the other branch of a "file name or inline value" key explains the problem
            msg = "unknown key (not part of the manifest schema; see docs/deploy.md)" \
                if e["type"] == "extra_forbidden" else e["msg"]
            seen.setdefault(f"{where}: {msg}", "")
        raise InvalidInput(f"{path}: " + "; ".join(seen), code="invalid_manifest") from None
    return m, path.resolve().parent
