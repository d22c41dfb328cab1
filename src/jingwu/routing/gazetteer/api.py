"""Address search and map labels over HTTP (signed-in users with READ_ORG; the public gets only place
names and main streets).

- ``GET /api/v1/geocode?q=&limit=&near=lon,lat`` → ``{"query", "results": [hit…]}``, best first;
  a hit is ``{kind, name, name_zh, name_en, lon, lat, confidence, osm, category, matched, note,
  distance_m?, geometry}`` with kind ∈ street | intersection | place | poi | address;
- ``GET /api/v1/geocode/reverse?lon=&lat=&radius=`` → ``{"lon", "lat", "results": [hit…]}``: the
  nearest street first, then addresses, POIs and places within ``radius`` metres, nearest first,
  each with ``distance_m``;
- ``GET /api/v1/map/labels?bbox=W,S,E,N&zoom=Z`` → GeoJSON FeatureCollection of labels, properties
  ``{kind: street|place|poi, name, name_zh, name_en, rank, min_zoom}`` (streets as (Multi)LineString
  simplified to one pixel at Z, places and POIs as Points), only features with ``min_zoom ≤ Z``; a bbox
  wider or taller than 0.5° or a zoom outside [10, 20] → 422 ``invalid_bbox``;
- ``GET /api/v1/public/map/labels`` — the same without login, restricted to places and streets of
  rank ≤ 3 (primary roads and above); no POIs.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from jingwu.platform.container import Container, Slot
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError, InvalidInput
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires
from jingwu.routing.domain import RoutingError
from jingwu.routing.gazetteer.build import build_gazetteer
from jingwu.routing.gazetteer.search import Gazetteer
from jingwu.routing.settings import RoutingSettings, graph_cache_dir

MAX_BBOX_DEG = 0.5
ZOOM_RANGE = (10, 20)


class GazetteerUnavailable(AppError):
    code = "no_gazetteer"
    status = 503


def _load(c: Container) -> Gazetteer:
    osm = c.settings.section(RoutingSettings).osm_file
    try:
        return Gazetteer(build_gazetteer(osm, graph_cache_dir(c.settings)))
    except RoutingError as exc:
        raise GazetteerUnavailable(f"no gazetteer for the served OSM file: {exc}")


GAZETTEER: Slot[Gazetteer] = Slot("routing.gazetteer", _load)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
public_router = APIRouter(prefix="/api/v1/public", responses=ERROR_RESPONSES, tags=["public"])
ReadOrg = Annotated[Principal, Depends(requires(Permission.READ_ORG))]


def _finite(name: str, v: float, lo: float, hi: float) -> float:
    if not math.isfinite(v) or not lo <= v <= hi:
        raise InvalidInput(f"{name} must be a number in [{lo}, {hi}], got {v}", code="invalid_coordinate")
    return v


def parse_near(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lon_s, lat_s = text.split(",")
        return _finite("lon", float(lon_s), -180, 180), _finite("lat", float(lat_s), -90, 90)
    except ValueError:
        raise InvalidInput(f"near must be LON,LAT, got {text!r}", code="invalid_coordinate")


def parse_bbox(text: str, zoom: int) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        raise InvalidInput(f"bbox must be W,S,E,N in degrees, got {text!r}", code="invalid_bbox")
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InvalidInput(f"bbox must be W,S,E,N with W < E and S < N, got {text!r}", code="invalid_bbox")
    if e - w > MAX_BBOX_DEG or n - s > MAX_BBOX_DEG:
        raise InvalidInput(f"bbox sides must be at most {MAX_BBOX_DEG}°, got {e - w:.3f}° × {n - s:.3f}°",
                           code="invalid_bbox")
    if not ZOOM_RANGE[0] <= zoom <= ZOOM_RANGE[1]:
        raise InvalidInput(f"zoom must be in [{ZOOM_RANGE[0]}, {ZOOM_RANGE[1]}], got {zoom}", code="invalid_bbox")
    return w, s, e, n


@router.get("/geocode", tags=["geocode"])
def geocode(p: ReadOrg, c: ContainerDep, q: Annotated[str, Query(max_length=200)],
            limit: Annotated[int, Query(ge=1, le=50)] = 10, near: str | None = None) -> dict[str, Any]:
    """Address and place search: streets, intersections, places, POIs, house numbers (ranked, with confidence)."""
    if not q.strip():
        raise InvalidInput("q must not be empty", code="empty_query")
    hits = c.get(GAZETTEER).search(q, limit=limit, near=parse_near(near))
    return {"query": q, "results": [h.to_dict() for h in hits]}


@router.get("/geocode/reverse", tags=["geocode"])
def reverse(p: ReadOrg, c: ContainerDep, lon: float, lat: float,
            radius: Annotated[float, Query(gt=0, le=1000)] = 100.0) -> dict[str, Any]:
    """The nearest street, then addresses and POIs within ``radius`` metres, each with its distance."""
    _finite("lon", lon, -180, 180)
    _finite("lat", lat, -90, 90)
    hits = c.get(GAZETTEER).reverse(lon, lat, radius)
    return {"lon": lon, "lat": lat, "results": [h.to_dict(with_geometry=False) for h in hits]}


def _labels_response(c: Container, bbox: str, zoom: int, public: bool) -> Response:
    import json

    body = c.get(GAZETTEER).labels(parse_bbox(bbox, zoom), zoom, public=public)
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                    media_type="application/geo+json",
                    headers={"Cache-Control": ("public" if public else "private") + ", max-age=3600"})


@router.get("/map/labels", tags=["map"])
def labels(p: ReadOrg, c: ContainerDep, bbox: str, zoom: int) -> Response:
    """Street, place and POI labels in a bbox for a zoom (GeoJSON; drawn by the web maps)."""
    return _labels_response(c, bbox, zoom, public=False)


@public_router.get("/map/labels")
def public_labels(c: ContainerDep, bbox: str, zoom: int) -> Response:
    """Place names and main streets (primary and above) for public maps; no POIs."""
    return _labels_response(c, bbox, zoom, public=True)
