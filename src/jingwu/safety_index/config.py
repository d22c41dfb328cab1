"""The Safety Index's settings section (environment prefix ``JINGWU_SAFETY_INDEX_``): when the daily
computation runs, the ticket deadline, the CAP sender, and an optional JSON file
that overrides the method's weights. The deployment's time zone comes from the
platform settings (``JINGWU_TIMEZONE``).
"""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jingwu.platform.errors import InvalidInput
from jingwu.safety_index.domain import DEPLOYMENT_DEFAULT_VERSION, Category, Method, SubIndex


class SafetyIndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_SAFETY_INDEX_", env_file=None, extra="ignore")

    daily_at: time = Field(default=time(1, 0), description="Local time of the daily computation of yesterday")
    ticket_deadline_days: int = Field(default=7, ge=1)
    ticket_recent_days: int = Field(default=7, ge=0, description="Only days this recent open tickets")
    cap_sender: str = "safety-index@jingwu.invalid"
    method_file: Path | None = Field(default=None, description="JSON overriding harm/sub-index weights")


METHOD_KEYS = frozenset({"harm_weights", "category_weights", "subindex_weights", "injury_weight", "smoothing",
                         "slope", "death_penalty", "death_penalty_cap", "alpha", "version", "fed",
                         "event_loss_cap"})


def load_method(path: Path | None) -> Method:
    """The method, with optional overrides: {"version": "v1"|"v2", "fed": [sub-index, ...],
    "harm_weights": {code: w}, "subindex_weights": {...}, ...}. Without a file, or without "version", a
    deployment runs method v2 (DEPLOYMENT_DEFAULT_VERSION); "version": "v1" keeps the v1 method bit for bit.
    A file with an unknown key, version or sub-index, an unknown category, sub-index weights not summing to 1
    or a bad ``fed`` is refused as a whole (code ``invalid_method``): a typo never silently leaves the
    default in force."""
    if path is None:
        return Method(version=DEPLOYMENT_DEFAULT_VERSION)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the file must hold one JSON object")
        unknown = sorted(set(data) - METHOD_KEYS)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(METHOD_KEYS))})")
        base = Method()
        harm = {**base.harm_weights, **{str(k): float(v) for k, v in data.get("harm_weights", {}).items()}}
        cats = {**base.category_weights,
                **{Category(k): float(v) for k, v in data.get("category_weights", {}).items()}}
        subw = {**base.subindex_weights,
                **{SubIndex(k): float(v) for k, v in data.get("subindex_weights", {}).items()}}
        extra = {k: float(data[k]) for k in ("injury_weight", "smoothing", "slope", "death_penalty",
                                             "death_penalty_cap", "alpha", "event_loss_cap") if k in data}
        version = data.get("version", DEPLOYMENT_DEFAULT_VERSION)
        if not isinstance(version, str):
            raise ValueError(f"version must be a string such as \"v2\" (got {version!r})")
        fed = data.get("fed")
        if fed is not None:
            if not isinstance(fed, list) or not all(isinstance(x, str) for x in fed):
                raise ValueError("fed must be a list of sub-index names")
            fed = tuple(SubIndex(x) for x in fed)
            if version == "v1":
                raise ValueError("fed applies to method v2 only (v1 weighs every sub-index)")
        return Method(harm_weights=harm, category_weights=cats, subindex_weights=subw, version=version, fed=fed,
                      **extra)
    except InvalidInput as exc:
        raise InvalidInput(f"method file {path}: {exc.message}", code="invalid_method") from exc
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"method file {path}: {exc}", code="invalid_method") from exc
