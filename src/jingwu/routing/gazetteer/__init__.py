"""The gazetteer: address and place search over the served OSM extract (streets, crossings, places,
POIs, house numbers), built beside the road graph. See docs/methods/geocoding.md."""

from jingwu.routing.gazetteer.build import build_gazetteer
from jingwu.routing.gazetteer.store import gazetteer_path

__all__ = ["build_gazetteer", "gazetteer_path"]
