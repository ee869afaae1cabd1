"""What a template's undefined name was probably meant to be: Jinja says "'dict object' has no
attribute 'firstname'", and the name closest to it among the context's own keys ("first_name")
turns that into a fix. Pure: the context is the one the template was rendered with."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

CUTOFF = 0.75  # difflib's similarity: "firstname" and "first_name" 0.95
# a mapping's missing key, or a missing name (a str's or a date's attribute is not guessed at)
_NAMED = re.compile(r"^'dict object' has no attribute '([^']+)'|^'([^']+)' is undefined")
DEPTH = 4  # how deep into the context its keys are looked for


def meant(message: str, context: Mapping[str, Any]) -> str:
    """The context's key closest to the name Jinja's `message` says is undefined, or ""."""
    found = _NAMED.search(message)
    if not found:
        return ""
    name = found[1] or found[2]
    keys = sorted(set(_keys(context, DEPTH)) - {name})
    close = difflib.get_close_matches(name, keys, n=1, cutoff=CUTOFF)
    return close[0] if close else ""


def _keys(value: Any, depth: int) -> Iterator[str]:
    """Every string key of the mappings in `value`, down `depth` levels (a list's first item
    stands for the rest)."""
    if depth <= 0:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _keys(item, depth - 1)
    elif isinstance(value, list | tuple) and value:
        yield from _keys(value[0], depth - 1)
