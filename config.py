"""Settings, read from the environment and an optional `.env` file (see `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    """Everything coopbot reads at start-up. Every field is documented in `.env.example` and the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    discord_token: SecretStr | None = Field(
        default=None, description="The bot token from the Developer Portal."
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Where the SQLite file (by default), exports and backups go."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db "
        "(default: a SQLite file in DATA_DIR).",
    )
    database_pool_size: int = Field(
        default=5, ge=1, le=100, description="PostgreSQL connections per process."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    owner_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Comma-separated Discord user ids allowed owner commands."
    )
    dev_guild_id: int | None = Field(
        default=None, description="A guild to sync commands to instantly while developing (`coopbot sync`)."
    )

    shard_count: int | None = Field(
        default=None, ge=1, description="Total shards over all processes (default: Discord's advice)."
    )
    shard_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="The shards this process runs, comma-separated (default: all)."
    )
    webhooks_allow_http_localhost: bool = Field(
        default=False,
        description="Development only: allow webhooks to this machine (loopback), http or https.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Deadline for a whole webhook delivery (seconds)."
    )
    # Fair use (governance/limits.py): 0 turns a count off.
    limit_remind_hours: float = Field(
        default=6.0, ge=0, le=168, description="Hours before a proposal's voters may be reminded again."
    )
    limit_proposals_per_hour: int = Field(
        default=10, ge=0, description="Proposals one member may open in an hour (moderators: any number)."
    )
    limit_requests_per_hour: int = Field(
        default=10, ge=0, description="Funding requests one member may make in an hour."
    )
    limit_exports_per_hour: int = Field(
        default=3, ge=0, description="/coop export runs per cooperative an hour."
    )
    limit_webhook_tests_per_hour: int = Field(
        default=10, ge=0, description="/coop webhooks test runs per cooperative an hour."
    )
    export_keep_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days an export too large for Discord is kept in DATA_DIR/exports.",
    )
    export_keep_mb: int = Field(
        default=500, ge=1, description="Megabytes of kept exports per cooperative (the oldest go first)."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("owner_ids", "shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value:
            return value  # filled in from data_dir below
        # Users paste plain URLs from their hosting provider; map them to the async drivers we ship.
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be sqlite+aiosqlite:///path or postgresql+asyncpg://...")
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'coopbot.db'}"
        return self

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT (the total over all processes)")
        if self.shard_count is not None and any(not 0 <= i < self.shard_count for i in self.shard_ids):
            raise ValueError("every shard id must be between 0 and SHARD_COUNT - 1")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
