"""Where compiled templates are kept between runs: a factory the command line registers, so the
mail layer does no I/O of its own (runtime/templatecache.py is the one the command line uses).
Nothing registered: every process compiles its templates (tests, embedding)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_FACTORY: list[Callable[[str], Any] | None] = [None]


def register(factory: Callable[[str], Any] | None) -> None:
    """`factory(kind)` gives the bytecode cache for "text" or "html" templates, or None."""
    _FACTORY[0] = factory


def cache_for(kind: str) -> Any:
    factory = _FACTORY[0]
    return factory(kind) if factory is not None else None
