"""The people of a program: participants and organizers (validated models), how to greet
them, and the program's sending identity. Loading them from a roster file is config's job."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import EmailStr, Field, field_validator

from daemon.program.timespec import Frozen, TimeZoneName

Attribute = str | int | float | bool
_TITLES = re.compile(r"^(dr|mr|mrs|ms|mx|prof|rev)\.?$", re.IGNORECASE)


def first_name_of(name: str) -> str:
    """How to greet someone: "Dana Whitfield" and "Whitfield, Dana" -> "Dana"; titles skipped."""
    if "," in name:
        name = name.split(",", 1)[1]
    words = [w for w in name.split() if not _TITLES.match(w)]
    return words[0] if words else name.strip()


class Participant(Frozen):
    name: str = Field(min_length=1)
    email: EmailStr
    timezone: TimeZoneName = Field(min_length=1)
    role: str
    group: str = ""
    pair: str = ""
    first_name: str = ""
    options: tuple[str, ...] = ()
    aliases: tuple[EmailStr, ...] = ()
    attributes: dict[str, Attribute] = Field(default_factory=dict)

    @field_validator("attributes", mode="after")
    @classmethod
    def _coerce_text(cls, value: dict[str, Attribute]) -> dict[str, Attribute]:
        """ "yes"/"no" and numbers written as text mean what they say, as in a CSV roster."""
        return {k: coerce(v) if isinstance(v, str) else v for k, v in value.items()}

    @property
    def greeting_name(self) -> str:
        return self.first_name or first_name_of(self.name)


class Organizer(Frozen):
    name: str = Field(min_length=1)
    email: EmailStr
    timezone: TimeZoneName = Field(min_length=1)


def coerce(value: str) -> Attribute:
    lowered = value.strip().lower()
    if lowered in ("yes", "true"):
        return True
    if lowered in ("no", "false"):
        return False
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


@dataclass(frozen=True)
class Sender:
    """Who program mail is from, and where replies go (`reply_to`, else `address`)."""

    name: str
    address: str
    reply_to: str = ""

    @property
    def reply_base(self) -> str:
        return self.reply_to or self.address

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]
