"""Setup as a plugged-in part: the ``jingwu setup`` command (a deployment from files)."""

from __future__ import annotations

from jingwu.platform.feature import CliCommand, Feature
from jingwu.setup import cli

FEATURE = Feature(
    name="setup",
    cli=(CliCommand("setup", cli.setup, "Set up a deployment from a manifest of files (docs/deploy.md)."),),
)
