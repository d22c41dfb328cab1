"""Routing's settings section (environment prefix ``JINGWU_``): the served road network and where its
compiled graphs are cached."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jingwu.platform.settings import PACKAGE_DIR, Settings

DEMO_OSM_FILE = PACKAGE_DIR / "data" / "chengdu" / "chengdu_central_osm_2018.osm"


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_", env_file=None, extra="ignore")

    osm_file: Path = Field(default=DEMO_OSM_FILE,
                           description="Road network served when none is recorded in the database")
    graph_dir: Path | None = Field(default=None, description="Compiled road graphs (default data_dir/graphs)")
    network_check_seconds: float = Field(
        default=10.0, ge=0, description="How often a server checks whether the served network was switched (0: never)")


def graph_cache_dir(settings: Settings) -> Path:
    return settings.section(RoutingSettings).graph_dir or settings.data_dir / "graphs"
