"""Dispatch use cases, one module per group: intake, incidents, recommend, assignments, location,
devices, alerts (shared helpers in common). Import each use case from the module that owns it."""
