"""Dispatch's settings section (environment prefix ``JINGWU_``): the MQTT bridge for alarm buttons and
unit positions, and the group-commit intake (ADR 0007)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_", env_file=None, extra="ignore")

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1884, description="the project's Mosquitto (deploy/mosquitto/jingwu.conf)")
    mqtt_enabled: bool = Field(default=True, description="Bridge alarm buttons and positions from MQTT")
    mqtt_username: str = Field(default="jingwu-app", description="the app's broker account (ADR 0025)")
    mqtt_password: str = Field(default="", description="its password; empty: read mqtt_password_file")
    mqtt_password_file: str = Field(default="var/mosquitto/app.secret",
                                    description="file holding the app's broker password (make broker writes it)")
    mqtt_client_id: str = Field(default="jingwu-app", description="fixed client id of the persistent session: "
                                "QoS-1 alarms published while the app is down arrive after restart")
    mqtt_tls: bool = Field(default=False, description="connect with TLS (production broker on 8883)")
    mqtt_ca_file: str = Field(default="", description="CA bundle for mqtt_tls; empty: the system's")
    mqtt_broker_passwd_file: str = Field(default="", description="set: the app rewrites this broker password file "
                                         "when an alarm device changes (as `jingwu mqtt passwd`)")
    mqtt_broker_pid_file: str = Field(default="var/mosquitto/mosquitto.pid",
                                      description="the broker's pid file: SIGHUP after rewriting the password file")
    mqtt_alarm_window_seconds: int = Field(default=300, ge=10, le=7 * 86_400,
                                           description="signed alarms: accepted timestamp skew and age")
    intake_max_batch: int = Field(default=64, ge=1, le=1000,
                                  description="Most calls stored in one intake transaction (group commit)")
    intake_writers: int = Field(default=1, ge=1, le=16, description="Intake writer threads per process")
    status_max_age_hours: float = Field(default=6, gt=0, le=72,
                                        description="Oldest status/feedback tap time (`at`) accepted from a phone's "
                                                    "offline queue (ADR 0024)")
    status_skew_seconds: float = Field(default=30, ge=0, le=600,
                                       description="Clock skew allowed for a tap time in the future (ADR 0024)")
    # sanity of what units report (ADR 0018)
    position_clock_skew_seconds: float = Field(
        default=120, ge=0, le=3600, description="A position stamped further ahead of the server clock is refused")
    position_area_margin_m: float = Field(
        default=5000, ge=0, le=100_000, description="A position further outside the served area is refused")
    arrival_far_from_scene_m: float = Field(
        default=500, ge=10, le=100_000, description="An arrival reported further from the scene is flagged")
    arrival_too_soon_ratio: float = Field(
        default=0.5, ge=0, le=1, description="An arrival sooner than this share of the routed ETA is flagged")

    def mqtt_secret(self) -> str:
        """The app's broker password: the setting, else the first line of mqtt_password_file (or empty)."""
        if self.mqtt_password or not self.mqtt_password_file:
            return self.mqtt_password
        try:
            with open(self.mqtt_password_file, encoding="utf-8") as f:
                return f.readline().strip()
        except OSError:
            return ""
