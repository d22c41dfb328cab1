"""The exchange as a plugged-in part: its API (with the federation webhook inbox) and pages, tables, the
federation relay and timer jobs, its navigation entry, settings section and ``jingwu exchange`` commands."""

from __future__ import annotations

from jingwu.exchange import api, cli, jobs, store, ui
from jingwu.exchange.settings import ExchangeSettings
from jingwu.platform.feature import CliCommand, CliGroup, Feature, NavEntry

FEATURE = Feature(
    name="exchange",
    routers=(api.router, ui.router),
    tables=store.TABLES,
    jobs=(jobs.federation_job, jobs.timer_job),
    nav=(NavEntry("exchange", "nav_exchange", order=60),),
    settings=ExchangeSettings,
    cli_groups=(CliGroup("exchange", "Cross-region exchange (区域警务协作): keys, peers, federation relay, timers."),),
    cli=(
        CliCommand("keys", cli.keys_cmd, group="exchange"),
        CliCommand("peers", cli.peers_cmd, group="exchange"),
        CliCommand("run", cli.run_cmd, group="exchange"),
        CliCommand("tick", cli.tick_cmd, group="exchange"),
    ),
)
