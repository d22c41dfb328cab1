"""The demo's settings section (environment prefix ``JINGWU_``): the generated call stream."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_", env_file=None, extra="ignore")

    demo_stream: bool = Field(default=False, description="Run the generated call stream and simulated units")
    demo_calls_per_hour: float = Field(default=60.0, gt=0, le=100_000)
