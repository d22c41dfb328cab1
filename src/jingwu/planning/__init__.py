"""Planning: where to put posts (maximal covering location), hot spots by hour of week, event
security rings. Pure computation on the routing layer's road graph plus CSV in/out; the methods are in
docs/methods/planning.md."""
