"""Dispatch: 110 intake from every channel, classification, duplicate merging,
unit recommendation by road ETA, race-safe one-click dispatch, the unit status
chain and its timers, positions, escalation, the live board and KPIs."""
