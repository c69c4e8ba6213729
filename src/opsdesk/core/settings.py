"""Settings from ``OPSDESK_*`` environment variables, so one process and a fleet configure alike."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SocialConnector(BaseModel):
    """Where agent replies for one platform go: a signed webhook to the connector that posts them."""

    url: str
    secret: SecretStr = Field(description="whsec_ base64 secret the outbound replies are signed with")
    max_length: int = Field(
        default=280, ge=1, le=100_000, description="The platform's limit for a public post"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in ./var")
    data_dir: Path = Path("var")
    secret_key: str = Field(default="", description="Signs survey links; generated into data_dir when empty")
    https: bool = Field(default=False, description="Mark cookies Secure (set behind TLS)")
    port: int = 8000
    db_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long a web request waits for a free database connection before a 503",
    )
    shed_lag_seconds: float = Field(
        default=0.75,
        ge=0,
        le=60,
        description="Answer 503 with Retry-After, at once, to a request that would wait longer than this to "
        "start (see web.load_shedding); 0 never sheds",
    )
    active_requests: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Requests a web process works on at once; the next ones wait their turn (or get a 503)",
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
    smtp_listener_tls_cert: str = Field(
        default="",
        description="PEM certificate (chain) file: with the key, the SMTP listener offers STARTTLS",
    )
    smtp_listener_tls_key: str = Field(default="", description="PEM private key file of that certificate")
    smtp_listener_require_starttls: bool = Field(
        default=False,
        description="Refuse mail from senders that do not STARTTLS first (needs the certificate)",
    )
    max_attachment_bytes: int = 25 * 1024 * 1024

    storage_url: str = Field(default="", description="Attachment store; empty means files under data_dir")
    auto_close_days: int = 4
    breaching_soon_minutes: int = 60

    public_url: str = Field(
        default="",
        description="Scheme and host the world reaches OpsDesk at: links in mail start here and Twilio "
        "signs it; empty: http://127.0.0.1:PORT in mail, the request's own URL for signatures",
    )
    csat_enabled: bool = Field(
        default=True, description="Email a satisfaction survey after a ticket is solved"
    )
    csat_scale: Literal["good_bad", "one_to_five"] = Field(
        default="good_bad", description="good/bad, or 1-5 where 4 and 5 count as good"
    )
    csat_delay_hours: float = Field(default=24, ge=0, le=720, description="Hours after solving to send it")
    # Live channels' inbound webhooks. Secrets are whsec_ base64 strings; several, separated by spaces,
    # are all accepted while a secret is rotated. SecretStr keeps them out of reprs and logs.
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=86_400)
    phone_webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="Signs OpsDesk JSON call events"
    )
    twilio_auth_token: SecretStr = Field(default=SecretStr(""), description="Twilio's X-Twilio-Signature key")
    phone_region: str = Field(default="US", description="Region of numbers written without a +country code")
    phone_wrap_up_seconds: int = Field(default=120, ge=0, le=86_400)
    phone_callback_tickets: bool = Field(
        default=True, description="An abandoned call opens a call-back ticket"
    )
    social_webhook_secret: SecretStr = Field(default=SecretStr(""), description="Signs inbound social posts")
    social_connectors: dict[str, SocialConnector] = Field(default_factory=dict)
    # Outbound webhooks (opsdesk.desk.outbound_webhooks).
    webhook_allow_private_targets: bool = Field(
        default=False, description="Allow webhook URLs on loopback and private networks (tests, labs)"
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, le=50, description="Attempts before a webhook delivery goes to the dead letters"
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'opsdesk.db').resolve()}"

    def link_base(self) -> str:
        """Where links in mail (survey links) point: the public URL, else this machine's own port."""
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'attachments').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
