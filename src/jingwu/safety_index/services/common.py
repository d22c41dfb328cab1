"""What the Safety Index use cases share: the unit-of-work factory and progress callback types, the
actor name of system actions, and the summary every computation returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

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
