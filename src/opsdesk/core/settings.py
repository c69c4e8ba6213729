"""Settings from ``OPSDESK_*`` environment variables, so one process and a fleet configure alike."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in ./var")
    data_dir: Path = Path("var")
    secret_key: str = Field(default="", description="Signs CSRF tokens; generated into var/ when empty")
    https: bool = Field(default=False, description="Mark cookies Secure (set behind TLS)")
    port: int = 8000
    db_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long a web request waits for a free database connection before a 503",
    )

    redis_url: str = Field(
        default="", description="When set, background jobs run on a Redis queue and chat fans out over it"
    )
    chat_redis_prefix: str = Field(default="opsdesk:chat", description="Redis channel and key prefix of chat")
    chat_schedule: str = Field(
        default="", description="Name of the business schedule chat is open in; empty means always"
    )
    chat_widget_origins: str = Field(
        default="",
        description="Comma-separated origins (https://www.example.com) whose pages may embed the chat "
        "widget; empty allows any",
    )

    smtp_url: str = Field(default="", description="Outbound mail, e.g. smtp://user:pass@host:587?starttls=1")
    support_address: str = "support@opsdesk.local"
    imap_url: str = Field(default="", description="Mailbox polled by `opsdesk mail poll`")
    max_attachment_bytes: int = 25 * 1024 * 1024

    storage_url: str = Field(default="", description="Attachment store; empty means files under data_dir")
    auto_close_days: int = 4
    breaching_soon_minutes: int = 60

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'opsdesk.db').resolve()}"

    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'attachments').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
