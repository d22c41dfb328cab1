"""The web shell as a plugged-in part: login, language switch, the overview map, "coming" module pages
and the audit page."""

from __future__ import annotations

from jingwu.platform.feature import Feature, NavEntry
from jingwu.web import ui

FEATURE = Feature(
    name="web",
    routers=(ui.router,),
    nav=(NavEntry("map", "nav_map", order=10),),
)
