"""Reading tabular imports, shared by the features' import commands: a table from CSV, Parquet or GeoJSON
(every value as text), a mapping document from YAML or JSON, the rejected-row record (1-based row number,
the row's id, the reason), and naive local times turned into UTC with a stated rule at DST changes.
Problems are ``InvalidInput`` naming the file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from jingwu.platform.errors import InvalidInput


@dataclass(frozen=True)
class Rejected:
    row: int  # 1-based data row number (CSV: line number minus the header)
    id: str
    reason: str


def load_document(path: Path) -> Any:
    """A mapping file: YAML (.yaml, .yml) or JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read mapping {path}: {exc}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:
        raise InvalidInput(f"mapping {path.name} is not valid {path.suffix[1:].upper()}: {exc}") from exc


def read_table(path: Path) -> pd.DataFrame:
    """CSV, Parquet or GeoJSON (Point features: lon/lat columns added as ``_lon``/``_lat``); all text."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".parquet":
            df = pd.read_parquet(path)
            return df.astype(object).where(df.notna(), "").astype(str)
        if suffix in (".geojson", ".json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = []
            for f in data.get("features", []):
                props = {k: ("" if v is None else str(v)) for k, v in (f.get("properties") or {}).items()}
                g = f.get("geometry") or {}
                if g.get("type") == "Point":
                    props["_lon"], props["_lat"] = str(g["coordinates"][0]), str(g["coordinates"][1])
                else:
                    props["_lon"], props["_lat"] = "", ""
                rows.append(props)
            return pd.DataFrame(rows, dtype=str)
    except Exception as exc:
        raise InvalidInput(f"cannot read {path.name}: {exc}") from exc
    raise InvalidInput(f"unsupported file type {suffix!r}: use .csv, .parquet or .geojson")


@dataclass
class LocalTimes:
    """Times of one column in UTC (None where empty or unparseable) and what happened on the way."""

    utc: list[datetime | None]
    bad: np.ndarray[Any, Any]  # text present but not a time
    dst_ambiguous: int = 0  # local times that occur twice (clocks back): the earlier offset was taken
    dst_nonexistent: int = 0  # local times skipped (clocks forward): the offset before the change was taken


def to_utc(raw: pd.Series, *, time_format: str | None, zone: ZoneInfo) -> LocalTimes:
    """Parse a column of times; naive ones are local times in ``zone``. At a DST change a local time that
    occurs twice or not at all takes the EARLIER offset (the one in force before the change; Python's
    ``fold=0``) and is counted; times with an offset are converted as they are."""
    text = raw.astype(str).str.strip()
    empty = (text == "").to_numpy()
    if time_format:
        t = pd.to_datetime(text.where(~empty, None), format=time_format, errors="coerce")
    else:
        t = pd.to_datetime(text.where(~empty, None), errors="coerce", format="ISO8601")
    if getattr(t.dt, "tz", None) is not None:  # every value carried an offset
        bad = t.isna().to_numpy() & ~empty
        return LocalTimes([None if pd.isna(x) else x.to_pydatetime().astimezone(UTC) for x in t], bad)
    bad = t.isna().to_numpy() & ~empty
    loc = t.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    odd = (loc.isna() & t.notna()).to_numpy()
    out: list[datetime | None] = [None if pd.isna(x) else x.to_pydatetime().astimezone(UTC) for x in loc]
    amb = non = 0
    for i in np.nonzero(odd)[0].tolist():
        naive: datetime = t.iloc[i].to_pydatetime()
        early = naive.replace(tzinfo=zone, fold=0)
        late = naive.replace(tzinfo=zone, fold=1)
        if early.utcoffset() == late.utcoffset():  # cannot happen for a time pandas refused; be safe
            out[i] = early.astimezone(UTC)
            continue
        roundtrip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if roundtrip == naive:
            amb += 1  # exists twice: fold=0 is the first occurrence (the earlier offset)
        else:
            non += 1  # does not exist: fold=0 reads it with the offset before the change
        out[i] = early.astimezone(UTC)
    return LocalTimes(out, bad, amb, non)
