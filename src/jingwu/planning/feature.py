"""Planning as a plugged-in part: the ``jingwu plan`` commands, the planner pages and their API."""

from __future__ import annotations

from jingwu.planning import api, cli, ui
from jingwu.platform.feature import CliCommand, CliGroup, Feature, NavEntry

FEATURE = Feature(
    name="planning",
    routers=(api.router, ui.router),
    nav=(NavEntry("planning", "nav_planning", order=70, permission="analyse"),),  # planners (analysts)
    cli_groups=(CliGroup("plan", "Planning (勤务规划): coverage, hot spots, event security, beats, rosters, "
                                 "school gates."),),
    cli=(
        CliCommand("coverage", cli.coverage_cmd, group="plan"),
        CliCommand("hotspots", cli.hotspots_cmd, group="plan"),
        CliCommand("event", cli.event_cmd, group="plan"),
        CliCommand("roster", cli.roster_cmd, group="plan"),
        CliCommand("school-gates", cli.school_gates_cmd, group="plan"),
        CliCommand("beats", cli.beats_cmd, group="plan"),
    ),
)
