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
from datetime import UTC, date
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
from jingwu.safety_index.services.ingest import Changes, IncidentFact, local_days, record_frame, record_incidents_ex

# above this many valid rows an import is stored in SQL (no Python object per fact) and the days it touches
# are recomputed from the facts; below, per fact with incremental deltas (the same threshold as the CLI's)
BULK_ROWS = 50_000

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


def read_incidents(path: Path) -> pd.DataFrame:
    """The file as a table: Parquet with its own column types (no text round trip of millions of values:
    ``parse_frame`` takes typed times and numbers as they are), CSV and GeoJSON as text
    (``platform.tabular.read_table``)."""
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise InvalidInput(f"cannot read {path.name}: {exc}") from exc
    return read_table(path)


FRAME_COLUMNS = ("incident_id", "occurred_at", "town_id", "type_code", "category", "deaths", "injuries")


def parse_frame(df: pd.DataFrame, m: Mapping, towns: list[TownRow]) -> tuple[pd.DataFrame, list[Rejected], int]:
    """Turn a table into the valid facts as columns (``FRAME_COLUMNS``; ``occurred_at`` aware UTC) and the
    rejected rows (no storage). Vectorised: per-row Python only for rejected rows and distinct values."""
    if m.lon == "_geometry":
        m = Mapping(**{**m.__dict__, "lon": "_lon", "lat": "_lat"})
    missing = [c for c in m.columns() if c not in df.columns]
    if missing:
        raise InvalidInput(f"columns missing from the file: {missing} (found {list(df.columns)[:20]})")
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def reject(mask: np.ndarray[Any, Any], why: str) -> None:
        new = np.asarray(mask, dtype=bool) & ~bad
        for i in np.nonzero(new)[0].tolist():
            reasons[i] = why
        bad[new] = True

    ids = df[m.id].astype(str).str.strip()
    reject((ids == "").to_numpy(), f"empty id ({m.id})")
    reject(ids.duplicated(keep="first").to_numpy(), "duplicate id in the file")
    if pd.api.types.is_datetime64_any_dtype(df[m.time]):  # a typed column (Parquet): no text round trip
        t = df[m.time]
    else:
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
    if m.town:
        by_code = {t.code: t.id for t in towns}
        town_s = df[m.town].astype(str).str.strip().map(by_code)
        reject(town_s.isna().to_numpy(), f"unknown town code ({m.town})")
    else:
        if not (m.lon and m.lat):  # parse_mapping guarantees one of the two; a hand-made Mapping may not
            raise InvalidInput("mapping: give 'lon' and 'lat' columns or a 'town' column")
        lon = pd.to_numeric(df[m.lon], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[m.lat], errors="coerce").to_numpy(dtype=float)
        bad_pos = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
        reject(bad_pos, "missing or invalid position")
        good = ~bad_pos
        located = np.full(n, None, dtype=object)
        if good.any():
            located[good] = np.asarray(TownLocator(towns).locate(lon[good], lat[good]), dtype=object)
        town_s = pd.Series(located, index=df.index)
        reject(good & town_s.isna().to_numpy(), "position outside every town")
    # type: each distinct source value mapped once
    types = df[m.type].astype(str).str.strip() if m.type else pd.Series([""] * n, index=df.index)
    codes_of: dict[str, str | None] = {}
    for v in types.unique().tolist():
        code = m.type_map.get(v)
        if code is None:
            code = next((c for rx, c in m.type_rules if rx.search(v)), None)
        if code is None and CODE_RE.match(v):
            code = v
        codes_of[v] = code or m.default_type_code
    code_s = types.map(codes_of)
    reject(code_s.isna().to_numpy(), f"type not mapped ({m.type})")
    cat_s = code_s.map({c: category_for_code(c).value for c in code_s.dropna().unique().tolist()})
    if m.category:
        raw_c = df[m.category].astype(str).str.strip()
        known = {v: v for v in raw_c.unique().tolist() if v in {c.value for c in Category}}
        given = raw_c.map(known)
        reject(((raw_c != "") & given.isna()).to_numpy(), "unknown category")
        for i in np.nonzero(((raw_c != "") & given.isna()).to_numpy())[0].tolist():
            if reasons.get(i) == "unknown category":
                reasons[i] = f"unknown category {raw_c.iloc[i]!r}"
        cat_s = given.where(raw_c != "", cat_s)

    def counts(col: str | None) -> np.ndarray[Any, Any]:
        if not col:
            return np.zeros(n, dtype=np.int64)
        if pd.api.types.is_numeric_dtype(df[col]):  # typed (Parquet); a missing value counts as 0, as "" does
            v = df[col].astype(float).fillna(0.0)
        else:
            v = pd.to_numeric(df[col].astype(str).str.strip().replace("", "0"), errors="coerce")
        wrong = v.isna() | (v < 0) | (v != v.round())
        reject(wrong.to_numpy(), f"casualty count not a non-negative integer ({col})")
        return v.fillna(0).clip(lower=0).astype(np.int64).to_numpy()

    deaths, injuries = counts(m.deaths), counts(m.injuries)
    ok = ~bad
    # columns kept as pandas series (no round trip through Python objects and back to Arrow strings)
    frame = pd.DataFrame({
        "incident_id": (m.source + ":" + ids[ok]).reset_index(drop=True),
        "occurred_at": utc[ok].reset_index(drop=True),
        "town_id": town_s[ok].reset_index(drop=True), "type_code": code_s[ok].reset_index(drop=True),
        "category": cat_s[ok].fillna(Category.OTHER.value).reset_index(drop=True),
        "deaths": deaths[ok], "injuries": injuries[ok]})
    rejected = [Rejected(i + 1, str(ids.iloc[i]), why) for i, why in sorted(reasons.items())]
    return frame, rejected, n


def facts_of(frame: pd.DataFrame, source: str) -> list[IncidentFact]:
    """The rows of a parsed frame as facts (for the per-fact paths: small imports, events)."""
    times = frame["occurred_at"].dt.to_pydatetime().tolist() if len(frame) else []
    return [IncidentFact(i, at, t, c, Category(cat), int(d), int(inj), source)
            for i, at, t, c, cat, d, inj in zip(frame["incident_id"].tolist(), times, frame["town_id"].tolist(),
                                                frame["type_code"].tolist(), frame["category"].tolist(),
                                                frame["deaths"].tolist(), frame["injuries"].tolist(), strict=True)]


def parse(df: pd.DataFrame, m: Mapping, towns: list[TownRow]) -> Parsed:
    """Turn a table into facts and rejected rows (no storage)."""
    frame, rejected, n = parse_frame(df, m, towns)
    return Parsed(facts_of(frame, m.source), rejected, n)


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
    df = read_incidents(path)
    with uow_factory() as uow:
        towns = uow.towns.all()
    if not towns:
        raise InvalidInput("no towns defined: load towns (jingwu demo or an org import) before incidents")
    step("parse")
    frame, rejected, n = parse_frame(df, mapping, towns)
    if strict and rejected:
        return ImportReport(path.name, n, 0, rejected, [], committed=False)
    step("store")
    source = f"{mapping.source}:{path.name}"
    if len(frame) > BULK_ROWS:  # in SQL, no object per fact; the days are recomputed from the facts
        ch = record_frame(frame, mapping.source, uow=uow_factory(), tz=tz, import_source=source)
    else:  # per fact: the changes can be added to the stored window sums (incremental update)
        facts = facts_of(frame, mapping.source)
        ch = record_incidents_ex(facts, uow=uow_factory(), tz=tz, import_source=source) if facts else Changes()
    days = local_days(frame["occurred_at"], tz) if len(frame) else np.asarray([], dtype=object)
    return ImportReport(path.name, n, len(frame), rejected, sorted(ch.days), changes=ch,
                        first_day=min(days.tolist(), default=None), last_day=max(days.tolist(), default=None))
