"""Shift plans by hour and weekday: known optima, the cyclic week, per-mode plans, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from jingwu.planning.cli import roster_cmd
from jingwu.planning.rosters import ShiftRules, plan_roster, plan_shifts
from jingwu.platform.errors import InvalidInput

app = typer.Typer()
app.command("roster")(roster_cmd)
app.command("other")(lambda: None)
runner = CliRunner()


def test_known_optima() -> None:
    every_hour = plan_shifts(np.ones(168), ShiftRules(8))
    assert every_hour["officer_shifts"] == 21 and every_hour["surplus_hours"] == 0
    req = np.zeros(168)
    req[9:17] = 2  # Monday 09–16
    p = plan_shifts(req, ShiftRules(8))
    assert p["officer_shifts"] == 2 and p["shifts"] == [{"day": "mon", "start": "09:00", "end": "17:00", "officers": 2}]
    req = np.zeros(168)
    req[6:10] = 1  # Monday 06–09 with fixed 0/8/16 starts needs two shifts
    assert plan_shifts(req, ShiftRules(8, (0, 8, 16)))["officer_shifts"] == 2
    req = np.zeros(168)
    req[[166, 167, 0, 1, 2, 3]] = 1  # Sunday 22:00 to Monday 04:00: one shift across the week's end
    wrap = plan_shifts(req, ShiftRules(8))
    assert wrap["officer_shifts"] == 1 and wrap["short_hours"] == 0


def test_random_requirements_are_met_at_least_cost() -> None:
    rng = np.random.default_rng(4)
    req = rng.integers(0, 6, 168).astype(float)
    p = plan_shifts(req, ShiftRules(8, (0, 4, 8, 12, 16, 20)))
    on = np.array([h["on_duty"] for h in p["hours"]])
    assert (on >= req).all() and p["short_hours"] == 0
    # lower bounds: total hours / shift length, and any 8 consecutive hours' peak
    assert p["officer_shifts"] >= int(np.ceil(req.sum() / 8))
    # taking one officer off any planned shift leaves some hour short (the plan has no spare shift)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    for s in p["shifts"]:
        start = days.index(s["day"]) * 24 + int(s["start"][:2])
        hours = [(start + t) % 168 for t in range(8)]
        assert any(on[h] - 1 < req[h] for h in hours)


def test_modes_and_refusals(tmp_path: Path) -> None:
    csv = "day,hour,required,mode\nmon,9,2,foot\nmon,10,2,foot\nfri,21,3,car\nsat,2,1,video\n"
    plan = plan_roster(csv, ShiftRules(4))
    assert list(plan["modes"]) == ["foot", "car", "video"]
    assert plan["modes"]["car"]["officer_shifts"] == 3
    for bad, code in [("day,hour,required\nxyz,1,1\n", "invalid_day"),
                      ("day,hour,required\nmon,24,1\n", "invalid_hour"),
                      ("day,hour,required\nmon,1,-1\n", "invalid_required"),
                      ("day,hour,required\nmon,1,1\nmon,1,2\n", "duplicate_hour"),
                      ("day,hour,required,mode\nmon,1,1,horse\n", "invalid_mode")]:
        with pytest.raises(InvalidInput) as exc:
            plan_roster(bad, ShiftRules(8))
        assert exc.value.code == code
    with pytest.raises(InvalidInput) as exc:
        plan_roster(csv, ShiftRules(0))
    assert exc.value.code == "invalid_shift"
    f = tmp_path / "r.csv"
    f.write_text(csv)
    res = runner.invoke(app, ["roster", "--requirements", str(f), "--shift-hours", "4", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["modes"]["foot"]["officer_shifts"] == 2
    res = runner.invoke(app, ["roster", "--requirements", str(f), "--starts", "x"])
    assert res.exit_code == 2 and "error [invalid_shift]" in res.stderr
