"""The documented model of a city's 110 call stream, shared by the demo's live generator
(:mod:`jingwu.demo.generator`) and the simulation's generator (:mod:`jingwu.simulation.generator`):
the relative call volume by local hour and the category mix (docs/methods/dispatch.md gives the numbers and
where they come from)."""

from __future__ import annotations

# Relative call volume by local hour (0..23); mean = 1. Shape of urban 110 demand:
# night trough 03-06, late-morning and evening peaks (INF: calibrated to published
# city bulletins' descriptions, not a national table).
_RAW_PROFILE = [0.75, 0.6, 0.45, 0.35, 0.3, 0.35, 0.5, 0.75, 1.0, 1.15, 1.25, 1.25,
                1.2, 1.15, 1.15, 1.2, 1.25, 1.3, 1.35, 1.45, 1.5, 1.45, 1.25, 1.0]
_mean = sum(_RAW_PROFILE) / 24
HOURLY_PROFILE = [x / _mean for x in _RAW_PROFILE]

# Category mix of 110 calls (share of all calls; INF, see the method doc).
CATEGORY_MIX = {
    "help": 0.30, "dispute": 0.20, "public_order": 0.18, "traffic": 0.15, "crime": 0.08, "fraud": 0.04,
    "fire": 0.02, "consult": 0.02, "liaison": 0.01,
}

# Share of calls drawn around hot spots (Gaussian around busy places); the rest anywhere on the network.
HOT_SHARE = 0.65
