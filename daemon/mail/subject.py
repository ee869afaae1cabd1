"""Subjects that fit: one line in a mail list is about 78 characters (RFC 5322's recommended
line length, and what Gmail, Outlook and phones show before cutting). A longer subject is
shortened at a word boundary with "…", never in the middle of a word unless one word is
longer than the whole line."""

from __future__ import annotations

MAX_SUBJECT = 78
_ELLIPSIS = "…"
_TRAILING = " ,;:-–—(/&"  # what a cut subject must not end with before the "…"


def shorten(subject: str, limit: int = MAX_SUBJECT) -> str:
    """`subject` if it has at most `limit` characters, else its longest beginning that ends at
    a word boundary, before any parenthesis it would leave open, and not on punctuation that
    leads on, plus "…", within `limit`."""
    if len(subject) <= limit:
        return subject
    room = subject[: limit - len(_ELLIPSIS) + 1]  # +1: a space right after the cut is fine
    space = room.rfind(" ")
    cut = room[:space] if space > limit // 3 else room[: limit - len(_ELLIPSIS)]
    opened = cut.rfind("(")
    if opened > limit // 3 and ")" not in cut[opened:]:
        cut = cut[:opened]  # never "(by Wednesday 6…": the aside goes whole
    cut = cut.rstrip(_TRAILING) or room[: limit - len(_ELLIPSIS)]
    return cut + _ELLIPSIS
