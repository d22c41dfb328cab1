"""Simulation HTTP API for planners (permission ``analyse``): start a run, follow it, read its result.
Parse → service → schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires
from jingwu.simulation.domain import SimParams, parse_mix, parse_policies, parse_shares
from jingwu.simulation.runs import RUNS, Run
from jingwu.simulation.schemas import RunBody, RunRead

router = APIRouter(prefix="/api/v1/simulation", tags=["simulation"], responses=ERROR_RESPONSES)
Planner = Annotated[Principal, Depends(requires(Permission.ANALYSE))]


def _read(run: Run) -> RunRead:
    return RunRead(id=run.id, status=run.status, progress=run.progress,
                   error=run.error, result=run.result)


@router.post("/runs", status_code=202, response_model=RunRead)
def start_run(body: RunBody, p: Planner, c: ContainerDep) -> RunRead:
    """Start a simulation on the deployment's network (inputs checked first: 422 with a code such as
    ``no_units``, ``invalid_target``, ``unknown_policy``; 409 ``simulation_busy`` while one runs)."""
    params = SimParams(days=body.days, calls_per_day=body.calls_per_day, units=body.units,
                       policies=parse_policies(body.policy), seed=body.seed, target_s=body.target_s,
                       tolerance_s=body.tolerance_s, handling_s=body.handling_s, shifts=parse_shares(body.shifts),
                       mix=parse_mix(body.mix))
    return _read(c.get(RUNS).start(c, params, p.username, roster=body.roster))


@router.get("/runs/{run_id}", response_model=RunRead)
def get_run(run_id: str, p: Planner, c: ContainerDep) -> RunRead:
    """A run's status and progress (0..1), and its whole result once done."""
    return _read(c.get(RUNS).get(run_id))
