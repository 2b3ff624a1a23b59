"""Settings, read from the environment and an optional `.env` file (see `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "coopbot.db"


class Settings(BaseSettings):
    """Everything coopbot reads at start-up. Every field is documented in `.env.example` and the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    discord_token: SecretStr | None = Field(
        default=None, description="The bot token from the Developer Portal."
    )
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db.",
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

    webhooks_allow_http_localhost: bool = Field(
        default=False, description="Development only: allow http:// webhook URLs to localhost."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long a webhook receiver may take to answer."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Users paste plain URLs from their hosting provider; map them to the async drivers we ship.
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be sqlite+aiosqlite:///path or postgresql+asyncpg://...")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
