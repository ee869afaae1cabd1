"""The instance configuration (`config.toml`): which program, when, who, and how to reach mail.

Values come from, highest priority first: environment variables (`MENTORMAIL_SMTP__PASSWORD`),
files in the secrets directory (systemd's `$CREDENTIALS_DIRECTORY`, same names), then the TOML
file. Secrets never need to be in the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from daemon.errors import Problem
from daemon.program.repair import validate_repairing
from daemon.program.roster import Organizer
from daemon.program.timespec import TimeZoneName
from daemon.program.tomlsource import Loc, TomlSource, dotted

Security = Literal["none", "starttls", "tls"]
ENV_PREFIX = "MENTORMAIL_"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProgramSettings(Section):
    schedule: str = Field(min_length=1)
    id: str = ""
    start: dt.date
    timezone: TimeZoneName = Field(min_length=1)
    title: str = ""
    templates: str = ""
    resources: dict[str, str] = Field(default_factory=dict)


class SenderSettings(Section):
    name: str = Field(min_length=1)
    address: EmailStr
    reply_to: EmailStr | None = None


class SmtpSettings(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = "starttls"
    username: str = ""
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    connections: int = Field(default=2, ge=1, le=16)
    max_per_minute: int = Field(default=60, ge=0)
    max_per_day: int = Field(default=0, ge=0)


class ImapSettings(Section):
    host: str = "localhost"
    port: int = Field(default=993, ge=1, le=65535)
    security: Security = "tls"
    username: str = ""
    password: SecretStr | None = None
    mailbox: str = "INBOX"
    processed_mailbox: str = "Processed"
    unmatched_mailbox: str = "Unmatched"
    poll_seconds: int = Field(default=300, ge=10)


class StateSettings(Section):
    path: Path = Path("state")


class RosterSettings(Section):
    file: str = ""
    participants: list[dict[str, Any]] = Field(default_factory=list)


class Config(BaseSettings):
    """The whole of config.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    program: ProgramSettings
    sender: SenderSettings
    organizers: list[Organizer] = Field(min_length=1)
    smtp: SmtpSettings = SmtpSettings()
    imap: ImapSettings = ImapSettings()
    state: StateSettings = StateSettings()
    roster: RosterSettings = RosterSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [env_settings]
        if os.environ.get("CREDENTIALS_DIRECTORY"):
            sources.append(
                NestedSecretsSettingsSource(
                    file_secret_settings,
                    secrets_dir=os.environ["CREDENTIALS_DIRECTORY"],
                    secrets_nested_delimiter="__",
                )
            )
        sources.append(init_settings)
        return tuple(sources)


def parse_config(source: TomlSource) -> tuple[Config | None, list[Problem]]:
    """Validate a parsed config file; every problem is returned with its line. A config with
    broken optional keys is still returned (with their defaults), so later checks can run."""

    def problem(loc: Loc, kind: str, message: str, hint: str) -> Problem:
        if kind == "extra_forbidden":
            message = "unknown key"
            hint = "remove it, or check its spelling against config.example.toml"
        elif kind != "missing":
            hint = _HINTS.get(str(loc[-1]) if loc else "", hint)
        if _from_environment(loc):
            return Problem(_env_name(loc), 0, dotted(loc), message, hint)
        return source.problem(loc, message, hint)

    return validate_repairing(lambda data: Config(**data), source.data, problem)


def resolve(config_path: Path, value: str | Path) -> Path:
    """A path from the config, relative to the config file's directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (config_path.parent / path)


def _env_name(loc: tuple[Any, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc[:2])


def _from_environment(loc: tuple[Any, ...]) -> bool:
    return len(loc) >= 2 and _env_name(loc) in {k.upper() for k in os.environ}


_HINTS = {
    "timezone": "use an IANA zone name such as America/Los_Angeles",
    "start": "write a date such as 2021-07-12 (no quotes)",
    "address": "write a full address such as mentoring@example.org",
    "email": "write a full address such as ana@example.org",
    "reply_to": "write a full address such as replies@example.org",
    "security": "use none, starttls or tls",
    "port": "a number from 1 to 65535",
}
