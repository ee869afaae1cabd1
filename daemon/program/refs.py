"""How organizers name one obligation window in a command, and the ready-made replies offered
to them (pure).

A window is named by its obligation's id, with `#N` for the N-th window of a repeating one
("monthly-contact#3"): the same number its title shows ("Monthly contact #3"). Flags and
digests print that name beside each window and offer `mailto:` links whose subject is the
whole command (EXCUSE or EXTEND), to the program's own address: the organizer's mail client
fills in everything, so nobody types an id they cannot see.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from urllib.parse import quote

EXTEND_DAYS = 7  # the date an EXTEND link proposes: this long after the window was due


class WindowRef(NamedTuple):
    """An obligation id, and which window (1-based), or None for "the latest opened"."""

    obligation: str
    number: int | None


def window_ref(obligation: str, occurrence: int, repeats: bool) -> str:
    """The name of window `occurrence` (0-based) of `obligation` in a command."""
    return f"{obligation}#{occurrence + 1}" if repeats else obligation


def parse_window_ref(text: str) -> WindowRef:
    """`id` or `id#N` (N ≥ 1); anything else after '#' is kept in the id (and matches none)."""
    name, sep, number = text.partition("#")
    if sep and number.isdigit() and int(number) >= 1:
        return WindowRef(name, int(number))
    return WindowRef(text, None)


def key_parts(key: str) -> tuple[str, str, int]:
    """(obligation id, scope, 0-based occurrence) of a window key
    `<program>/obligation/<id>/<scope>/<k>`."""
    head, scope, k = key.rsplit("/", 2)
    return head.rsplit("/", 1)[-1], scope, int(k)


def command_links(
    mailbox: str, member: str, ref: str, due: dt.datetime, tz: dt.tzinfo
) -> dict[str, str]:
    """`mailto:` links to the program's mailbox: EXCUSE this window, or EXTEND it by a week
    (the organizer may change the date before sending)."""
    excuse = f"EXCUSE {member} {ref}"
    until = due.astimezone(tz).date() + dt.timedelta(EXTEND_DAYS)
    extend = f"EXTEND {member} {ref} {until.isoformat()}"
    return {
        "excuse": excuse,
        "extend": extend,
        "excuse_link": _mailto(mailbox, excuse),
        "extend_link": _mailto(mailbox, extend),
    }


def _mailto(mailbox: str, subject: str) -> str:
    return f"mailto:{quote(mailbox, safe='@')}?subject={quote(subject, safe='')}"
