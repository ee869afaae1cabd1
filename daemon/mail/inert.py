"""Text from outside — what participants wrote, command arguments, names and fields from the
roster, a mail server's diagnostic — shown exactly as written, never as markup.

Templates are Markdown, rendered to HTML and to plain text: a name like
`[Log in](https://evil.example)` or `![](https://tracker.example/p.gif)` would become a link or
an image in mail that looks like the program's own. Such values are wrapped in `Inert`: every
character Markdown would act on is escaped with a backslash (`markdown()`, for the text part)
and, in the HTML part (autoescaped), HTML's too, so both come out as the same characters.
Text the organizers wrote in the schedule and the config stays Markdown: that is how they
format their mail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import escape

# what Python-Markdown reads as syntax (Markdown.ESCAPED_CHARS, with the tables extension's |),
# each written with a backslash, which Markdown reads as "this character"; < > & are written
# as HTML entities instead, which Markdown leaves alone (no tag, autolink or blockquote)
_MARKDOWN = re.compile(r"[\\`*_{}\[\]()#+\-.!|]")
_TEXT = re.compile(r"[\\`*_{}\[\]()#+\-.!|>]")


class Inert(str):
    """A string from outside; `__html__` is what Jinja's autoescape writes for it."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(escape(_MARKDOWN.sub(r"\\\g<0>", str(self))))

    def markdown(self) -> str:
        """Markdown that reads as these characters (`<` is kept: the text part restores raw
        HTML as typed)."""
        return _TEXT.sub(r"\\\g<0>", str(self))


def inert(value: Any) -> Any:
    """`value` with every string in it (through dicts, lists and tuples) made Inert."""
    if isinstance(value, str):
        return value if isinstance(value, Inert) else Inert(value)
    if isinstance(value, Mapping):
        return {key: inert(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert(item) for item in value]
    return value
