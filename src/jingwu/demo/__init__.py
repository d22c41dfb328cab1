"""The demo: the Chengdu demo city (agencies, stations, jurisdictions, towns, units, users from the
packaged OSM extract), the documented call generator, the autopilot that plays simulated units, and the
labelled synthetic Safety Index history. Product code never imports this package; the composition root
plugs it in as a feature."""
