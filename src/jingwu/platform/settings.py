"""The one settings object (environment prefix ``JINGWU_``), with a section per feature.

The platform's own fields live here; each feature declares its section as a
``BaseSettings`` class in its package (e.g. ``RoutingSettings``) and reads it
with ``settings.section(RoutingSettings)``: read from the environment on first
use unless given with ``settings.with_sections(...)``. Embedded SQLite under
``data_dir`` by default; PostgreSQL when ``JINGWU_DATABASE_URL`` is set.
Outside demo mode the application refuses to start with the default secret.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypeVar, cast

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "jingwu-demo-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and compiled graphs live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite file in data_dir if unset")
    secret_key: str = Field(default=DEFAULT_SECRET, description="Signs session cookies and tokens")
    demo_mode: bool = Field(default=False, description="Allows default secrets and demo users")
    metrics_token: str | None = Field(default=None, description="Bearer token for GET /metrics; unset: loopback "
                                                                "clients only")
    token_ttl_minutes: int = Field(default=480, ge=1)
    session_cookie: str = "jingwu_session"
    nats_url: str | None = Field(default=None, description="NATS JetStream bus; in-process bus if unset")
    nats_stream: str = "JINGWU"
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="The address the public reaches this server at "
                                                             "(SMS location links); unset: http://host:port")
    body_limit_bytes: int = Field(default=1 << 20, ge=1024, description="Largest request body (413 above)")
    large_body_limit_bytes: int = Field(default=32 << 20, ge=1024,
                                        description="Largest body on upload routes (town boundaries)")
    worker_threads: int = Field(default=4, ge=1, le=200, description="Threads per process for request handlers")
    audit_anchor_key: Path | None = Field(default=None, description="Ed25519 key signing audit checkpoints "
                                                                   "(data_dir/audit-anchor.key if unset)")
    audit_anchor_file: Path | None = Field(default=None, description="Append-only file of signed audit "
                                                                    "checkpoints (data_dir/audit-anchors.jsonl)")
    audit_anchor_interval_s: float = Field(default=60.0, ge=0, description="Seconds between audit checkpoints; "
                                                                          "0 switches the job off")
    log_json: bool = True
    log_level: str = "INFO"
    _sections: dict[type[BaseSettings], BaseSettings] = PrivateAttr(default_factory=dict)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jingwu.db').resolve()}"

    def anchor_key_path(self) -> Path:
        return self.audit_anchor_key or self.data_dir / "audit-anchor.key"

    def anchor_file_path(self) -> Path:
        return self.audit_anchor_file or self.data_dir / "audit-anchors.jsonl"

    def public_base(self) -> str:
        """Where links sent to the public point: the configured public URL, never a request's Host header."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def uses_default_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET

    def section(self, kind: type[S]) -> S:
        """A feature's settings section: the one given to ``with_sections``, else read from the environment."""
        got = self._sections.get(kind)
        if got is None:
            got = self._sections[kind] = kind()
        return cast(S, got)

    def with_sections(self, *sections: BaseSettings) -> Settings:
        """A copy of these settings with the given sections in place of the environment's."""
        new = self.model_copy()
        new._sections = {**self._sections, **{type(x): x for x in sections}}
        return new

    def copy_with(self, **fields: object) -> Settings:
        """A copy with platform fields changed, keeping the sections."""
        new = self.model_copy(update=fields)
        new._sections = dict(self._sections)
        return new


S = TypeVar("S", bound=BaseSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
