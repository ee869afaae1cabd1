"""Validate a model and keep going: report every error, drop what is broken, validate again.

Pydantic reports all field errors of one pass, but a broken config must not hide the problems
further down (the roster, the templates). So each failing key (or the list element holding it)
is removed and validation repeats; the result is a usable model plus every problem, or None
when something required is broken. Problems always carry the key path of the original file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from daemon.config.hints import hint_for, message_for
from daemon.config.spelling import keys_at
from daemon.config.tomlfile import Loc
from daemon.errors import Problem

T = TypeVar("T")
ProblemFor = Callable[[Loc, str, str, str], Problem]
MAX_ROUNDS = 10
UNKNOWN = "extra_forbidden"  # pydantic's kind of error for a key the model does not have
_GONE = object()


class _Tracked:
    """The data being repaired, with the original index of every surviving list element."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = copy.deepcopy(data)
        self.origin: dict[int, list[int]] = {}
        self._index(self.data)
        self.removed: set[Loc] = set()

    def _index(self, node: Any) -> None:
        if isinstance(node, list):
            self.origin[id(node)] = list(range(len(node)))
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            self._index(child)

    def walk(self, loc: Loc) -> tuple[list[tuple[Any, str | int]], Loc]:
        """The existing (container, key) steps along `loc`, and `loc` in original indices."""
        steps: list[tuple[Any, str | int]] = []
        original: list[str | int] = []
        node: Any = self.data
        for part in loc:
            if isinstance(node, dict) and part in node:
                steps.append((node, part))
                original.append(part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                steps.append((node, part))
                original.append(self.origin[id(node)][part])
                node = node[part]
            else:
                original.extend(loc[len(original) :])
                break
        return steps, tuple(original)

    def mark(self, steps: list[tuple[Any, str | int]], *, missing: bool) -> bool:
        """Remove the deepest existing step (for a missing key: the list element holding it)."""
        if missing:
            while steps and not isinstance(steps[-1][1], int):
                steps = steps[:-1]
        if not steps:
            return False
        container, key = steps[-1]
        container[key] = _GONE
        return True

    def knock_on(self, loc: Loc, kind: str) -> bool:
        """Whether an error only follows from an earlier removal: a key missing inside a part
        removed, or a list too short because its broken elements were removed (the only
        organizer, dropped for its bad zone, is not also "no organizers")."""
        if kind == "missing":
            return any(loc[: len(r)] == r for r in self.removed)
        if kind == "too_short":
            return any(len(r) > len(loc) and r[: len(loc)] == loc for r in self.removed)
        return False

    def put(self, loc: Loc, value: Any) -> bool:
        """Set a stand-in value at a key path of tables (not inside lists). The value is a
        copy (a stand-in is shared by every load in the process: a reload must find it
        intact) and its lists are indexed like the rest."""
        node: Any = self.data
        for part in loc[:-1]:
            if not isinstance(node, dict) or not isinstance(node.get(part, {}), dict):
                return False
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return False
        node[loc[-1]] = copy.deepcopy(value)
        self._index(node[loc[-1]])
        return True

    def sweep(self, node: Any = None) -> None:
        node = self.data if node is None else node
        if isinstance(node, dict):
            for key in [k for k, v in node.items() if v is _GONE]:
                del node[key]
            for child in node.values():
                self.sweep(child)
        elif isinstance(node, list):
            keep = [i for i, v in enumerate(node) if v is not _GONE]
            self.origin[id(node)] = [self.origin[id(node)][i] for i in keep]
            node[:] = [node[i] for i in keep]
            for child in node:
                self.sweep(child)


def validate_repairing(
    build: Callable[[dict[str, Any]], T],
    data: dict[str, Any],
    problem_for: ProblemFor,
    fallbacks: dict[Loc, Any] | None = None,
    model: type[BaseModel] | None = None,
) -> tuple[T | None, list[Problem]]:
    """`build(data)`, removing failing parts until it succeeds; every error becomes a Problem.

    A broken required key with an entry in `fallbacks` takes that stand-in value instead, so
    the checks that depend on the rest can still run (the problem is reported all the same).
    `model`, the model `build` makes: an unknown key's hint names the key it may be meant as.
    """
    tracked = _Tracked(data)
    fallbacks = fallbacks or {}
    problems: list[Problem] = []
    for _ in range(MAX_ROUNDS):
        try:
            return build(tracked.data), problems
        except ValidationError as exc:
            errors = exc.errors()
        repaired = False
        for err in errors:
            steps, original = tracked.walk(tuple(err["loc"]))
            kind = err["type"]
            missing = kind == "missing"
            if not tracked.knock_on(original, kind):
                key = next((str(p) for p in reversed(original) if isinstance(p, str)), "")
                message = message_for(kind, err["msg"])
                known = keys_at(model, original[:-1]) if model and kind == UNKNOWN else []
                hint = hint_for(key, kind, err.get("input"), known)
                problems.append(problem_for(original, kind, message, hint))
            if original in fallbacks and tracked.put(original, fallbacks.pop(original)):
                repaired = True
            elif tracked.mark(steps, missing=missing):
                tracked.removed.add(original[: len(steps)])
                repaired = True
        tracked.sweep()
        if not repaired:
            return None, problems
    return None, problems
