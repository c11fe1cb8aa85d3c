"""Settings from the environment and a ``.env`` file (names fixed by the product contract).

Example::

    settings = Settings()            # reads os.environ and ./.env
    settings.agent_ids               # frozenset of Telegram user ids
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org/bot"

IdSet = Annotated[frozenset[int], NoDecode]


def packaged_phrases_dir() -> Path:
    """The phrase files shipped inside the package (pip installs a wheel unpacked, so a real folder)."""
    return Path(str(resources.files("bot").joinpath("phrases")))


def default_phrases_dir() -> Path:
    """``./phrases`` when the current folder has one (an admin's copy), else the shipped files."""
    local = Path("phrases")
    return local if local.is_dir() else packaged_phrases_dir()


class Settings(BaseSettings):
    """Every setting the bot reads; unknown variables in ``.env`` are ignored."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field(default="", repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    agent_chat_id: int | None = None
    agent_ids: IdSet = frozenset()
    supervisor_ids: IdSet = frozenset()
    admin_ids: IdSet = frozenset()
    manager_ids: IdSet = frozenset()      # escalation level 2; empty means ADMIN_IDS
    database_path: Path = Path("data/tickets.db")
    # PHRASES_DIR; unset: ./phrases if it exists, else the files shipped with the package
    phrases_dir: Path = Field(default_factory=default_phrases_dir)
    sla_minutes: float = Field(default=60, gt=0)
    followup_hours: float = Field(default=24.0, gt=0)     # 回访 this long after a ticket is resolved
    reminder_minutes: float = Field(default=10, gt=0)     # agents are reminded this long before a deadline
    timezone: str = "Asia/Shanghai"                        # for times shown to people (the log stays UTC)
    # Telegram's flood limits (30 messages/s, 20/min per group); off only for a self-hosted
    # Bot API server without limits, or a benchmark against a local test server.
    rate_limiter: bool = True
    retry_seconds: float = Field(default=30, gt=0)   # unanswered messages are retried this often
    card_seconds: float = Field(default=3, gt=0)     # missing ticket cards are posted this often
    watch_seconds: float = Field(default=10, gt=0)   # edited phrase files are noticed this often
    # how long a write waits, backing off, for a ticket log another process has locked (a backup,
    # Datasette, an sqlite3 shell) before it gives up and the update is tried again later
    database_busy_seconds: float = Field(default=30, gt=0)
    # the largest file the bot sends: Telegram takes 50 MB from bots (a self-hosted Bot API server 2,000)
    document_limit_mb: float = Field(default=50, gt=0)
    # Webhook mode (instead of long polling) when WEBHOOK_URL is set: Telegram posts updates to
    # WEBHOOK_URL with WEBHOOK_SECRET in a header (required; requests without it get 403), and
    # the bot listens on WEBHOOK_LISTEN:WEBHOOK_PORT (behind a TLS proxy, or Telegram's ports).
    webhook_url: str = ""
    webhook_secret: str = Field(default="", repr=False, pattern=r"^[A-Za-z0-9_-]{0,256}$")
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)

    @field_validator("agent_ids", "supervisor_ids", "admin_ids", "manager_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1, 2,3"`` as well as a list; blanks are ignored."""
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("phrases_dir", mode="before")
    @classmethod
    def _blank_phrases_dir(cls, value: object) -> object:
        return default_phrases_dir() if isinstance(value, str) and not value.strip() else value

    @field_validator("agent_chat_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mode(self) -> str:
        """``webhook`` when WEBHOOK_URL is set, else ``polling``."""
        return "webhook" if self.webhook_url.strip() else "polling"

    @property
    def heartbeat_path(self) -> Path:
        """Touched by the running bot every 30 s, beside the ticket log; ``complaint-bot health`` reads its age."""
        return self.database_path.with_name(self.database_path.name + ".alive")

    @property
    def staff_ids(self) -> frozenset[int]:
        """Agents and supervisors: everyone who may act on tickets."""
        return self.agent_ids | self.supervisor_ids
