"""Keys of template contexts for `validate` (shape.py says what a template does with its
context): two contexts with the same key render alike, so one render checks both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from typing import Any

from daemon.mail.shape import ITEM, Uses

_MARK = "·"  # what stands for a value only printed, or not used at all
_MISSING = "∅"  # a key a template looks for that a mapping does not have


class _Node:
    __slots__ = ("children", "deep", "exact", "looked", "printed", "tested")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.exact = self.tested = self.looked = False
        self.printed: tuple[str, ...] = ()  # keys only printed (the mapping's, not the loop's)
        self.deep: tuple[tuple[str, _Node], ...] = ()  # keys whose value counts

    def settle(self) -> None:
        """Sort the children into those only printed and the rest (once the tree is built)."""
        keys = [(k, c) for k, c in self.children.items() if k != ITEM]
        self.printed = tuple(k for k, c in keys if not (c.exact or c.looked or c.tested))
        self.deep = tuple((k, c) for k, c in keys if c.exact or c.looked or c.tested)
        for child in self.children.values():
            child.settle()


_LEAF = _Node()


class Canonical:
    """Keys of contexts: equal for two contexts that render alike under `uses` (shape.py's
    text says why). Keys from one Canonical compare; those from two do not: a mapping or list
    used whole stands in a key as a number, given by the Canonical that met it first. Each
    mapping or list is worked out once (contexts share them: the program, a person, a form),
    and kept alive while the Canonical lives, so that its id stays its own."""

    def __init__(self) -> None:
        self.kept: dict[int, tuple[Any, int]] = {}  # by id: the value (kept alive), its number
        self.numbers: dict[Hashable, int] = {}
        self.walked: dict[tuple[int, int], tuple[Any, _Node, Hashable]] = {}  # looked into
        self.trees: dict[Uses, _Node] = {}
        self.objects: dict[int, Any] = {}  # by id: what stands for itself in a key (kept alive)

    def __call__(self, context: Mapping[str, Any], uses: Uses) -> Hashable:
        """The key of `context` for a template that does `uses` with it."""
        if uses not in self.trees:  # kept: a node's id stays its own while its keys are kept
            self.trees[uses] = _tree(uses)
        return self.of(context, self.trees[uses])

    def of(self, value: Any, node: _Node) -> Hashable:
        if node.exact:
            return self._exact(value)
        if not isinstance(value, dict | list | tuple):
            shape: Hashable = self._freeze(value) if node.looked else _MARK
            return (bool(value), shape) if node.tested else shape
        if not node.looked:
            return (bool(value), _MARK) if node.tested else _MARK  # only printed, or unused
        known = self.walked.get((id(value), id(node)))
        if known is not None and known[0] is value and known[1] is node:  # shared: walked once
            return known[2]
        if _method_used(value, node):
            shape = ("=", self._exact(value))
        elif isinstance(value, dict):
            keys = tuple(map(self._freeze, value)) if ITEM in node.children else ()  # iterated
            shape = (
                "d",
                keys,
                tuple(k in value for k in node.printed),  # only printed: there or not
                *(self.of(value[k], child) if k in value else _MISSING for k, child in node.deep),
            )
        else:
            item = node.children.get(ITEM, _LEAF)
            shape = ("l", *(self.of(v, item) for v in value))
        found = (bool(value), shape) if node.tested else shape
        self.walked[id(value), id(node)] = (value, node, found)  # both kept: ids their own
        return found

    def _exact(self, value: Any) -> Hashable:
        """The whole value; a mapping or list as a number standing for its value, worked out
        once for each (contexts share them: a form, a phase's sections)."""
        if not isinstance(value, dict | list | tuple):
            return self._freeze(value)
        known = self.kept.get(id(value))
        if known is not None and known[0] is value:  # kept alive here: its id is its own
            return known[1]
        number = self.numbers.setdefault(self._freeze(value), len(self.numbers))
        self.kept[id(value)] = (value, number)
        return number

    def _freeze(self, value: Any) -> Hashable:
        """The value as a key: equal only for values that behave alike (not a str and an Inert,
        1 and True, a list and a tuple, one instant in two zones, 0.0 and -0.0)."""
        if isinstance(value, dict):
            return ("d", *((self._freeze(k), self._freeze(v)) for k, v in value.items()))
        if isinstance(value, list | tuple):
            return (type(value), *(self._freeze(v) for v in value))
        if isinstance(value, str | int | None) or type(value) is dt.date:
            return (type(value), value)
        self.objects[id(value)] = value  # anything else (a model, a datetime) is itself
        return (type(value), id(value))


def _method_used(value: Any, node: _Node) -> bool:
    """Whether more than printing is done with a method of `value` (`d.values` where d has no
    such key, `xs.copy`): what a method gives depends on all of the value."""
    return any(
        hasattr(value, k) and not (isinstance(value, dict) and k in value) for k, _ in node.deep
    )


def _tree(uses: Uses) -> _Node:
    """The paths as a tree, for Canonical to walk only what is used."""
    root = _Node()
    for path in uses.referenced:
        node = root
        for step in path:
            node.looked = True
            node = node.children.setdefault(step, _Node())
        node.exact |= path in uses.exact
        node.tested |= path in uses.tested
    root.settle()
    return root
