"""Planning as a plugged-in part: the ``jingwu plan`` commands, the planner pages and their API."""

from __future__ import annotations

from jingwu.planning import cli
from jingwu.platform.feature import CliCommand, CliGroup, Feature

FEATURE = Feature(
    name="planning",
    cli_groups=(CliGroup("plan", "Planning (勤务规划): coverage, hot spots, event security."),),
    cli=(
        CliCommand("coverage", cli.coverage_cmd, group="plan"),
        CliCommand("hotspots", cli.hotspots_cmd, group="plan"),
        CliCommand("event", cli.event_cmd, group="plan"),
    ),
)
