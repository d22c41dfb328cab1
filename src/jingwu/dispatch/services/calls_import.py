"""Historical calls from a CAD export (CSV or Parquet) with a column mapping (YAML or JSON): ``jingwu calls
import``. Validated like the Safety Index import: every rejected row is reported with its row number and
reason, re-running stores nothing twice (``external_ref`` = source + the CAD's event number), ``strict``
stores nothing when any row is rejected, ``dry_run`` stores nothing at all.

Imported incidents are closed, marked ``source='imported'``, carry their historical times (received,
dispatched, arrived, cleared) on the incident and its timeline, are placed like live calls (a position
outside the served area is stored as ``outside_area``, never rejected), raise no live notification, and
publish ``IncidentRecorded`` through the outbox in batches (the Safety Index counts them). One audit entry
per import (counts, file SHA-256). Mapping keys: docs/methods/dispatch.md, "Importing historical calls".
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from jingwu.contracts.events import IncidentRecorded
from jingwu.dispatch.domain import Channel, IncidentStatus, LocationStatus, TypeTable, escalation_level
from jingwu.dispatch.geo import Geo, Placement
from jingwu.dispatch.services.common import AgencyHome
from jingwu.dispatch.services.intake import recorded_event
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.errors import InvalidInput
from jingwu.platform.tables import new_id
from jingwu.platform.tabular import Rejected, load_document, read_table, to_utc

TIME_FIELDS = ("received", "dispatched", "arrived", "cleared")
CHUNK = 2000  # incidents per insert (and per outbox batch, per progress step)
_KEYS = {"source", "event_number", *TIME_FIELDS, "time_format", "timezone", "type", "type_map", "type_rules",
         "default_type_code", "priority", "priority_map", "lon", "lat", "address", "summary", "officer_initiated",
         "channel"}


@dataclass(frozen=True)
class OfficerInitiatedRule:
    """Rows whose ``column`` holds one of ``values`` (compared without case and surrounding space) were
    officer-initiated (on-view, self-initiated): stored as ``incidents.officer_initiated``."""

    column: str
    values: frozenset[str]

    def matches(self, v: str) -> bool:
        return v.strip().casefold() in self.values


@dataclass(frozen=True)
class CallMapping:
    source: str
    event_number: str
    received: str
    dispatched: str | None = None
    arrived: str | None = None
    cleared: str | None = None
    time_format: str | None = None
    timezone: str = "UTC"
    type: str | None = None
    type_map: dict[str, str] = field(default_factory=dict)
    type_rules: tuple[tuple[re.Pattern[str], str], ...] = ()
    default_type_code: str | None = None
    priority: str | None = None
    priority_map: dict[str, int] = field(default_factory=dict)
    lon: str | None = None
    lat: str | None = None
    address: str | None = None
    summary: str | None = None
    officer_initiated: OfficerInitiatedRule | None = None
    channel: str = Channel.PHONE.value

    def columns(self) -> dict[str, str]:
        """Mapping key → source column, for every column the mapping names."""
        named = {k: getattr(self, k) for k in ("event_number", *TIME_FIELDS, "type", "priority", "lon", "lat",
                                              "address", "summary")}
        out = {k: v for k, v in named.items() if v}
        if self.officer_initiated:
            out["officer_initiated.column"] = self.officer_initiated.column
        return out


def _col(data: dict[str, Any], key: str, required: bool = False) -> str | None:
    v = data.get(key)
    if v is None or v == "":
        if required:
            raise InvalidInput(f"mapping: '{key}' is required (a column name of the file)", code="bad_mapping")
        return None
    if not isinstance(v, str):
        raise InvalidInput(f"mapping: '{key}' must be a column name (text), got {v!r}", code="bad_mapping")
    return v


def parse_mapping(data: Any, types: TypeTable) -> CallMapping:
    """Validate a mapping document against the type catalogue; any problem is an InvalidInput naming it."""
    if not isinstance(data, dict):
        raise InvalidInput("mapping must be an object of keys", code="bad_mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise InvalidInput(f"mapping: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}", code="bad_mapping")
    source = data.get("source")
    if not isinstance(source, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", source):
        raise InvalidInput("mapping: 'source' is required: a short name of the CAD (letters, digits, . _ -), "
                           "the prefix of every imported call's external_ref", code="bad_mapping")
    tzname = str(data.get("timezone") or "UTC")
    try:
        ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"mapping: unknown timezone {tzname!r}", code="bad_mapping") from exc

    def code(v: Any, where: str) -> str:
        c = str(v).strip()
        if c not in types.types:
            raise InvalidInput(f"mapping: {where} maps to {c!r}, which is not an incident type code of the "
                               "catalogue (GET /api/v1/incident-types)", code="unknown_type")
        return c

    raw_map = data.get("type_map") or {}
    if not isinstance(raw_map, dict):
        raise InvalidInput("mapping: type_map must map source values to type codes", code="bad_mapping")
    tmap = {str(k).strip(): code(v, f"type_map[{k!r}]") for k, v in raw_map.items()}
    rules: list[tuple[re.Pattern[str], str]] = []
    for i, item in enumerate(data.get("type_rules") or []):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InvalidInput(f"mapping: type_rules[{i}] must be [regex, code]", code="bad_mapping")
        try:
            rules.append((re.compile(str(item[0]), re.IGNORECASE), code(item[1], f"type_rules[{i}]")))
        except re.error as exc:
            raise InvalidInput(f"mapping: type_rules[{i}] bad regex: {exc}", code="bad_mapping") from exc
    default = code(data["default_type_code"], "default_type_code") if data.get("default_type_code") else None
    type_col = _col(data, "type")
    if type_col is None and default is None:
        raise InvalidInput("mapping: give a 'type' column (with type_map/type_rules) or a 'default_type_code'",
                           code="bad_mapping")
    raw_pmap = data.get("priority_map") or {}
    if not isinstance(raw_pmap, dict):
        raise InvalidInput("mapping: priority_map must map source values to priorities 1-4", code="bad_mapping")
    pmap: dict[str, int] = {}
    for k, v in raw_pmap.items():
        if not (isinstance(v, int) and 1 <= v <= 4):
            raise InvalidInput(f"mapping: priority_map[{k!r}] must be 1, 2, 3 or 4, got {v!r}", code="bad_mapping")
        pmap[str(k).strip()] = v
    oi = data.get("officer_initiated")
    rule = None
    if oi is not None:
        if not (isinstance(oi, dict) and isinstance(oi.get("column"), str) and isinstance(oi.get("values"), list)
                and oi["values"] and set(oi) <= {"column", "values"}):
            raise InvalidInput("mapping: officer_initiated must be {column: <name>, values: [<value>, ...]}",
                               code="bad_mapping")
        rule = OfficerInitiatedRule(oi["column"], frozenset(str(v).strip().casefold() for v in oi["values"]))
    lon, lat = _col(data, "lon"), _col(data, "lat")
    if (lon is None) != (lat is None):
        raise InvalidInput("mapping: give both 'lon' and 'lat' columns, or neither", code="bad_mapping")
    channel = str(data.get("channel") or Channel.PHONE.value)
    if channel not in {c.value for c in Channel}:
        raise InvalidInput(f"mapping: channel must be one of {[c.value for c in Channel]}", code="bad_mapping")
    fmt = data.get("time_format")
    if fmt is not None and not isinstance(fmt, str):
        raise InvalidInput("mapping: time_format must be a strptime format", code="bad_mapping")
    return CallMapping(source=source, event_number=str(_col(data, "event_number", True)),
                       received=str(_col(data, "received", True)), dispatched=_col(data, "dispatched"),
                       arrived=_col(data, "arrived"), cleared=_col(data, "cleared"), time_format=fmt,
                       timezone=tzname, type=type_col, type_map=tmap, type_rules=tuple(rules),
                       default_type_code=default, priority=_col(data, "priority"), priority_map=pmap,
                       lon=lon, lat=lat, address=_col(data, "address"), summary=_col(data, "summary"),
                       officer_initiated=rule, channel=channel)


def load_mapping(path: Path, types: TypeTable) -> CallMapping:
    return parse_mapping(load_document(path), types)


@dataclass(frozen=True)
class HistoricalCall:
    row: int
    event_number: str
    received: datetime
    dispatched: datetime | None
    arrived: datetime | None
    cleared: datetime | None
    type_code: str
    priority: int
    lon: float | None
    lat: float | None
    address: str | None
    summary: str | None
    officer_initiated: bool


@dataclass
class ParsedCalls:
    calls: list[HistoricalCall]
    rejected: list[Rejected]
    rows: int
    dst_ambiguous: int = 0
    dst_nonexistent: int = 0


def parse_calls(df: pd.DataFrame, m: CallMapping, types: TypeTable) -> ParsedCalls:
    """Rows → calls and rejected rows (no storage). A column the mapping names but the file lacks is an
    InvalidInput naming it (the whole file is refused)."""
    missing = {k: v for k, v in m.columns().items() if v not in df.columns}
    if missing:
        raise InvalidInput(f"mapping names columns the file does not have: "
                           f"{', '.join(f'{k}={v!r}' for k, v in missing.items())} "
                           f"(the file has: {list(df.columns)[:30]})", code="unknown_column")
    n = len(df)
    reasons: list[str | None] = [None] * n

    def reject(mask: np.ndarray[Any, Any], why: str | Callable[[int], str]) -> None:
        for i in np.nonzero(mask)[0].tolist():
            if reasons[i] is None:
                reasons[i] = why(i) if callable(why) else why

    ids = df[m.event_number].astype(str).str.strip()
    reject((ids == "").to_numpy(), f"empty event number ({m.event_number})")
    reject(ids.duplicated(keep="first").to_numpy(), "event number repeated in the file")
    zone = ZoneInfo(m.timezone)
    times: dict[str, list[datetime | None]] = {}
    amb = non = 0
    for f in TIME_FIELDS:
        col = getattr(m, f)
        if col is None:
            times[f] = [None] * n
            continue
        lt = to_utc(df[col], time_format=m.time_format, zone=zone)
        raw = df[col].astype(str).tolist()
        for i in np.nonzero(lt.bad)[0].tolist():
            reasons[i] = reasons[i] or f"unparseable {f} time {raw[i]!r} ({col})"
        times[f] = lt.utc
        amb += lt.dst_ambiguous
        non += lt.dst_nonexistent
    reject(np.array([t is None for t in times["received"]]), f"no received time ({m.received})")
    order = [f for f in TIME_FIELDS if getattr(m, f)]
    for i in range(n):
        if reasons[i] is not None:
            continue
        prev: tuple[str, datetime] | None = None
        for f in order:
            t = times[f][i]
            if t is None:
                continue
            if prev is not None and t < prev[1]:
                reasons[i] = (f"times out of order: {f} {t.isoformat()} is before {prev[0]} "
                              f"{prev[1].isoformat()} (received ≤ dispatched ≤ arrived ≤ cleared)")
                break
            prev = (f, t)
    # type
    tvals = df[m.type].astype(str).str.strip().tolist() if m.type else [""] * n
    cache: dict[str, str | None] = {}
    codes: list[str | None] = []
    for v in tvals:
        if v not in cache:
            c = m.type_map.get(v)
            if c is None:
                c = next((code for rx, code in m.type_rules if rx.search(v)), None)
            cache[v] = c or m.default_type_code
        codes.append(cache[v])
    reject(np.array([c is None for c in codes]), lambda i: f"type {tvals[i]!r} is not in type_map or type_rules "
                                                           f"and no default_type_code is set ({m.type})")
    # priority
    prios: list[int | None] = []
    pvals = df[m.priority].astype(str).str.strip().tolist() if m.priority else [""] * n
    for i in range(n):
        c = codes[i]
        if not m.priority or (pvals[i] == "" and not m.priority_map):
            prios.append(types.types[c].priority if c else None)
        elif m.priority_map:
            prios.append(m.priority_map.get(pvals[i]))
        else:
            prios.append(int(pvals[i]) if pvals[i] in ("1", "2", "3", "4") else None)
    reject(np.array([p is None for p in prios]) & np.array([c is not None for c in codes]),
           lambda i: f"priority {pvals[i]!r} is not in priority_map ({m.priority})" if m.priority_map
           else f"priority {pvals[i]!r} is not 1-4 ({m.priority}); give a priority_map")
    # position: empty → unlocated; text that is not a coordinate in range → rejected (malformed)
    lon = lat = np.full(n, np.nan)
    if m.lon and m.lat:
        rlon, rlat = df[m.lon].astype(str).str.strip(), df[m.lat].astype(str).str.strip()
        lon = pd.to_numeric(rlon, errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(rlat, errors="coerce").to_numpy(dtype=float)
        given = ((rlon != "") | (rlat != "")).to_numpy()
        bad = given & (~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90))
        reject(bad, lambda i: f"invalid position lon={rlon.iloc[i]!r}, lat={rlat.iloc[i]!r} "
                              f"(WGS84 degrees: lon -180..180, lat -90..90)")
    addr = df[m.address].astype(str).str.strip().tolist() if m.address else [""] * n
    summ = df[m.summary].astype(str).str.strip().tolist() if m.summary else [""] * n
    oi = ([m.officer_initiated.matches(v) for v in df[m.officer_initiated.column].astype(str).tolist()]
          if m.officer_initiated else [False] * n)
    calls: list[HistoricalCall] = []
    rejected: list[Rejected] = []
    for i in range(n):
        if reasons[i] is not None:
            rejected.append(Rejected(i + 1, ids.iloc[i], reasons[i] or ""))
            continue
        rec = times["received"][i]
        code, prio = codes[i], prios[i]
        if rec is None or code is None or prio is None:  # rejected above; keeps the types exact
            raise RuntimeError(f"row {i + 1} passed validation incomplete")
        has_pos = math.isfinite(lon[i]) and math.isfinite(lat[i])
        calls.append(HistoricalCall(i + 1, ids.iloc[i], rec, times["dispatched"][i], times["arrived"][i],
                                    times["cleared"][i], code, prio, float(lon[i]) if has_pos else None,
                                    float(lat[i]) if has_pos else None, addr[i][:400] or None, summ[i] or None,
                                    bool(oi[i])))
    return ParsedCalls(calls, rejected, n, amb, non)


@dataclass
class CallsImportReport:
    file: str
    sha256: str
    rows: int
    stored: int = 0
    already: int = 0  # imported before (same source and event number): skipped
    rejected: list[Rejected] = field(default_factory=list)
    located: int = 0
    unlocated: int = 0
    outside_area: int = 0
    officer_initiated: int = 0
    dst_ambiguous: int = 0
    dst_nonexistent: int = 0
    committed: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {"rows": self.rows, "stored": self.stored, "already_imported": self.already,
                "rejected": len(self.rejected), "located": self.located, "unlocated": self.unlocated,
                "outside_area": self.outside_area, "officer_initiated": self.officer_initiated,
                "dst_ambiguous": self.dst_ambiguous, "dst_nonexistent": self.dst_nonexistent}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(xs: list[Any], size: int) -> Iterator[list[Any]]:
    for k in range(0, len(xs), size):
        yield xs[k:k + size]


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def import_calls(path: Path, m: CallMapping, *, uow: DispatchUnitOfWork, geo: Geo, types: TypeTable,
                 actor: str = "cli", agency_code: str | None = None, strict: bool = False, dry_run: bool = False,
                 progress: Progress | None = None) -> CallsImportReport:
    """Parse, place and store a CAD export in ONE transaction (nothing half-stored); see the module doc."""
    step = progress or (lambda _s, _d, _t: None)
    started = uow.clock.now()
    step("read", 0, 1)
    df = read_table(path)
    rep = CallsImportReport(path.name, _sha256(path), len(df), dry_run=dry_run)
    parsed = parse_calls(df, m, types)
    rep.rejected, rep.dst_ambiguous, rep.dst_nonexistent = parsed.rejected, parsed.dst_ambiguous, parsed.dst_nonexistent
    if strict and parsed.rejected:
        return rep
    placed: dict[tuple[float, float], Placement] = {}
    for k, c in enumerate(parsed.calls):
        if c.lon is not None and c.lat is not None and (c.lon, c.lat) not in placed:
            placed[(c.lon, c.lat)] = geo.place(c.lon, c.lat)
        if k % 5000 == 0:
            step("place", k, len(parsed.calls))
    actor_name = f"import:{m.source}"
    with uow:
        home = AgencyHome(uow)
        receiving = None
        if agency_code:
            a = uow.agencies.by_code(agency_code)
            if a is None:
                raise InvalidInput(f"no agency with code {agency_code!r}", code="unknown_agency")
            receiving = a.id
        elif len(home.roots()) > 1:
            raise InvalidInput("this deployment has several top agencies: say which one received the calls "
                               "(--agency CODE)", code="agency_required")
        own = home.receiving(receiving, city=False)
        city = home.receiving(receiving, city=True)
        refs = [f"{m.source}:{c.event_number}" for c in parsed.calls]
        seen: set[str] = set()
        for part in _chunks(refs, 1000):
            seen |= uow.incidents.existing_refs(part)
        todo = [(c, r) for c, r in zip(parsed.calls, refs, strict=True) if r not in seen]
        rep.already = len(parsed.calls) - len(todo)
        done = 0
        step("store", 0, len(todo))
        for part in _chunks(todo, CHUNK):
            rows = [_row(c, ref, m, types, placed, own, city, actor_name, rep) for c, ref in part]
            if not dry_run:
                uow.incidents.insert_many(rows)
                uow.incidents.add_events([ev for c, row in zip(part, rows, strict=True)
                                          for ev in _timeline(c[0], row["id"], actor_name)])
                uow.outbox.add_many([(IncidentRecorded.SUBJECT, recorded_event(r).to_payload()) for r in rows],
                                    uow.clock.now())
            done += len(part)
            step("store", done, len(todo))
        rep.stored = len(todo)
        step("done", len(todo), len(todo))
        rep.seconds = (uow.clock.now() - started).total_seconds()
        if dry_run or rep.stored == 0:
            return rep  # leaving the block rolls back: nothing changed, nothing to audit
        uow.audit.write(actor=actor, action="calls_imported", object_type="calls_import", object_id=rep.sha256,
                        agency_id=own, detail={"file": rep.file, "sha256": rep.sha256, "source": m.source,
                                               **rep.counts()})
        uow.commit()
    rep.committed = True
    return rep


def _row(c: HistoricalCall, ref: str, m: CallMapping, types: TypeTable, placed: dict[tuple[float, float], Placement],
         own: str, city: str, actor: str, rep: CallsImportReport) -> dict[str, Any]:
    t = types.types[c.type_code]
    pl = placed.get((c.lon, c.lat)) if c.lon is not None and c.lat is not None else None
    status = pl.status if pl else LocationStatus.UNLOCATED.value
    if status == LocationStatus.OUTSIDE_AREA:
        agency = city
        rep.outside_area += 1
    elif status == LocationStatus.LOCATED:
        agency = (pl.station if pl else None) or own
        rep.located += 1
    else:
        agency = (pl.station if pl else None) or own
        rep.unlocated += 1
    rep.officer_initiated += c.officer_initiated
    level, _ = escalation_level(priority=c.priority, category=t.category, deaths=0, injuries=0, units_assigned=0,
                                type_code=t.code)
    snap = pl.snap if pl else None
    last = c.cleared or c.arrived or c.dispatched or c.received
    return {"id": new_id(), "status": IncidentStatus.CLOSED.value, "channel": m.channel, "type_code": t.code,
            "category": t.category, "priority": c.priority, "level": level.value, "lon": c.lon, "lat": c.lat,
            "accuracy_m": None, "snapped_lon": snap.snapped_lon if snap else None,
            "snapped_lat": snap.snapped_lat if snap else None, "address": c.address, "summary": c.summary,
            "town_id": pl.town.id if pl and pl.town and status != LocationStatus.OUTSIDE_AREA else None,
            "agency_id": agency, "caller_name": None, "caller_phone": None, "deaths": 0, "injuries": 0, "flags": {},
            "device_id": None, "received_at": c.received, "dispatched_at": c.dispatched, "arrived_at": c.arrived,
            "closed_at": last, "created_by": actor, "location_status": status, "source": "imported",
            "external_ref": ref, "officer_initiated": c.officer_initiated}


def _timeline(c: HistoricalCall, iid: str, actor: str) -> list[dict[str, Any]]:
    out = [{"incident_id": iid, "at": c.received, "kind": "received", "actor": actor,
            "detail": {"imported": True, "event_number": c.event_number}}]
    for kind, at in (("dispatched", c.dispatched), ("arrived", c.arrived), ("cleared", c.cleared)):
        if at is not None:
            out.append({"incident_id": iid, "at": at, "kind": kind, "actor": actor, "detail": {"imported": True}})
    out.append({"incident_id": iid, "at": c.cleared or c.arrived or c.dispatched or c.received, "kind": "closed",
                "actor": actor, "detail": {"imported": True}})
    return out
