"""Dispatch: 110 intake from every channel, classification, duplicate merging,
unit recommendation by ETA on each unit's travel mode, race-safe one-click dispatch, the unit status
chain and its timers, positions, escalation, the live board and KPIs."""
