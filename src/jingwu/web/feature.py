"""The web shell as a plugged-in part: login, language switch, the overview map, "coming" module pages
the audit page, the organisation administration pages (``/admin``) and the notifications page
(``/admin/notifications``)."""

from __future__ import annotations

from jingwu.platform.domain import Permission
from jingwu.platform.feature import Feature, NavEntry
from jingwu.web import admin, notifications, ui

FEATURE = Feature(
    name="web",
    routers=(ui.router, admin.router, notifications.router),
    nav=(NavEntry("map", "nav_map", order=10),
         NavEntry("admin", "nav_admin", order=85, permission=Permission.MANAGE_ORG.value)),
)
