"""Per-process wiring of the exchange: this deployment's ``Federation`` (id, key directory, replay window)
from its settings."""

from __future__ import annotations

from datetime import timedelta

from jingwu.exchange.services.common import Federation
from jingwu.exchange.settings import ExchangeSettings
from jingwu.platform.container import Container, Slot


def _build(c: Container) -> Federation:
    xs = c.settings.section(ExchangeSettings)
    return Federation(me=xs.deployment_id, key_dir=xs.key_path(c.settings.data_dir),
                      max_age=timedelta(hours=xs.max_age_hours), max_skew=timedelta(seconds=xs.max_skew_seconds))


FEDERATION: Slot[Federation] = Slot("exchange.federation", _build)


def federation(c: Container) -> Federation:
    return c.get(FEDERATION)
