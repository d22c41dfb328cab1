"""The demo as a plugged-in part: the generated call stream with simulated units (when
``JINGWU_DEMO_STREAM`` is on, as ``jingwu demo`` sets it) and ``jingwu index generate``."""

from __future__ import annotations

from jingwu.demo import history
from jingwu.demo.autopilot import Autopilot
from jingwu.demo.settings import DemoSettings
from jingwu.platform.container import Container
from jingwu.platform.feature import CliCommand, Feature


def autopilot_job(c: Container) -> Autopilot | None:
    s = c.settings.section(DemoSettings)
    return Autopilot(c, calls_per_hour=s.demo_calls_per_hour) if s.demo_stream else None


FEATURE = Feature(
    name="demo",
    jobs=(autopilot_job,),
    settings=DemoSettings,
    cli=(CliCommand("generate", history.generate_cmd, group="index"),),
)
