"""The one settings object (environment prefix ``JINGWU_``).

Embedded SQLite under ``data_dir`` by default; PostgreSQL when
``JINGWU_DATABASE_URL`` is set. Outside demo mode the application refuses to
start with the default secret.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEMO_OSM_FILE = PACKAGE_DIR / "data" / "chengdu" / "chengdu_central_osm_2018.osm"
DEMO_STATIONS_FILE = PACKAGE_DIR / "data" / "chengdu" / "chengdu_central_osm_police_fire.csv"
DEFAULT_SECRET = "jingwu-demo-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and compiled graphs live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite file in data_dir if unset")
    osm_file: Path = Field(default=DEMO_OSM_FILE, description="Road network of the served area")
    secret_key: str = Field(default=DEFAULT_SECRET, description="Signs session cookies and tokens")
    demo_mode: bool = Field(default=False, description="Allows default secrets and demo users")
    token_ttl_minutes: int = Field(default=480, ge=1)
    session_cookie: str = "jingwu_session"
    nats_url: str | None = Field(default=None, description="NATS JetStream bus; in-process bus if unset")
    nats_stream: str = "JINGWU"
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_enabled: bool = Field(default=True, description="Bridge alarm buttons and positions from MQTT")
    timezone: str = "Asia/Shanghai"
    demo_stream: bool = Field(default=False, description="Run the generated call stream and simulated units")
    demo_calls_per_hour: float = Field(default=60.0, gt=0, le=100_000)
    host: str = "127.0.0.1"
    port: int = 8000
    worker_threads: int = Field(default=4, ge=1, le=200, description="Threads per process for request handlers")
    intake_max_batch: int = Field(default=64, ge=1, le=1000,
                                  description="Most calls stored in one intake transaction (group commit)")
    intake_writers: int = Field(default=1, ge=1, le=16, description="Intake writer threads per process")
    log_json: bool = True
    log_level: str = "INFO"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jingwu.db').resolve()}"

    graph_dir: Path | None = Field(default=None, description="Compiled road graphs (default data_dir/graphs)")

    @property
    def graph_cache_dir(self) -> Path:
        return self.graph_dir or self.data_dir / "graphs"

    def uses_default_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
