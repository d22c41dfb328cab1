"""Reading and checking the coverage planner's tables before any work starts.

Demand: ``id,weight,lon,lat``; sites: ``id,lon,lat``; costs (optional): the long table
``site,demand,cost`` in the unit of T. Headers are matched case-insensitively, a UTF-8 BOM is allowed,
extra columns are ignored. Coordinates are required when no cost table is given (travel costs then
come from the road graph); with a cost table they are optional but checked when present. A site/demand
pair missing from the cost table means the site does not reach that demand point. Every problem is an
``InvalidInput`` with a code and the offending row (file line numbers count the header as line 1).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jingwu.platform.errors import InvalidInput

MAX_ROWS = 200_000


@dataclass(frozen=True)
class Points:
    ids: list[str]
    lon: npt.NDArray[np.float64]  # nan where not given
    lat: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]  # 1 for sites

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_coords(self) -> bool:
        return bool(np.isfinite(self.lon).all() and np.isfinite(self.lat).all())


def _rows(text: str, name: str, required: Iterable[str]) -> tuple[list[dict[str, str]], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        raise InvalidInput(f"{name}: not a readable CSV table ({exc})", code="invalid_csv")
    if fields is None:
        raise InvalidInput(f"{name}: the file is empty (a header line is needed)", code="empty_table")
    header = [(h or "").strip().lower() for h in fields]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{name}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})",
                           code="missing_column")
    rows: list[dict[str, str]] = []
    try:
        for raw in reader:
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"{name}: more than {MAX_ROWS} rows", code="too_many_rows")
            rows.append({(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else ""
                         for k, v in raw.items()})
    except csv.Error as exc:
        raise InvalidInput(f"{name}: not a readable CSV table ({exc})", code="invalid_csv")
    if not rows:
        raise InvalidInput(f"{name}: no rows", code="empty_table")
    return rows, header


def _number(value: str, name: str, line: int, column: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise InvalidInput(f"{name} line {line}: {column} must be a number, got {value!r}", code="invalid_number")
    if not math.isfinite(x):
        raise InvalidInput(f"{name} line {line}: {column} must be finite, got {value!r}", code="invalid_number")
    return x


def _points(text: str, name: str, *, weighted: bool, need_coords: bool) -> Points:
    required = ["id"] + (["weight"] if weighted else []) + (["lon", "lat"] if need_coords else [])
    rows, header = _rows(text, name, required)
    has_xy = "lon" in header and "lat" in header
    ids: list[str] = []
    seen: dict[str, int] = {}
    lon = np.full(len(rows), np.nan)
    lat = np.full(len(rows), np.nan)
    weight = np.ones(len(rows))
    for i, r in enumerate(rows):
        line = i + 2
        pid = r.get("id", "")
        if not pid:
            raise InvalidInput(f"{name} line {line}: empty id", code="missing_id")
        if pid in seen:
            raise InvalidInput(f"{name} line {line}: duplicate id {pid!r} (first on line {seen[pid]})",
                               code="duplicate_id")
        seen[pid] = line
        ids.append(pid)
        if weighted:
            if not r.get("weight"):
                raise InvalidInput(f"{name} line {line}: demand {pid!r} has no weight", code="missing_weight")
            w = _number(r["weight"], name, line, "weight")
            if w < 0:
                raise InvalidInput(f"{name} line {line}: demand {pid!r} has a negative weight ({w:g})",
                                   code="negative_weight")
            weight[i] = w
        if has_xy:
            x, y = r.get("lon", ""), r.get("lat", "")
            if not x or not y:
                if need_coords:
                    raise InvalidInput(f"{name} line {line}: {pid!r} has no coordinates (lon and lat are needed "
                                       "when no cost table is given)", code="missing_coordinates")
                if x or y:
                    raise InvalidInput(f"{name} line {line}: {pid!r} has only one of lon, lat",
                                       code="missing_coordinates")
                continue
            fx, fy = _number(x, name, line, "lon"), _number(y, name, line, "lat")
            if not (-180 <= fx <= 180 and -90 <= fy <= 90):
                raise InvalidInput(f"{name} line {line}: {pid!r} lon/lat out of range ({fx}, {fy})",
                                   code="invalid_coordinates")
            lon[i], lat[i] = fx, fy
    return Points(ids, lon, lat, weight)


def read_demand(text: str, *, need_coords: bool, name: str = "demand") -> Points:
    return _points(text, name, weighted=True, need_coords=need_coords)


def read_sites(text: str, *, need_coords: bool, name: str = "sites") -> Points:
    return _points(text, name, weighted=False, need_coords=need_coords)


def read_costs(text: str, sites: Points, demand: Points, name: str = "costs") -> npt.NDArray[np.float64]:
    """(sites × demand) matrix; ``inf`` for pairs the table does not list."""
    rows, _ = _rows(text, name, ["site", "demand", "cost"])
    s_index = {s: j for j, s in enumerate(sites.ids)}
    d_index = {d: i for i, d in enumerate(demand.ids)}
    out = np.full((len(sites), len(demand)), np.inf)
    seen = np.zeros(out.shape, dtype=bool)
    for n, r in enumerate(rows):
        line = n + 2
        s, d = r.get("site", ""), r.get("demand", "")
        if s not in s_index:
            raise InvalidInput(f"{name} line {line}: unknown site {s!r} (not in the sites table)", code="unknown_site")
        if d not in d_index:
            raise InvalidInput(f"{name} line {line}: unknown demand {d!r} (not in the demand table)",
                               code="unknown_demand")
        if not r.get("cost"):
            raise InvalidInput(f"{name} line {line}: no cost for {s!r} → {d!r}", code="invalid_number")
        cost = _number(r["cost"], name, line, "cost")
        if cost < 0:
            raise InvalidInput(f"{name} line {line}: negative cost {cost:g}", code="negative_cost")
        j, i = s_index[s], d_index[d]
        if seen[j, i]:
            raise InvalidInput(f"{name} line {line}: the pair {s!r} → {d!r} is listed twice", code="duplicate_pair")
        seen[j, i] = True
        out[j, i] = cost
    return out


def read_text(path: Path, name: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read {path}: {exc.strerror or exc}", code="io_error")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: {path} is not UTF-8 text", code="invalid_encoding")


def read_incidents(text: str, tz_name: str, name: str = "incidents") -> list[tuple[float, float, datetime]]:
    """Incident places and times: columns ``time`` (or ``occurred_at``; ISO 8601, a time without offset is
    local time in ``tz_name``), ``lon``, ``lat``. Other columns are ignored (no personal data is read)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    rows, header = _rows(text, name, ["lon", "lat"])
    tcol = "time" if "time" in header else "occurred_at" if "occurred_at" in header else None
    if tcol is None:
        raise InvalidInput(f"{name}: missing column time (or occurred_at)", code="missing_column")
    out = []
    for n, r in enumerate(rows):
        line = n + 2
        raw = r.get(tcol, "")
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{name} line {line}: {tcol} must be an ISO 8601 time, got {raw!r}",
                               code="invalid_time")
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        try:
            at.astimezone(tz)
        except (OverflowError, ValueError):
            raise InvalidInput(f"{name} line {line}: {tcol} {raw!r} is out of range", code="invalid_time")
        if not r.get("lon") or not r.get("lat"):
            raise InvalidInput(f"{name} line {line}: no coordinates", code="missing_coordinates")
        x, y = _number(r["lon"], name, line, "lon"), _number(r["lat"], name, line, "lat")
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise InvalidInput(f"{name} line {line}: lon/lat out of range ({x}, {y})", code="invalid_coordinates")
        out.append((x, y, at))
    return out
