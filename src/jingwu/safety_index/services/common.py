"""What the Safety Index use cases share: the unit-of-work factory and progress callback types, the
actor name of system actions, and the summary every computation returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from jingwu.platform.errors import InvalidInput
from jingwu.platform.org_store import TownRow
from jingwu.platform.uow import SqlUnitOfWork

UowFactory = Callable[[], SqlUnitOfWork]
Progress = Callable[[int, int], None]  # (days done, days total)
SYSTEM_ACTOR = "system:safety_index"


@dataclass
class ComputeSummary:
    """What a computation (full, partial or incremental) did."""

    first: date | None = None
    last: date | None = None
    days: int = 0
    towns: int = 0
    warnings: int = 0
    tickets_opened: int = 0
    skipped_before: date | None = None  # requested days without enough history
    notes: list[str] = field(default_factory=list)


def populations(towns: list[TownRow]) -> np.ndarray[Any, Any]:
    """The towns' residents as the rate denominator. A town without residents cannot be rated per 10,000:
    it is refused (code ``invalid_population``, naming the towns) before anything is computed, never
    silently taken as 1."""
    bad = [t.code for t in towns if t.population is None or t.population < 1]
    if bad:
        raise InvalidInput(f"population must be at least 1 for every town; fix {', '.join(bad[:10])}"
                           + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
                           + " (jingwu org towns or the setup files)", code="invalid_population")
    return np.asarray([t.population for t in towns], dtype=np.float64)
