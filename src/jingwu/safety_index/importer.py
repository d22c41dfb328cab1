"""Incident import from CSV, GeoJSON or Parquet with a column-mapping file
(YAML or JSON): parse times in the source's time zone, map source types to
incident-type codes, assign each incident to its town by polygon (shapely
STRtree, vectorised) or by a town-code column, and report every rejected row
with its reason. Valid rows are written in one transaction (all or nothing;
``strict`` refuses the whole file when any row is rejected).

Mapping file keys (see docs/methods/safety-index.md §Import)::

    source: seattle-spd            # prefix of incident ids (required)
    id: CAD Event Number           # column with a unique id (required)
    time: Original Time Queued     # column (required)
    time_format: "%m/%d/%Y %I:%M:%S %p"   # strptime format; ISO-8601 when omitted
    timezone: America/Los_Angeles  # zone of naive times (default UTC)
    lon: Blurred_Longitude         # position columns, or
    lat: Blurred_Latitude
    town: null                     # a column holding town codes
    type: Final Call Type          # source type column
    type_rules: [[regex, code], ...]   # first match wins (case-insensitive search)
    type_map: {value: code}        # exact values, checked before the rules
    default_type_code: "990000"    # for unmatched types (omit to reject them)
    category: null                 # optional column; else from the code
    deaths: null                   # optional casualty columns
    injuries: null
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from jingwu.platform.areas import AreaIndex
from jingwu.platform.errors import InvalidInput
from jingwu.platform.org_store import TownRow
from jingwu.platform.tabular import Rejected, load_document, read_table

__all__ = ["ImportReport", "Mapping", "Parsed", "Rejected", "import_file", "load_mapping", "parse", "parse_mapping",
           "read_table"]
from jingwu.safety_index.domain import Category, category_for_code
from jingwu.safety_index.services.ingest import Changes, IncidentFact, record_incidents_ex

CODE_RE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Mapping:
    source: str
    id: str
    time: str
    time_format: str | None = None
    timezone: str = "UTC"
    lon: str | None = None
    lat: str | None = None
    town: str | None = None
    type: str | None = None
    type_rules: tuple[tuple[re.Pattern[str], str], ...] = ()
    type_map: dict[str, str] = field(default_factory=dict)
    default_type_code: str | None = None
    category: str | None = None
    deaths: str | None = None
    injuries: str | None = None

    def columns(self) -> list[str]:
        return [c for c in (self.id, self.time, self.lon, self.lat, self.town, self.type, self.category,
                            self.deaths, self.injuries) if c]


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; any problem is an InvalidInput naming it."""
    return parse_mapping(load_document(path))


def parse_mapping(data: Any) -> Mapping:
    if not isinstance(data, dict):
        raise InvalidInput("mapping must be an object of keys")
    known = set(Mapping.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise InvalidInput(f"mapping: unknown keys {sorted(unknown)}")
    for key in ("source", "id", "time"):
        if not data.get(key) or not isinstance(data[key], str):
            raise InvalidInput(f"mapping: '{key}' is required (a column name or label)")
    if not data.get("town") and not (data.get("lon") and data.get("lat")):
        raise InvalidInput("mapping: give 'lon' and 'lat' columns or a 'town' column")
    if not data.get("type") and not data.get("default_type_code"):
        raise InvalidInput("mapping: give a 'type' column or a 'default_type_code'")
    try:
        ZoneInfo(str(data.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"mapping: unknown timezone {data.get('timezone')!r}") from exc
    rules: list[tuple[re.Pattern[str], str]] = []
    for i, item in enumerate(data.get("type_rules") or []):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InvalidInput(f"mapping: type_rules[{i}] must be [regex, code]")
        try:
            rules.append((re.compile(str(item[0]), re.IGNORECASE), str(item[1])))
        except re.error as exc:
            raise InvalidInput(f"mapping: type_rules[{i}] bad regex: {exc}") from exc
    tmap = {str(k): str(v) for k, v in (data.get("type_map") or {}).items()}
    codes = [c for _, c in rules] + list(tmap.values()) + (
        [str(data["default_type_code"])] if data.get("default_type_code") else [])
    bad = [c for c in codes if not CODE_RE.match(c)]
    if bad:
        raise InvalidInput(f"mapping: type codes must have 6 digits: {bad[:5]}")
    return Mapping(source=str(data["source"]), id=str(data["id"]), time=str(data["time"]),
                   time_format=data.get("time_format"), timezone=str(data.get("timezone") or "UTC"),
                   lon=data.get("lon"), lat=data.get("lat"), town=data.get("town"), type=data.get("type"),
                   type_rules=tuple(rules), type_map=tmap,
                   default_type_code=str(data["default_type_code"]) if data.get("default_type_code") else None,
                   category=data.get("category"), deaths=data.get("deaths"), injuries=data.get("injuries"))


@dataclass
class Parsed:
    facts: list[IncidentFact]
    rejected: list[Rejected]
    rows: int


class TownLocator:
    """The town holding each point (vectorised point-in-polygon over the towns)."""

    def __init__(self, towns: list[TownRow]) -> None:
        self._index = AreaIndex([(t.id, t.geometry) for t in towns])

    def locate(self, lon: np.ndarray[Any, Any], lat: np.ndarray[Any, Any]) -> list[str | None]:
        return self._index.locate_many(lon, lat)


def localize_keeping_date(t: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Naive local times to aware ones by the product's DST rule (the same as calls import,
    ``platform.tabular.to_utc``; docs/methods/safety-index.md, "Import"): a wall time that occurs twice when
    the clocks go back takes its first occurrence, and one that does not exist when they go forward is read
    with the offset in force before the change (Python's ``fold=0``: 02:30 in a 02:00->03:00 gap is 03:30).
    The record keeps its local date whenever the skipped hour does not end at midnight; no record is refused
    for its hour. Vectorised; only the few times at a change go through the per-row path."""
    loc = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    odd = np.nonzero((loc.isna() & t.notna()).to_numpy())[0]
    if len(odd):
        fixed = [pd.Timestamp(t.iloc[i].to_pydatetime().replace(tzinfo=tz, fold=0).astimezone(UTC)).tz_convert(tz)
                 for i in odd.tolist()]
        loc = loc.copy()
        loc.iloc[odd] = fixed
    return loc


def parse(df: pd.DataFrame, m: Mapping, towns: list[TownRow]) -> Parsed:
    """Turn a table into facts and rejected rows (no storage)."""
    if m.lon == "_geometry":
        m = Mapping(**{**m.__dict__, "lon": "_lon", "lat": "_lat"})
    missing = [c for c in m.columns() if c not in df.columns]
    if missing:
        raise InvalidInput(f"columns missing from the file: {missing} (found {list(df.columns)[:20]})")
    n = len(df)
    reasons: list[str | None] = [None] * n

    def reject(mask: np.ndarray[Any, Any], why: str) -> None:
        for i in np.nonzero(mask)[0].tolist():
            if reasons[i] is None:
                reasons[i] = why

    ids = df[m.id].astype(str).str.strip()
    reject((ids == "").to_numpy(), f"empty id ({m.id})")
    reject(ids.duplicated(keep="first").to_numpy(), "duplicate id in the file")
    raw_t = df[m.time].astype(str).str.strip()
    if m.time_format:
        t = pd.to_datetime(raw_t, format=m.time_format, errors="coerce")
    else:
        t = pd.to_datetime(raw_t, errors="coerce", utc=False, format="ISO8601")
    bad_t = t.isna().to_numpy()
    reject(bad_t, f"unparseable time ({m.time})")
    # localise naive times in the source zone; aware times converted
    utc = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    if not bad_t.all():
        tt = t[~bad_t]
        if getattr(tt.dt, "tz", None) is None:
            utc[~bad_t] = localize_keeping_date(tt, ZoneInfo(m.timezone)).dt.tz_convert(UTC)
        else:
            utc[~bad_t] = tt.dt.tz_convert(UTC)
    # town
    town_ids: list[str | None] = [None] * n
    if m.town:
        by_code = {t.code: t.id for t in towns}
        codes = df[m.town].astype(str).str.strip()
        town_ids = [by_code.get(c) for c in codes]
        reject(np.array([x is None for x in town_ids]), f"unknown town code ({m.town})")
    else:
        if not (m.lon and m.lat):  # parse_mapping guarantees one of the two; a hand-made Mapping may not
            raise InvalidInput("mapping: give 'lon' and 'lat' columns or a 'town' column")
        lon = pd.to_numeric(df[m.lon], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[m.lat], errors="coerce").to_numpy(dtype=float)
        bad_pos = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
        reject(bad_pos, "missing or invalid position")
        good = ~bad_pos
        located = TownLocator(towns).locate(lon[good], lat[good]) if good.any() else []
        for i, tid in zip(np.nonzero(good)[0].tolist(), located, strict=True):
            town_ids[i] = tid
        reject(good & np.array([x is None for x in town_ids]), "position outside every town")
    # type
    codes_out: list[str | None] = []
    types = df[m.type].astype(str).str.strip() if m.type else pd.Series([""] * n)
    cache: dict[str, str | None] = {}
    for v in types.tolist():
        if v not in cache:
            code = m.type_map.get(v)
            if code is None:
                code = next((c for rx, c in m.type_rules if rx.search(v)), None)
            if code is None and CODE_RE.match(v):
                code = v
            cache[v] = code or m.default_type_code
        codes_out.append(cache[v])
    reject(np.array([c is None for c in codes_out]), f"type not mapped ({m.type})")
    cats: list[Category | None] = [category_for_code(c) if c else None for c in codes_out]
    if m.category:
        for i, v in enumerate(df[m.category].astype(str).str.strip().tolist()):
            try:
                cats[i] = Category(v) if v else cats[i]
            except ValueError:
                reasons[i] = reasons[i] or f"unknown category {v!r}"

    def counts(col: str | None) -> np.ndarray[Any, Any]:
        if not col:
            return np.zeros(n, dtype=np.int64)
        raw = df[col].astype(str).str.strip().replace("", "0")
        v = pd.to_numeric(raw, errors="coerce")
        bad = v.isna() | (v < 0) | (v != v.round())
        reject(bad.to_numpy(), f"casualty count not a non-negative integer ({col})")
        return v.fillna(0).clip(lower=0).astype(np.int64).to_numpy()

    deaths, injuries = counts(m.deaths), counts(m.injuries)
    facts: list[IncidentFact] = []
    rejected: list[Rejected] = []
    times = utc.tolist()
    for i in range(n):
        if reasons[i] is not None:
            rejected.append(Rejected(i + 1, ids.iloc[i], reasons[i] or ""))
            continue
        at: datetime = times[i].to_pydatetime()
        facts.append(IncidentFact(f"{m.source}:{ids.iloc[i]}", at, town_ids[i], codes_out[i] or "",
                                  cats[i] or Category.OTHER, int(deaths[i]), int(injuries[i]), m.source))
    return Parsed(facts, rejected, n)


@dataclass
class ImportReport:
    file: str
    rows: int
    stored: int
    rejected: list[Rejected]
    days: list[date]
    recomputed_days: int = 0
    committed: bool = True
    changes: Changes = field(default_factory=Changes)  # what the stored rows changed
    first_day: date | None = None  # the range of days the stored rows cover (recorded in si_coverage)
    last_day: date | None = None


def import_file(path: Path, mapping: Mapping, *, uow_factory: Callable[[], Any], tz: ZoneInfo,
                strict: bool = False, progress: Callable[[str], None] | None = None) -> ImportReport:
    """Parse, then store all valid rows in one transaction (nothing when ``strict`` and any row fails)."""
    step = progress or (lambda _s: None)
    step("read")
    df = read_table(path)
    with uow_factory() as uow:
        towns = uow.towns.all()
    if not towns:
        raise InvalidInput("no towns defined: load towns (jingwu demo or an org import) before incidents")
    step("parse")
    parsed = parse(df, mapping, towns)
    if strict and parsed.rejected:
        return ImportReport(path.name, parsed.rows, 0, parsed.rejected, [], committed=False)
    step("store")
    ch = (record_incidents_ex(parsed.facts, uow=uow_factory(), tz=tz, import_source=f"{mapping.source}:{path.name}")
          if parsed.facts else Changes())
    days = [f.occurred_at.astimezone(tz).date() for f in parsed.facts]
    return ImportReport(path.name, parsed.rows, len(parsed.facts), parsed.rejected, sorted(ch.days), changes=ch,
                        first_day=min(days, default=None), last_day=max(days, default=None))
