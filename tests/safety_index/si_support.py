"""Safety Index test helpers: towns with square polygons under the test org's stations."""

from __future__ import annotations

from typing import Any

from jingwu.platform.container import Container
from support import Org


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


def add_towns(c: Container, org: Org, specs: list[tuple[str, str, dict[str, Any], int, str]]) -> dict[str, str]:
    """specs: (code, name, geometry, population, 'a'|'b' station) -> {code: town id}."""
    out = {}
    with c.uow() as uow:
        for code, name, geom, pop, st in specs:
            out[code] = uow.towns.add(code=code, name=name, name_en=f"{name} (en)",
                                      agency_id=org.station_a if st == "a" else org.station_b, population=pop,
                                      population_note=None, area_km2=1.0, geometry=geom, at=c.clock.now())
        uow.commit()
    return out
