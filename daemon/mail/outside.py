"""Text from outside stays inert through what a template does with it (pure).

`Inert` marks a string from outside, and both parts escape it when it is written out. But a
template may do more than write a value: organizers edit templates, and `{{ person.name |
upper }}`, `{{ "Dear " ~ person.name }}` or `{{ names | join(", ") }}` each made a new, plain
string, which the next step read as the template's own Markdown: a roster name became a link
and an image. So what is computed from outside text is outside text too:

- a filter given an Inert value (or argument) that returns a plain string returns it Inert;
  `urlize` leaves outside text as it is (it would make its addresses links);
- the text part's `join` escapes each Inert item, as the HTML part's does for HTML;
- the text part's `~` of anything Inert is Inert (the HTML part's escapes already);
- str's own methods and operators keep it Inert (inert.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.nodes import Concat, EvalContext
from markupsafe import Markup

from daemon.mail.inert import Inert

CODE_VERSION = 1  # of the code the text environment compiles (a bytecode cache keeps it)
_ESCAPING = frozenset({"escape", "e", "forceescape", "join", "safe"})  # through __html__
_AS_WRITTEN = frozenset({"urlize"})


def _from_outside(args: Iterable[Any]) -> Inert | None:
    return next((a for a in args if isinstance(a, Inert)), None)


def _kept(name: str, function: Callable[..., Any], html: bool) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context/pass_eval_context mark
    def kept(*args: Any, **kwargs: Any) -> Any:
        found = _from_outside((*args, *kwargs.values()))
        if found is not None and name in _AS_WRITTEN:
            return found
        result = function(*args, **kwargs)
        if found is None or not isinstance(result, str) or isinstance(result, Inert):
            return result
        if isinstance(result, Markup) and (not html or name in _ESCAPING):
            return result  # escaped already, each Inert value through its __html__
        return Inert(result)

    return kept


@pass_eval_context
def text_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    """`join` for the text part: each Inert item Markdown-escaped, as the HTML part's
    `join` escapes each for HTML; the separator is the template's."""
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    items = (v.markdown() if isinstance(v, Inert) else str(v) for v in value)
    return (d.markdown() if isinstance(d, Inert) else str(d)).join(items)


def filters(found: Mapping[str, Callable[..., Any]], *, html: bool) -> dict[str, Any]:
    """An environment's filters, each keeping outside text inert."""
    kept = {name: _kept(name, f, html) for name, f in found.items()}
    if not html:
        kept["join"] = text_join
    return kept


def inert_concat(values: Iterable[Any]) -> str:
    """`a ~ b` in the text part: Inert when any of them is."""
    parts = list(values)
    joined = "".join(map(str, parts))
    return Inert(joined) if _from_outside(parts) is not None else joined


class TextCodeGenerator(CodeGenerator):
    """The text environment's compiler: `~` calls `inert_concat` (the HTML environment's
    `markup_join` escapes Inert values already)."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.autoescape or frame.eval_ctx.volatile:
            super().visit_Concat(node, frame)
            return
        self.write("environment.inert_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")
