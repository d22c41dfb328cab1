"""The composition root's list of features: the one place that names them.

``jingwu.app`` builds the web app (routers, jobs, subscriptions, navigation),
``jingwu.cli`` the command line and ``jingwu.migrations`` the database metadata
from ``FEATURES``. Adding a feature is one new package with a ``feature.py``
plus one line here (docs/adding-a-feature.md).
"""

from __future__ import annotations

from sqlalchemy import MetaData

from jingwu.cases.feature import FEATURE as CASES
from jingwu.demo.feature import FEATURE as DEMO
from jingwu.dispatch.feature import FEATURE as DISPATCH
from jingwu.exchange.feature import FEATURE as EXCHANGE
from jingwu.planning.feature import FEATURE as PLANNING
from jingwu.platform.feature import Feature, NavEntry
from jingwu.platform.registration import FEATURE as PLATFORM
from jingwu.platform.tables import metadata
from jingwu.routing.feature import FEATURE as ROUTING
from jingwu.safety_index.feature import FEATURE as SAFETY_INDEX
from jingwu.setup.feature import FEATURE as SETUP
from jingwu.simulation.feature import FEATURE as SIMULATION
from jingwu.web.feature import FEATURE as WEB

# Modules announced in the navigation before their package exists ("coming" pages).
# Every module of DESIGN.md has its package now; an announced one would be
# NavEntry(slug, f"nav_{slug}", order=order, ready=False).
ANNOUNCED: tuple[tuple[str, int], ...] = ()
COMING = Feature(name="coming", nav=tuple(
    NavEntry(slug, f"nav_{slug}", order=order, ready=False) for slug, order in ANNOUNCED))

FEATURES: tuple[Feature, ...] = (
    PLATFORM,
    ROUTING,
    WEB,
    DISPATCH,
    SAFETY_INDEX,
    CASES,
    PLANNING,
    EXCHANGE,
    SETUP,
    SIMULATION,
    DEMO,
    COMING,
)


def database_metadata(features: tuple[Feature, ...] = FEATURES) -> MetaData:
    """The tables the features declare, on one metadata (what migrations and the drift check compare
    against): a table a store defines but its feature does not declare is not part of the product."""
    md = MetaData(naming_convention=metadata.naming_convention)
    for f in features:
        for t in f.tables:
            t.to_metadata(md)
    return md
