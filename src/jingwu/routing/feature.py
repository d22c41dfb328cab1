"""Routing as a plugged-in part: the road graph and gazetteer slots, the map layer,
geocoding and label routes, its settings section and the ``route``, ``isochrone``, ``geocode`` and
``import osm`` commands."""

from __future__ import annotations

from jingwu.platform.feature import CliCommand, CliGroup, Feature
from jingwu.routing import api, cli
from jingwu.routing.gazetteer import api as gazetteer_api
from jingwu.routing.settings import RoutingSettings

FEATURE = Feature(
    name="routing",
    routers=(api.router, gazetteer_api.router, gazetteer_api.public_router),
    settings=RoutingSettings,
    cli_groups=(CliGroup("import", "Import data."),),
    cli=(
        CliCommand("route", cli.route, "Fastest (or shortest) road route between two points."),
        CliCommand("isochrone", cli.isochrone, "Area reachable by road within N minutes, as GeoJSON."),
        CliCommand("geocode", cli.geocode, "Search addresses and places (after `jingwu import osm`)."),
        CliCommand("osm", cli.import_osm, "Build the road graph and gazetteer from an OSM file.", group="import"),
    ),
)
