"""The instance configuration (`config.toml`): which program, when, who, and how to reach mail.

Values come from, highest priority first: environment variables (`MENTORMAIL_SMTP__PASSWORD`),
files in the secrets directory (systemd's `$CREDENTIALS_DIRECTORY`, same names), then the TOML
file. Secrets never need to be in the file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from daemon.config.providers import with_preset
from daemon.config.repair import validate_repairing
from daemon.config.tomlfile import Loc, TomlSource, dotted
from daemon.errors import Problem
from daemon.program.people import Address, Organizer
from daemon.program.timespec import TimeZoneName

Security = Literal["none", "starttls", "tls"]
Auth = Literal["password", "oauth2"]
Provider = Literal["", "microsoft365", "google", "custom"]
ENV_PREFIX = "MENTORMAIL_"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventOverride(Section):
    """The real link or place of one of the schedule's events."""

    url: str | None = None
    location: str | None = None


class ProgramSettings(Section):
    schedule: str = Field(min_length=1)
    id: str = ""
    start: dt.date
    timezone: TimeZoneName = Field(min_length=1)
    title: str = ""
    templates: str = ""
    resources: dict[str, str] = Field(default_factory=dict)
    events: dict[str, EventOverride] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if value and not re.match(r"^[a-z0-9][a-z0-9_-]*$", value):
            raise ValueError(
                f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_'"
            )
        return value


class SenderSettings(Section):
    name: str = Field(min_length=1)
    address: Address
    reply_to: Address | None = None

    @field_validator("reply_to", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """`reply_to = ""` means: replies go to the sending address."""
        return None if value == "" else value


class SmtpSettings(Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Security = "starttls"
    auth: Auth = "password"  # oauth2: a token from [oauth] (SASL OAUTHBEARER or XOAUTH2)
    username: str = ""
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    data_timeout_seconds: float = Field(default=600.0, gt=0)
    connections: int = Field(default=2, ge=1, le=16)
    max_per_minute: int = Field(default=60, ge=0)
    max_per_day: int = Field(default=0, ge=0)
    pass_seconds: float = Field(default=180.0, gt=0)  # one delivery's time bound


class ImapSettings(Section):
    host: str = ""  # empty: replies are not read
    port: int = Field(default=993, ge=1, le=65535)
    security: Security = "tls"
    auth: Auth = "password"
    username: str = ""
    password: SecretStr | None = None
    mailbox: str = "INBOX"
    processed_mailbox: str = "Processed"
    unmatched_mailbox: str = "Unmatched"
    poll_seconds: int = Field(default=300, ge=10)
    # the authserv-id(s) of the program's own receiving server, whose Authentication-Results
    # header vouches for senders ("*": the topmost header, for Microsoft 365); empty: the
    # From header is not checked, and every command that changes something is confirmed
    authserv_ids: Annotated[tuple[str, ...], NoDecode] = ()  # (from the environment: no JSON)

    @field_validator("authserv_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """`authserv_ids = "mx.example.org"`, or several separated by commas."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class OAuthSettings(Section):
    """How mentormail gets OAuth2 tokens (`mentormail login` once, then refreshed). A provider
    preset also fills in its servers and sending limits (config/providers.py)."""

    provider: Provider = ""
    client_id: str = ""
    client_secret: SecretStr | None = None  # Google's desktop clients have one
    tenant: str = "organizations"  # Microsoft: the directory (tenant) id or domain
    token_url: str = ""  # the presets fill these three and the scopes
    device_url: str = ""  # RFC 8628 device authorization (Microsoft, custom)
    authorize_url: str = ""  # a browser sign-in with a loopback redirect (Google, custom)
    scopes: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("scopes", mode="before")
    @classmethod
    def _space_separated(cls, value: object) -> object:
        """`scopes = "a b"` (as OAuth writes them), or a list."""
        if isinstance(value, str):
            return tuple(value.split())
        return value


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
    oauth: OAuthSettings = OAuthSettings()
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
        credentials = os.environ.get("CREDENTIALS_DIRECTORY", "")
        if credentials and Path(credentials).is_dir():
            sources.append(
                NestedSecretsSettingsSource(
                    file_secret_settings,
                    secrets_dir=credentials,
                    secrets_nested_delimiter="__",
                )
            )
        sources.append(init_settings)
        return tuple(sources)


FALLBACKS: dict[Loc, Any] = {
    # stand-ins for broken required keys, so the schedule, roster and templates still get
    # checked in the same run; the broken key is reported all the same
    ("program", "start"): dt.date(2000, 1, 3),
    ("program", "timezone"): "UTC",
    ("sender", "name"): "mentormail",
    ("sender", "address"): "mentormail@example.org",
    ("organizers",): [{"name": "Organizer", "email": "organizer@example.org", "timezone": "UTC"}],
}


def parse_config(source: TomlSource) -> tuple[Config | None, list[Problem], frozenset[Loc]]:
    """Validate a parsed config file; every problem is returned with its line (or the
    environment variable it came from). Broken optional keys take their defaults and broken
    required ones a stand-in (listed in the third value), so later checks can still run."""
    problems: list[Problem] = []
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and not Path(credentials).is_dir():
        problems.append(
            Problem("CREDENTIALS_DIRECTORY", 0, "", f"{credentials} is not a directory",
                    "systemd sets it for LoadCredential=; unset it when running by hand")
        )  # fmt: skip

    def problem(loc: Loc, kind: str, message: str, hint: str) -> Problem:
        return config_problem(source, loc, message, hint)

    fallbacks = dict(FALLBACKS)
    try:
        config, found = validate_repairing(
            lambda data: Config(**data),
            with_preset(source.data, os.environ),
            problem,
            fallbacks,
            Config,
        )
    except SettingsError as exc:
        cause = exc.__cause__ or exc
        problems.append(
            Problem("environment", 0, "", f"a MENTORMAIL_* variable cannot be read: {cause}",
                    "nested values given in one variable must be JSON; see README 'Configuration'")
        )  # fmt: skip
        return None, problems, frozenset()
    used = frozenset(loc for loc in FALLBACKS if loc not in fallbacks)
    return config, problems + found, used


def config_problem(source: TomlSource, loc: Loc, message: str, hint: str = "") -> Problem:
    """A problem with a config value: blamed on the environment variable that set it, if any,
    else on the file and line."""
    variable = _from_environment(loc)
    if variable:
        return Problem(variable, 0, dotted(loc), message, hint)
    return source.problem(loc, message, hint)


def resolve(config_path: Path, value: str | Path) -> Path:
    """A path from the config, relative to the config file's directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (config_path.parent / path)


def _from_environment(loc: Loc) -> str:
    """The MENTORMAIL_* variable that set `loc` (or a table holding it), or ""."""
    present = {name.upper() for name in os.environ}
    for size in range(len(loc), 0, -1):
        parts = loc[:size]
        if any(isinstance(p, int) for p in parts):
            continue
        name = ENV_PREFIX + "__".join(str(p).upper() for p in parts)
        if name in present:
            return name
    return ""
