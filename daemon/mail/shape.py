"""Which parts of a template's context can change whether it renders, so `validate` renders
each template once per *kind* of context instead of once per recipient and occurrence.

A template fails (an undefined variable, a filter that cannot take a value) only through
what it does with the values it is given. Printing a value as it is (`{{ obligation.due }}`)
cannot fail, whatever the text; anything else (an `if`, a comparison, a filter, a call, a
loop, an index) may depend on the exact value. `analyze` reads a template's syntax tree and
says which context paths are used exactly and which are only printed or looked into;
`kinds.Canonical` turns a context into a key that keeps every exact value, the structure of what is
looked into (keys, list lengths, None against a mapping), and nothing of what is only
printed. Two contexts with the same key fail or render alike, so one render checks both.

Conservative by construction: a construct it does not model (macros, blocks, call/filter
blocks, imports, a dynamic include) gives no analysis, and such a template is rendered for
every context as before. Names assigned in a branch or a loop keep everything they may
denote; a path reached through a loop's `loop` variable keeps its list exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jinja2 import nodes

VERSION = 5  # of what analyze writes: an analysis of another version is not used
ITEM = "[]"  # the path step of a list's (or a loop's) element

Path = tuple[str, ...]
OPAQUE: Path = ()  # a name bound to something not from the context (a computed value)
Bindings = tuple[tuple[str, tuple[Path, ...]], ...]  # what names denote at an include
# what `analyze` gives: exact, referenced and tested paths, and the includes (name, bindings)
Own = tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...], tuple[tuple[str, Bindings], ...]]

_SIMPLE = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.Include)


class Unmodelled(Exception):
    """A construct the analysis does not follow: the template gets no analysis."""


@dataclass(frozen=True)
class Uses:
    """What a template (with what it includes) does with its context."""

    exact: frozenset[Path]  # used in a way its value may change (a filter, a call, `==`)
    referenced: frozenset[Path]  # every path used in any way (printed included)
    tested: frozenset[Path]  # used as a condition (`{% if partner %}`): its truth counts
    roots: frozenset[str]  # the context's top-level names it reads

    @classmethod
    def of(cls, exact: Iterable[Path], referenced: Iterable[Path], tested: Iterable[Path]) -> Uses:
        exact = frozenset(p for p in exact if p)
        tested = frozenset(p for p in tested if p)
        used = exact | tested | {p for p in referenced if p}
        return cls(exact, used, tested, frozenset(p[0] for p in used))

    def __add__(self, other: Uses) -> Uses:
        return Uses.of(
            self.exact | other.exact,
            self.referenced | other.referenced,
            self.tested | other.tested,
        )


def analyze(template: nodes.Template) -> Own | None:
    """The template's own use of its context (includes are named, not followed), or None
    when it uses something this analysis does not model."""
    walk = _Walk()
    try:
        walk.statements(template.body, {}, maybe=False)
    except Unmodelled:
        return None
    return (
        tuple(sorted(walk.exact)),
        tuple(sorted(walk.referenced)),
        tuple(sorted(walk.tested)),
        tuple(walk.includes),
    )


def combine(own: Own, included: Mapping[str, Uses | None]) -> Uses | None:
    """A template's uses with those of the templates it includes (`included`, by name),
    each read in the scope of its include: a name bound there stands for what it was bound to."""
    exact, referenced, tested = set(own[0]), set(own[1]), set(own[2])
    for name, bindings in own[3]:
        sub = included.get(name)
        if sub is None:
            return None
        scope = dict(bindings)
        exact |= _rebase(sub.exact, scope)
        referenced |= _rebase(sub.referenced, scope)
        tested |= _rebase(sub.tested, scope)
    return Uses.of(exact, referenced, tested)


def _rebase(paths: Iterable[Path], scope: Mapping[str, tuple[Path, ...]]) -> set[Path]:
    found: set[Path] = set()
    for path in paths:
        if path[0] not in scope:
            found.add(path)
            continue
        found |= {bound + path[1:] for bound in scope[path[0]] if bound != OPAQUE}
    return found


Scope = dict[str, frozenset[Path]]


class _Walk:
    def __init__(self) -> None:
        self.exact: set[Path] = set()
        self.referenced: set[Path] = set()
        self.tested: set[Path] = set()
        self.includes: list[tuple[str, Bindings]] = []

    # --- statements ----------------------------------------------------------------------------

    def statements(self, body: list[nodes.Node], scope: Scope, *, maybe: bool) -> None:
        for node in body:
            if not isinstance(node, _SIMPLE):
                raise Unmodelled(type(node).__name__)
            if isinstance(node, nodes.Output):
                self.output(node, scope)
            elif isinstance(node, nodes.If):
                self.branch(node, scope)
            elif isinstance(node, nodes.For):
                self.loop(node, scope)
            elif isinstance(node, nodes.Assign):
                self.assign(node, scope, maybe=maybe)
            else:
                assert isinstance(node, nodes.Include)
                self.include(node, scope)

    def output(self, node: nodes.Output, scope: Scope) -> None:
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                continue
            printed = self.chain(part, scope)
            if printed is None:
                printed = self.joined(part, scope)
            if printed is None:
                self.expression(part, scope)
            else:
                self.referenced |= printed

    def branch(self, node: nodes.If, scope: Scope) -> None:
        self.test(node.test, scope)
        self.statements(node.body, scope, maybe=True)
        for elif_ in node.elif_:
            self.test(elif_.test, scope)
            self.statements(elif_.body, scope, maybe=True)
        self.statements(node.else_, scope, maybe=True)

    def loop(self, node: nodes.For, scope: Scope) -> None:
        if node.recursive:
            raise Unmodelled("recursive loop")
        items = self.chain(node.iter, scope)
        if items is None:
            self.expression(node.iter, scope)
            items = frozenset()
        elif _mentions_loop(node):  # loop.previtem / nextitem reach the elements
            self.exact |= items
        else:
            self.referenced |= {(*p, ITEM) for p in items}
        inner = dict(scope)
        element = frozenset((*p, ITEM) for p in items) or frozenset({OPAQUE})
        if isinstance(node.target, nodes.Name):
            targets = {node.target.name: element}
        else:  # unpacked: the elements are used whole
            self.exact |= items
            targets = {n.name: frozenset({OPAQUE}) for n in node.target.find_all(nodes.Name)}
        targets["loop"] = frozenset({OPAQUE})
        for _ in range(4):  # what one pass assigns is seen by the next: to a fixed point
            before = dict(inner)
            inner.update(targets)
            if node.test is not None:
                self.test(node.test, inner)
            self.statements(node.body, inner, maybe=True)
            if inner == before:
                break
        else:
            raise Unmodelled("assignments in a loop that do not settle")
        self.statements(node.else_, scope, maybe=True)
        for name, bound in inner.items():  # what the loop may have assigned, kept as "may"
            if name not in targets:
                scope[name] = scope.get(name, frozenset({(name,)})) | bound

    def assign(self, node: nodes.Assign, scope: Scope, *, maybe: bool) -> None:
        value = self.chain(node.node, scope)
        if value is None:
            self.expression(node.node, scope)
            value = frozenset({OPAQUE})
        self.referenced |= value  # looked up when assigned: `a.y` fails where a is undefined
        if isinstance(node.target, nodes.Name):
            targets = [node.target.name]
        elif isinstance(node.target, nodes.Tuple):
            self.exact |= value - {OPAQUE}
            value = frozenset({OPAQUE})
            targets = [n.name for n in node.target.find_all(nodes.Name)]
        else:  # ns.attr = ...: what is stored counts, and so does the name (a namespace?)
            assert isinstance(node.target, nodes.NSRef)
            name = node.target.name
            self.exact |= (value | scope.get(name, frozenset({(name,)}))) - {OPAQUE}
            return
        for name in targets:
            before = scope.get(name, frozenset({(name,)})) if maybe else frozenset()
            scope[name] = before | value

    def include(self, node: nodes.Include, scope: Scope) -> None:
        if not isinstance(node.template, nodes.Const) or not isinstance(node.template.value, str):
            raise Unmodelled("an include of a computed name")
        bindings = tuple(sorted((name, tuple(sorted(paths))) for name, paths in scope.items()))
        self.includes.append((node.template.value, bindings))

    # --- expressions ---------------------------------------------------------------------------

    def chain(self, node: nodes.Node, scope: Scope) -> frozenset[Path] | None:
        """The context paths a `name.attr.attr` expression denotes, or None for any other."""
        if isinstance(node, nodes.Name):
            return frozenset(p for p in scope.get(node.name, {(node.name,)}) if p != OPAQUE)
        if isinstance(node, nodes.Getattr):
            base = self.chain(node.node, scope)
            return None if base is None else frozenset((*p, node.attr) for p in base)
        return None

    def joined(self, node: nodes.Node, scope: Scope) -> frozenset[Path] | None:
        """What `{{ x | join(", ") }}` or `{{ x | map(attribute="name") | join }}` prints:
        each element of x (or its `name`), as printing it would; None for any other."""
        join = _plain_filter(node, "join")
        if join is None or len(join.args) > 1 or join.kwargs or join.node is None:
            return None
        paths = self.chain(join.node, scope)
        if paths is not None:
            return frozenset((*p, ITEM) for p in paths)
        inner = _plain_filter(join.node, "map")
        if inner is None or inner.args or len(inner.kwargs) != 1 or inner.node is None:
            return None
        keyword = inner.kwargs[0]
        attribute = keyword.value.value if isinstance(keyword.value, nodes.Const) else None
        if keyword.key != "attribute" or not isinstance(attribute, str):
            return None
        steps = attribute.split(".")
        base = self.chain(inner.node, scope)
        if base is None or any(step.isdigit() for step in steps):
            return None  # a number is an index: not followed
        return frozenset((*p, ITEM, *steps) for p in base)

    def test(self, node: nodes.Node, scope: Scope) -> None:
        """A condition: a bare `name.attr` counts only by its truth."""
        paths = self.chain(node, scope)
        if paths is not None:
            self.tested |= paths
        elif isinstance(node, nodes.Not):
            self.test(node.node, scope)
        elif isinstance(node, nodes.And | nodes.Or):
            self.test(node.left, scope)
            self.test(node.right, scope)
        else:
            self.expression(node, scope)

    def expression(self, node: nodes.Node | None, scope: Scope) -> None:
        """Everything `node` reads counts exactly (a test, a filter, a call, an operator)."""
        if node is None:
            return
        paths = self.chain(node, scope)
        if paths is not None:
            self.exact |= paths
            return
        if isinstance(node, nodes.CondExpr):  # `a if b else c`: b is a condition
            self.test(node.test, scope)
            self.expression(node.expr1, scope)
            self.expression(node.expr2, scope)
            return
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            owner = self.chain(node.node.node, scope)  # a method of a value reads all of it
            self.exact |= owner or frozenset()
        for child in node.iter_child_nodes():
            self.expression(child, scope)


def _plain_filter(node: nodes.Node, name: str) -> nodes.Filter | None:
    """`node` if it is filter `name` applied to a value, with constant arguments only."""
    if not isinstance(node, nodes.Filter) or node.name != name or node.node is None:
        return None
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    constant = all(isinstance(a, nodes.Const) for a in node.args) and all(
        isinstance(k.value, nodes.Const) for k in node.kwargs
    )
    return node if constant else None


def _mentions_loop(node: nodes.For) -> bool:
    inside = [*node.body, *([node.test] if node.test else [])]
    return any(
        isinstance(n, nodes.Include) or (isinstance(n, nodes.Name) and n.name == "loop")
        for part in inside
        for n in (part, *part.find_all((nodes.Name, nodes.Include)))
    )
