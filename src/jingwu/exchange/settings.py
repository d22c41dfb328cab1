"""The exchange's settings section (environment prefix ``JINGWU_EXCHANGE_``): who this deployment is
among its peers, where its signing keys live, the federation transport (NATS JetStream stream and subject
prefix), the replay window, and the reminder lead time of cooperation requests."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExchangeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_EXCHANGE_", env_file=None, extra="ignore")

    deployment_id: str | None = Field(default=None, description="This deployment's peer id (a-z 0-9 _ -); "
                                                                "unset: no federation, only agencies of this "
                                                                "deployment exchange")
    key_dir: Path | None = Field(default=None, description="Private signing keys (data_dir/exchange-keys if unset)")
    nats_url: str | None = Field(default=None, description="NATS of the federation (the platform's JINGWU_NATS_URL "
                                                           "if unset)")
    stream: str = Field(default="EXCHANGE", description="JetStream stream holding <subject_prefix>.>")
    subject_prefix: str = Field(default="exchange", description="Messages to peer P go to <prefix>.<P>.<sender>")
    relay: bool = Field(default=True, description="Run the federation relay and consumer inside `jingwu serve`")
    relay_interval_s: float = Field(default=0.5, gt=0)
    max_age_hours: float = Field(default=72.0, gt=0, description="Replay window: older messages are refused")
    max_skew_seconds: float = Field(default=300.0, ge=0, description="Messages dated further ahead are refused")
    reminder_hours: float = Field(default=24.0, ge=0, description="Reminder this long before a request's deadline")
    timer_interval_s: float = Field(default=60.0, ge=0, description="Deadline/12-hour timer period; 0: off")
    webhook_timeout_s: float = Field(default=10.0, gt=0)

    def key_path(self, data_dir: Path) -> Path:
        return self.key_dir or data_dir / "exchange-keys"
