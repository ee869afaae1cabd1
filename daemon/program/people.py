"""The people of a program: participants and organizers (validated models), how to greet
them, and the program's sending identity. Loading them from a roster file is config's job."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, EmailStr, Field, field_validator
from pydantic_core import PydanticCustomError

from daemon.program.timespec import Frozen, TimeZoneName

Attribute = str | int | float | bool
_TITLES = re.compile(r"^(dr|mr|mrs|ms|mx|prof|rev)\.?$", re.IGNORECASE)
NOT_ASCII = "address_not_ascii"  # the error type of an address that cannot be sent to


def ascii_domain(address: str) -> str:
    """`address` with its domain in ASCII form: `bücher.example` is `xn--bcher-kva.example`
    (IDNA makes that the very same domain, and every server takes it). EmailStr hands back
    the Unicode form, even of an address written as xn--, which a plain SMTP server refuses
    and which never equals the From of mail sent without SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{validate_email(address, check_deliverability=False).ascii_domain}"
    except EmailNotValidError as exc:  # EmailStr took it already: not expected
        raise ValueError(str(exc)) from None


def sendable(address: str) -> str:
    """An address mentormail can send to: its domain in ASCII form (see `ascii_domain`), and
    only ASCII before the @. That part has no ASCII equivalent (only the recipient's server
    knows what it means) and delivering to it needs SMTPUTF8, which mentormail does not use,
    so such an address is refused when loaded rather than failing at every send."""
    local = address.rpartition("@")[0]
    letter = next((c for c in local if not c.isascii()), "")
    if letter:
        raise PydanticCustomError(
            NOT_ASCII,
            "{address} has {letter} before the @: mentormail sends to plain ASCII addresses only",
            {"address": address, "letter": repr(letter)},
        )
    return ascii_domain(address)


Address = Annotated[EmailStr, AfterValidator(sendable)]
"""An address mail is sent to, in the ASCII form it is sent to (see `sendable`)."""
Alias = Annotated[EmailStr, AfterValidator(ascii_domain)]
"""Another address someone replies from: only matched against From, never sent to, so it
may have letters beyond ASCII before the @."""


def names_and(names: list[str]) -> str:
    """ "Ashley", "Ashley and Morgan", "Grace, Sam and Ruth" ("" for nobody)."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def first_name_of(name: str) -> str:
    """How to greet someone: "Dana Whitfield" and "Whitfield, Dana" -> "Dana"; titles skipped."""
    if "," in name:
        name = name.split(",", 1)[1]
    words = [w for w in name.split() if not _TITLES.match(w)]
    return words[0] if words else name.strip()


class Participant(Frozen):
    name: str = Field(min_length=1)
    email: Address
    timezone: TimeZoneName = Field(min_length=1)
    role: str
    group: str = ""
    pair: str = ""
    first_name: str = ""
    options: tuple[str, ...] = ()
    aliases: tuple[Alias, ...] = ()
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
    email: Address
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
