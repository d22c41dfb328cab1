"""What a simulation run is asked to do, checked whole before any work starts.

Standard library only. :class:`SimParams` holds the run's inputs (days, calls a day, units, policies, target
time, shifts, travel-mode mix, service times); :meth:`SimParams.check` refuses bad input with a
machine-readable code (``no_units``, ``invalid_target``, ``unknown_policy`` …) so that neither the CLI nor
the planner page starts a run that cannot mean anything. docs/methods/simulation.md documents every default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

from jingwu.platform.domain import TravelMode
from jingwu.platform.errors import InvalidInput


class Policy(StrEnum):
    NEAREST = "nearest"  # nearest by straight line (great-circle distance from the unit's post)
    FASTEST = "fastest"  # fastest by road (the dispatch recommendation's order)
    COVERAGE = "coverage"  # among near-fastest units, the one whose departure uncovers the least demand


POLICIES: tuple[str, ...] = tuple(p.value for p in Policy)


@dataclass(frozen=True)
class ServiceTime:
    """On-scene time of one call category: lognormal with this median (seconds) and log-sd ``sigma``."""

    median_s: float
    sigma: float

    @property
    def mean_s(self) -> float:
        return self.median_s * math.exp(self.sigma**2 / 2)


# On-scene time by call category (assumptions, docs/methods/simulation.md "Service times"): a consultation
# is short, a crime scene or a traffic accident holds a unit longest.
DEFAULT_SERVICE: dict[str, ServiceTime] = {
    "help": ServiceTime(1200, 0.6),
    "dispute": ServiceTime(1800, 0.6),
    "public_order": ServiceTime(1500, 0.6),
    "traffic": ServiceTime(2400, 0.6),
    "crime": ServiceTime(3000, 0.7),
    "fraud": ServiceTime(1800, 0.6),
    "fire": ServiceTime(2700, 0.7),
    "consult": ServiceTime(600, 0.5),
    "liaison": ServiceTime(900, 0.5),
}

MAX_DAYS = 3660


def parse_shares(text: str) -> tuple[float, ...]:
    """A shift profile ``"0-7:0.6,7-22:1,22-24:0.8"``: the share of units on duty in each local hour (hours
    not named: 1). Raises InvalidInput (``invalid_shifts``) for a malformed text."""
    shares = [1.0] * 24
    if not text.strip():
        return tuple(shares)
    for part in text.split(","):
        try:
            span, share = part.split(":")
            a, b = (int(x) for x in span.split("-"))
            v = float(share)
        except ValueError:
            raise InvalidInput(f"shift profile part {part!r} is not START-END:SHARE (e.g. 22-24:0.8)",
                               code="invalid_shifts") from None
        if not (0 <= a < b <= 24) or not (0.0 <= v <= 1.0):
            raise InvalidInput(f"shift profile part {part!r}: hours 0 ≤ start < end ≤ 24 and a share in [0, 1]",
                               code="invalid_shifts")
        for h in range(a, b):
            shares[h] = v
    return tuple(shares)


def parse_policies(text: str) -> tuple[str, ...]:
    """``all`` or a comma list of policy names (each checked by :meth:`SimParams.check`)."""
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    return POLICIES if names == ("all",) else names


def parse_service(data: object, categories: tuple[str, ...]) -> dict[str, ServiceTime]:
    """Service times from a mapping ``{category: {"median_s": m, "sigma": s}}`` (a deployment's own handling
    times); categories not named keep their defaults. Raises InvalidInput (``invalid_service``)."""
    if not isinstance(data, dict):
        raise InvalidInput('service times must be an object {"category": {"median_s": …, "sigma": …}}',
                           code="invalid_service")
    out = dict(DEFAULT_SERVICE)
    for cat, v in data.items():
        if cat not in categories:
            raise InvalidInput(f"unknown call category {cat!r}: use {', '.join(categories)}", code="invalid_service")
        try:
            st = ServiceTime(float(v["median_s"]), float(v["sigma"]))
        except (TypeError, KeyError, ValueError):
            raise InvalidInput(f"service time of {cat!r} needs numbers median_s and sigma", code="invalid_service") \
                from None
        out[cat] = st
    return out


def parse_mix(text: str) -> dict[str, float]:
    """A travel-mode mix ``"car=3,foot=1"`` (relative weights). Raises InvalidInput (``invalid_mix``)."""
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            mode, w = part.split("=")
            out[mode.strip()] = float(w)
        except ValueError:
            raise InvalidInput(f"travel-mode mix part {part!r} is not MODE=WEIGHT (e.g. car=3,foot=1)",
                               code="invalid_mix") from None
    return out


@dataclass(frozen=True)
class SimParams:
    days: int = 7
    calls_per_day: float = 1000.0
    units: int = 40
    policies: tuple[str, ...] = (Policy.FASTEST.value,)
    seed: int = 1
    target_s: float = 300.0  # response target: the share within it is reported; also the coverage radius
    handling_s: float = 60.0  # call taking before a unit is dispatched (counted in the response time)
    tolerance_s: float = 60.0  # coverage-aware rule: units this close to the fastest are "near-equal"
    cell_m: float = 500.0  # demand cells for coverage (square cells of this side)
    shifts: tuple[float, ...] = (1.0,) * 24  # share of units on duty by local hour
    mix: dict[str, float] = field(default_factory=lambda: {"car": 1.0})
    service: dict[str, ServiceTime] = field(default_factory=lambda: dict(DEFAULT_SERVICE))
    modes: tuple[str, ...] | None = None  # each unit's travel mode (the deployment's roster); None: from ``mix``

    def check(self) -> SimParams:
        """The params, or InvalidInput with a code naming what is wrong (nothing has run yet)."""
        if self.units < 1:
            raise InvalidInput("a simulation needs at least one unit (--units ≥ 1)", code="no_units")
        if not (self.target_s > 0 and math.isfinite(self.target_s)):
            raise InvalidInput(f"the target time must be a positive number of seconds, got {self.target_s}",
                               code="invalid_target")
        if not self.policies:
            raise InvalidInput(f"name at least one policy: {', '.join(POLICIES)}", code="unknown_policy")
        for p in self.policies:
            if p not in POLICIES:
                raise InvalidInput(f"unknown policy {p!r}: use one of {', '.join(POLICIES)} or all",
                                   code="unknown_policy")
        if not (1 <= self.days <= MAX_DAYS):
            raise InvalidInput(f"days must be 1..{MAX_DAYS}, got {self.days}", code="invalid_days")
        if not (self.calls_per_day > 0 and math.isfinite(self.calls_per_day)):
            raise InvalidInput(f"calls per day must be positive, got {self.calls_per_day}", code="invalid_calls")
        for name, v in (("handling time", self.handling_s), ("tolerance", self.tolerance_s)):
            if not (v >= 0 and math.isfinite(v)):
                raise InvalidInput(f"the {name} must be ≥ 0 seconds, got {v}", code="invalid_input")
        if not (self.cell_m > 0 and math.isfinite(self.cell_m)):
            raise InvalidInput(f"the demand cell must be a positive number of metres, got {self.cell_m}",
                               code="invalid_input")
        if len(self.shifts) != 24 or any(not (0.0 <= s <= 1.0) for s in self.shifts):
            raise InvalidInput("the shift profile needs 24 shares in [0, 1]", code="invalid_shifts")
        if round(max(self.shifts) * self.units) < 1:
            raise InvalidInput("no unit is ever on duty with this shift profile", code="no_units")
        if not self.mix or any(not (w >= 0 and math.isfinite(w)) for w in self.mix.values()) \
                or sum(self.mix.values()) <= 0:
            raise InvalidInput("the travel-mode mix needs non-negative weights, at least one positive",
                               code="invalid_mix")
        modes = {m.value for m in TravelMode}
        for m in self.mix:
            if m not in modes:
                raise InvalidInput(f"unknown travel mode {m!r}: use {', '.join(sorted(modes))}", code="invalid_mix")
        if self.modes is not None and (len(self.modes) != self.units or any(m not in modes for m in self.modes)):
            raise InvalidInput("one known travel mode per unit is needed", code="invalid_mix")
        for cat, st in self.service.items():
            if not (st.median_s > 0 and st.sigma >= 0 and math.isfinite(st.median_s) and math.isfinite(st.sigma)):
                raise InvalidInput(f"service time of {cat!r}: median > 0 s and sigma ≥ 0", code="invalid_service")
        return self

    def with_(self, **kw: object) -> SimParams:
        return replace(self, **kw)  # type: ignore[arg-type]

    def unit_modes(self) -> list[str]:
        """Travel mode of each unit: the roster's, else the mix's weights apportioned by largest remainder, in
        mix order."""
        if self.modes is not None:
            return list(self.modes)
        total = sum(self.mix.values())
        items = [(m, w) for m, w in self.mix.items() if w > 0]
        exact = [self.units * w / total for _, w in items]
        counts = [int(x) for x in exact]
        rest = sorted(range(len(items)), key=lambda i: -(exact[i] - counts[i]))
        for i in rest[: self.units - sum(counts)]:
            counts[i] += 1
        out: list[str] = []
        for (m, _), n in zip(items, counts, strict=True):
            out += [m] * n
        return out

    def on_duty(self, unit: int, hour: int) -> bool:
        """Unit ``unit`` (0-based) is on duty in local hour ``hour``: the first round(share × units) units are."""
        return unit < round(self.shifts[hour % 24] * self.units)
