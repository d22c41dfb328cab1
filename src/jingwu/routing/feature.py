"""Routing as a plugged-in part: the road graph slot, the map layer route, its settings section and the
``route``, ``isochrone`` and ``import osm`` commands."""

from __future__ import annotations

from jingwu.platform.feature import CliCommand, CliGroup, Feature
from jingwu.routing import api, cli
from jingwu.routing.settings import RoutingSettings

FEATURE = Feature(
    name="routing",
    routers=(api.router,),
    settings=RoutingSettings,
    cli_groups=(CliGroup("import", "Import data."),),
    cli=(
        CliCommand("route", cli.route, "Fastest (or shortest) road route between two points."),
        CliCommand("isochrone", cli.isochrone, "Area reachable by road within N minutes, as GeoJSON."),
        CliCommand("osm", cli.import_osm, "Build the road graph from an OSM file (.osm or .osm.pbf).", group="import"),
    ),
)
