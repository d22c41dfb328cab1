"""The simulation as a plugged-in part: ``jingwu simulate``, the planner's page and its API (no tables: runs
are kept in memory)."""

from __future__ import annotations

from jingwu.platform.feature import CliCommand, Feature, NavEntry
from jingwu.simulation import api, cli, ui

FEATURE = Feature(
    name="simulation",
    routers=(api.router, ui.router),
    nav=(NavEntry("simulation", "nav_simulation", order=80, permission="analyse"),),
    cli=(CliCommand("simulate", cli.simulate_cmd),),
)
