"""The one table of hints: what to do about a problem, by key name or by kind of error."""

from __future__ import annotations

from collections.abc import Sequence

from daemon.config.spelling import close_key
from daemon.config.zones import zone_hint
from daemon.program.people import NOT_ASCII

BY_KEY = {
    "timezone": "use an IANA zone name such as America/Chicago or Australia/Sydney",
    "start": "write a date such as 2021-07-12 (no quotes)",
    "email": "write a full address such as ana@example.org",
    "address": "write a full address such as mentoring@example.org",
    "reply_to": "write a full address such as replies@example.org, or leave it empty",
    "aliases": "write full addresses such as ana@home.example.net",
    "security": "use none, starttls or tls",
    "port": "a number from 1 to 65535",
    "name": "give the name as it should appear in mail",
    "role": "give one of the schedule's roles",
}

BY_KIND = {
    "extra_forbidden": "remove it, or check its spelling against the documented keys",
    "missing": "add it; README 'Configuration reference' (the config, a roster's participants) "
    "and 'Schedules' (a schedule) document every key",
    "int_parsing": "write a whole number, without quotes",
    "int_type": "write a whole number, without quotes",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number, without quotes",
    "float_type": "write a number, without quotes",
    "bool_parsing": "write true or false, without quotes",
    "bool_type": "write true or false, without quotes",
    "date_parsing": "write a date such as 2021-07-12, without quotes",
    "date_type": "write a date such as 2021-07-12, without quotes",
    "datetime_parsing": "write a local date and time such as 2021-07-12T12:00:00",
    "datetime_type": "write a local date and time such as 2021-07-12T12:00:00",
    "time_parsing": "write a time of day such as 09:00:00",
    "time_type": "write a time of day such as 09:00:00",
    "literal_error": "use one of the values listed in the message",
    "string_type": "write text in quotes",
    "list_type": "write a list in brackets, e.g. [1, 2]",
    "tuple_type": "write a list in brackets, e.g. [1, 2]",
    "dict_type": "write a table, e.g. { key = value }",
    "model_type": "write a table, e.g. { week = 1 }",
    "too_short": "give at least the number of entries the message asks for",
    "too_long": "give at most the number of entries the message allows",
    "greater_than_equal": "use a value within the range the message gives",
    "less_than_equal": "use a value within the range the message gives",
    "greater_than": "use a value within the range the message gives",
    "string_too_short": "it must not be empty",
    "value_error": "",
    NOT_ASCII: "give an address with only ASCII letters before the @ (ask its owner for "
    "one: most providers offer such an alias); README 'Configuration reference'",
}


def hint_for(key: str, kind: str, value: object = None, known: Sequence[str] = ()) -> str:
    """A hint for an error of `kind` at a key named `key`, about the `value` written there;
    `known`: the keys its table may have (for an unknown key, the one it may be meant as)."""
    if kind == "extra_forbidden" and (meant := close_key(key, known)):
        return f"did you mean {meant}? (or remove it)"
    if kind in ("extra_forbidden", "missing", NOT_ASCII):
        return BY_KIND[kind]
    if key == "timezone" and kind == "value_error" and isinstance(value, str):
        return zone_hint(value)
    return BY_KEY.get(key) or BY_KIND.get(kind, "")


def message_for(kind: str, message: str) -> str:
    """Pydantic's message, in our words where they are clearer."""
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing"
    return message.removeprefix("Value error, ")
