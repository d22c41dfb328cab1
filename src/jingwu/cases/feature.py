"""Cases as a plugged-in part: API, public API and pages, tables, the reminder job, navigation, settings and
the ``jingwu cases`` commands."""

from __future__ import annotations

from jingwu.cases import api, cli, jobs, store, ui
from jingwu.cases.settings import CasesSettings
from jingwu.platform.domain import Permission
from jingwu.platform.feature import CliCommand, CliGroup, Feature, NavEntry, ObjectLink

FEATURE = Feature(
    name="cases",
    routers=(api.router, api.public_router, ui.router),
    tables=store.TABLES,
    jobs=(jobs.reminder_job,),
    nav=(NavEntry("cases", "nav_cases", order=50),),
    links=(ObjectLink("incident", "cases_of_this_incident", "/cases?incident={id}", Permission.HANDLE_CASES.value),
           ObjectLink("incident", "cases_open_from_incident", "/cases/new?incident={id}",
                      Permission.HANDLE_CASES.value)),
    settings=CasesSettings,
    cli_groups=(CliGroup("cases", "Cases (案件): interference report, deadline reminders."),),
    cli=(CliCommand("interference", cli.interference_cmd, group="cases"),
         CliCommand("remind", cli.remind_cmd, group="cases")),
)
