"""The live board's subscribers and what each may hear.

Every open ``/api/v1/stream`` is a queue with the agency path of its user. A dispatch change carries the
ids of what changed; they reach only the subscribers whose subtree holds the change's agency (the
incident's, or the unit's), so a branch's officers never learn another branch's incident ids. A change
whose agency is unknown (a count of moved units, new alerts) reaches everyone without ids: clients refetch
the board, which is scoped on its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class BoardHub(set[asyncio.Queue[str]]):
    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[asyncio.Queue[str], str] = {}
        self.agency_paths: dict[str, str] = {}  # agency id -> path
        self.unit_agencies: dict[str, str] = {}  # unit id -> agency id

    def discard(self, element: object, /) -> None:
        super().discard(element)
        if isinstance(element, asyncio.Queue):
            self.scopes.pop(element, None)

    def change_path(self, payload: dict[str, Any]) -> str | None:
        """The agency path a change belongs to, from the caches (None: not known to them)."""
        agency = payload.get("agency_id")
        if agency is None and payload.get("unit_id") is not None:
            agency = self.unit_agencies.get(str(payload["unit_id"]))
        return self.agency_paths.get(str(agency)) if agency is not None else None

    def messages(self, subject: str, payload: dict[str, Any], path: str | None
                 ) -> list[tuple[asyncio.Queue[str], str]]:
        full = json.dumps({"subject": subject, **{k: v for k, v in payload.items() if k.endswith("_id")}})
        bare = json.dumps({"subject": subject})
        out = []
        for q in list(self):
            scope = self.scopes.get(q)
            if path is None:
                out.append((q, bare))
            elif scope is not None and path.startswith(scope):
                out.append((q, full))
        return out
