"""Simulation runs started from the planner page: one at a time per process, in a background thread,
kept in memory (the last ``KEEP``; a restart forgets them: a run is a "what if", not a record)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from jingwu.platform.container import Container, Slot
from jingwu.platform.errors import AppError, Conflict, NotFound
from jingwu.simulation.domain import SimParams
from jingwu.simulation.services import simulate_deployment

KEEP = 10


@dataclass
class Run:
    id: str
    params: SimParams
    started_by: str
    roster: bool = False
    status: str = "running"  # running, done, failed
    progress: float = 0.0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None


@dataclass
class Runs:
    runs: dict[str, Run] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, c: Container, p: SimParams, user: str, roster: bool = False) -> Run:
        """Check the inputs (InvalidInput before anything starts), then run in a thread; Conflict while
        another run is going."""
        p.check()
        with self.lock:
            if any(r.status == "running" for r in self.runs.values()):
                raise Conflict("A simulation is already running: wait for it to finish.", code="simulation_busy")
            run = Run(uuid.uuid4().hex, p, user, roster)
            self.runs[run.id] = run
            for old in list(self.runs)[:-KEEP]:
                del self.runs[old]
        threading.Thread(target=self._work, args=(c, run), name=f"simulation-{run.id[:8]}", daemon=True).start()
        return run

    def _work(self, c: Container, run: Run) -> None:
        def step(f: float) -> None:
            run.progress = round(f, 3)

        try:
            run.result = simulate_deployment(c, run.params, use_roster=run.roster, progress=step)
            run.status = "done"
            run.progress = 1.0
        except AppError as exc:
            run.error = {"code": exc.code, "message": exc.message}
            run.status = "failed"
        except Exception as exc:  # a bug: shown on the page, not lost in a thread
            run.error = {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}
            run.status = "failed"

    def get(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise NotFound(f"Simulation run {run_id} does not exist (runs are kept in memory, the last {KEEP}).",
                           code="run_not_found")
        return run


RUNS: Slot[Runs] = Slot("simulation.runs", lambda c: Runs())
