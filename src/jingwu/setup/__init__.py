"""``jingwu setup``: a deployment from files (road network, agency tree, stations, towns, units, time zone,
first administrator). docs/deploy.md documents the manifest."""
