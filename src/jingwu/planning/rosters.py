"""Shift plans that meet demand by hour and weekday (the shift scheduling model of Dantzig 1954), per
patrol mode.

Input: the officers required in each hour of the week (``day,hour,required[,mode]``; a missing hour
needs nobody). Shifts last ``shift_hours`` and may start at the allowed hours of every day; the week is
cyclic (a Sunday-night shift covers Monday morning). The integer programme

    min Σ_s x_s   s.t.   Σ_{s covers h} x_s ≥ r_h  (all 168 hours),   x_s ∈ ℤ≥0

(x_s officers start shift s) is solved by HiGHS to proven optimality, one mode at a time: the fewest
officer-shifts that leave no hour short. Modes are those of seed 004's five-way patrol (foot, car,
motorbike, video, air/sea).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from jingwu.planning.hotspots import DAYS
from jingwu.planning.inputs import _number, _rows
from jingwu.platform.errors import InvalidInput

MODES = ("foot", "car", "motorbike", "video", "air", "sea")


@dataclass(frozen=True)
class ShiftRules:
    shift_hours: int = 8
    starts: tuple[int, ...] = tuple(range(24))

    def check(self) -> None:
        if not (isinstance(self.shift_hours, int) and 1 <= self.shift_hours <= 24):
            raise InvalidInput(f"the shift length must be 1 to 24 hours, got {self.shift_hours}", code="invalid_shift")
        if not self.starts or any(not (0 <= s <= 23) for s in self.starts):
            raise InvalidInput("shift start hours must be 0 to 23", code="invalid_shift")


def read_requirements(text: str, name: str = "requirements") -> dict[str, np.ndarray]:
    """``day,hour,required[,mode]`` → {mode: 168 required officers}; mode defaults to ``foot``."""
    rows, header = _rows(text, name, ["day", "hour", "required"])
    out: dict[str, np.ndarray] = {}
    seen: set[tuple[str, int]] = set()
    for n, r in enumerate(rows):
        line = n + 2
        day = r["day"].strip().lower()[:3]
        if day not in DAYS:
            raise InvalidInput(f"{name} line {line}: day must be one of {', '.join(DAYS)}, got {r['day']!r}",
                               code="invalid_day")
        hour = _number(r["hour"], name, line, "hour")
        if hour != int(hour) or not 0 <= hour <= 23:
            raise InvalidInput(f"{name} line {line}: hour must be 0 to 23, got {r['hour']!r}", code="invalid_hour")
        req = _number(r["required"], name, line, "required")
        if req < 0 or req > 100_000:
            raise InvalidInput(f"{name} line {line}: required must be 0 to 100000, got {req:g}",
                               code="invalid_required")
        mode = (r.get("mode") or "foot").strip().lower() if "mode" in header else "foot"
        if mode not in MODES:
            raise InvalidInput(f"{name} line {line}: mode must be one of {', '.join(MODES)}, got {mode!r}",
                               code="invalid_mode")
        key = (mode, DAYS.index(day) * 24 + int(hour))
        if key in seen:
            raise InvalidInput(f"{name} line {line}: {mode} {day} {int(hour)}:00 is listed twice",
                               code="duplicate_hour")
        seen.add(key)
        out.setdefault(mode, np.zeros(168))[key[1]] = math.ceil(req)
    return out


def plan_shifts(required: np.ndarray, rules: ShiftRules) -> dict[str, Any]:
    rules.check()
    req = np.asarray(required, dtype=np.float64)
    if req.shape != (168,):
        raise InvalidInput("168 hourly requirements are needed", code="invalid_required")
    shifts = [(d, s) for d in range(7) for s in sorted(set(rules.starts))]
    a = np.zeros((168, len(shifts)))
    for k, (d, s) in enumerate(shifts):
        for t in range(rules.shift_hours):
            a[(d * 24 + s + t) % 168, k] = 1.0
    if req.sum() == 0:
        x = np.zeros(len(shifts))
    else:
        res = milp(np.ones(len(shifts)), constraints=[LinearConstraint(a, req, np.inf)],
                   integrality=np.ones(len(shifts)), bounds=Bounds(0, np.inf),
                   options={"disp": False, "mip_rel_gap": 0.0})
        if res.status != 0 or res.x is None:
            raise InvalidInput(f"no shift plan meets the requirements ({res.message})", code="infeasible")
        x = np.round(res.x)
    on_duty = a @ x
    plan = [{"day": DAYS[d], "start": f"{s:02d}:00", "end": f"{(s + rules.shift_hours) % 24:02d}:00",
             "officers": int(n)} for (d, s), n in zip(shifts, x.tolist(), strict=True) if n > 0]
    return {"shift_hours": rules.shift_hours, "officer_shifts": int(x.sum()),
            "officer_hours": int(x.sum()) * rules.shift_hours, "required_hours": int(req.sum()),
            "surplus_hours": int((on_duty - req).sum()), "short_hours": int(np.maximum(req - on_duty, 0).sum()),
            "proven_optimal": True, "shifts": plan,
            "hours": [{"day": DAYS[h // 24], "hour": h % 24, "required": int(req[h]), "on_duty": int(on_duty[h])}
                      for h in range(168)]}


def plan_roster(text: str, rules: ShiftRules) -> dict[str, Any]:
    rules.check()
    reqs = read_requirements(text)
    return {"modes": {m: plan_shifts(r, rules) for m, r in sorted(reqs.items(), key=lambda kv: MODES.index(kv[0]))}}
