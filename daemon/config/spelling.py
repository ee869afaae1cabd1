"""What an unknown key was probably meant to be: the documented key of that table closest to
it ("timezon": did you mean timezone?), found in the model the table is read into."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

CUTOFF = 0.75  # difflib's similarity: "timezon" and "timezone" 0.93, "colour" and "color" 0.91


def keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys a table at `loc` inside `model` may have (its fields' names and aliases), or
    none where `loc` leads to no table of a model (a free-form table, a wrong path)."""
    annotation: Any = model
    for step in loc:
        annotation = _inside(annotation, step)
        if annotation is None:
            return []
    found = _models(annotation)
    return sorted({key for cls in found for key in _keys(cls)})


def close_key(key: str, known: Sequence[str]) -> str:
    """The known key `key` is most likely a misspelling of, or ""."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=CUTOFF)
    return close[0] if close and close[0] != key else ""


def _inside(annotation: Any, step: str | int) -> Any:
    """The type of what `step` leads to inside a value of `annotation`, or None."""
    for option in _options(annotation):
        origin, args = typing.get_origin(option), typing.get_args(option)
        if isinstance(step, int) and origin in (list, tuple, set, frozenset) and args:
            return args[0]
        if isinstance(step, str) and origin is dict and len(args) == 2:
            return args[1]
        if isinstance(step, str) and isinstance(option, type) and issubclass(option, BaseModel):
            for name, info in option.model_fields.items():
                if step in (name, info.alias, info.validation_alias):
                    return info.annotation
    return None


def _options(annotation: Any) -> list[Any]:
    """`annotation` without Annotated, a union as its members."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [o for a in typing.get_args(annotation) for o in _options(a)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [o for o in _options(annotation) if isinstance(o, type) and issubclass(o, BaseModel)]


def _keys(model: type[BaseModel]) -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        keys.append(name)
        if isinstance(info.alias, str):
            keys.append(info.alias)
    return keys
