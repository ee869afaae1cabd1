"""Text from outside — what participants wrote, command arguments, names and fields from the
roster, a mail server's diagnostic — shown exactly as written, never as markup.

Templates are Markdown, rendered to HTML and to plain text: a name like
`[Log in](https://evil.example)` or `![](https://tracker.example/p.gif)` would become a link or
an image in mail that looks like the program's own. Such values are wrapped in `Inert`: every
character Markdown would act on is escaped with a backslash (`markdown()`, for the text part)
and, in the HTML part (autoescaped), HTML's too, so both come out as the same characters.
Text the organizers wrote in the schedule and the config stays Markdown: that is how they
format their mail. Only the bidi controls are left out (BIDI_CONTROLS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, SupportsIndex

from markupsafe import escape

from daemon.program.calendar_text import BIDI_CONTROLS

# what Python-Markdown reads as syntax (Markdown.ESCAPED_CHARS, with the tables extension's |),
# each written with a backslash, which Markdown reads as "this character"; < > & are written
# as HTML entities instead, which Markdown leaves alone (no tag, autolink or blockquote)
_MARKDOWN = re.compile(r"[\\`*_{}\[\]()#+\-.!|]")
_TEXT = re.compile(r"[\\`*_{}\[\]()#+\-.!|>]")


class Inert(str):
    """A string from outside; `__html__` is what Jinja's autoescape writes for it."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(escape(_MARKDOWN.sub(r"\\\g<0>", BIDI_CONTROLS.sub("", self))))

    def markdown(self) -> str:
        """Markdown that reads as these characters (`<` is kept: the text part restores raw
        HTML as typed)."""
        return _TEXT.sub(r"\\\g<0>", BIDI_CONTROLS.sub("", self))

    # what a template does to it (a slice, `+`, `.upper()`, …) is outside text too (outside.py)
    def __add__(self, other: str) -> Inert:
        return Inert(str.__add__(self, other))

    def __radd__(self, other: str) -> Inert:
        return Inert(str.__add__(other, self))

    def __mul__(self, count: SupportsIndex) -> Inert:
        return Inert(str.__mul__(self, count))

    def __mod__(self, args: Any) -> Inert:
        return Inert(str.__mod__(self, args))

    def __rmod__(self, template: str) -> Inert:
        return Inert(str.__mod__(template, self))

    def __getitem__(self, index: SupportsIndex | slice) -> Inert:
        return Inert(str.__getitem__(self, index))

    def split(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return [Inert(s) for s in str.split(self, sep, maxsplit)]

    def rsplit(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return [Inert(s) for s in str.rsplit(self, sep, maxsplit)]

    def splitlines(self, keepends: bool = False) -> list[str]:
        return [Inert(s) for s in str.splitlines(self, keepends)]

    def partition(self, sep: str) -> tuple[str, str, str]:
        a, b, c = str.partition(self, sep)
        return Inert(a), Inert(b), Inert(c)

    def rpartition(self, sep: str) -> tuple[str, str, str]:
        a, b, c = str.rpartition(self, sep)
        return Inert(a), Inert(b), Inert(c)


def _keeps(name: str) -> Any:
    method = getattr(str, name)

    def kept(self: Inert, *args: Any, **kwargs: Any) -> Inert:
        return Inert(method(self, *args, **kwargs))

    kept.__name__ = name
    return kept


for _name in (
    "capitalize", "casefold", "center", "expandtabs", "format", "format_map", "ljust",
    "lower", "lstrip", "removeprefix", "removesuffix", "replace", "rjust", "rstrip",
    "strip", "swapcase", "title", "translate", "upper", "zfill",
):  # fmt: skip
    setattr(Inert, _name, _keeps(_name))


def inert(value: Any) -> Any:
    """`value` with every string in it (through dicts, lists and tuples) made Inert."""
    if isinstance(value, str):
        return value if isinstance(value, Inert) else Inert(value)
    if isinstance(value, Mapping):
        return {key: inert(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert(item) for item in value]
    return value
