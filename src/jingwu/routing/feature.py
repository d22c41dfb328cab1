"""Routing as a plugged-in part: the road graph slot, the map layer route, its settings section and the
``route``, ``isochrone`` and ``import osm`` commands."""

from __future__ import annotations

from jingwu.platform.feature import CliCommand, CliGroup, Feature
from jingwu.routing import api, cli
from jingwu.routing.network import network_watch_job
from jingwu.routing.settings import RoutingSettings

FEATURE = Feature(
    name="routing",
    routers=(api.router,),
    settings=RoutingSettings,
    jobs=(network_watch_job,),
    cli_groups=(CliGroup("import", "Import data."),),
    cli=(
        CliCommand("route", cli.route, "Fastest (or shortest) road route between two points."),
        CliCommand("isochrone", cli.isochrone, "Area reachable by road within N minutes, as GeoJSON."),
        CliCommand("osm", cli.import_osm, "Build the road graph of an OSM file (.osm or .osm.pbf) and serve it.",
                   group="import"),
    ),
)
