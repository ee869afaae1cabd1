"""Render a template into a subject, a plain-text part and an HTML part.

One Markdown template per message (`NAME.md.j2`): the text part is the rendered Markdown
written out as plain text (plaintext.py: no `##` or `**` in anyone's inbox); the HTML part is
the same template rendered with HTML autoescaping, converted by Python-Markdown and wrapped in
`layout.html.j2`. Text from outside (`Inert`) is escaped for each, so it reads as written.
Both environments are sandboxed (organizers edit templates) and use StrictUndefined, so a
misspelt variable fails at validate time, not in a participant's inbox. Templates come
already read (`Program.templates`): nothing here touches a file; each is compiled once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from daemon.errors import TemplateProblem
from daemon.mail import outside, shape
from daemon.mail.bytecode import cache_for
from daemon.mail.inert import Inert
from daemon.mail.meant import meant
from daemon.mail.plaintext import converter, to_html_and_text, to_text
from daemon.mail.subject import shorten
from daemon.program.calendar_text import BIDI_CONTROLS
from daemon.program.instance import TemplateFile

_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
_BLOCKS = re.compile(r"\n[ \t]*\n")
_SHARED: list[tuple[Mapping[str, TemplateFile], Renderer]] = []  # the last few, by identity
_USES = "mentormail_uses"  # the name a compiled template keeps its analysis (shape.py) under


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    long_subject: str = ""  # the subject as rendered, when it was too long and was shortened


class _Environment(ImmutableSandboxedEnvironment):
    """Sandboxed (a template cannot change the lists and mappings it is given: contexts share
    parts), and `x.name` on a dict means its key first: `invite.update` or `section.items`
    must not find the dict method of that name (a bug we had). Each compiled template keeps
    what it does with its context (shape.py), so the bytecode cache keeps that too."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        code = super()._generate(source, name, filename, defer_init)
        return f"{code}\n{_USES} = {(shape.VERSION, shape.analyze(source))!r}\n"


class _TextEnvironment(_Environment):
    """The text part's: its `~` keeps outside text inert (outside.py)."""

    code_generator_class = outside.TextCodeGenerator
    inert_concat = staticmethod(outside.inert_concat)


def _own_uses(template: jinja2.Template) -> shape.Own | None:
    """The analysis a template was compiled with, if it was compiled by this version."""
    kept = template.root_render_func.__globals__.get(_USES)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == shape.VERSION:
        own: shape.Own | None = kept[1]
        return own
    return None


def _template_frame(exc: BaseException, fallback: str) -> tuple[str, int]:
    """The innermost template file and line in a Jinja traceback (Jinja maps them back)."""
    where, line = fallback, 0
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2") or name == "<template>":
            where = fallback if name == "<template>" else name
            line = tb.tb_lineno
        tb = tb.tb_next
    return where, line


def _markdown_of(value: Any) -> Any:
    """What the text environment writes for a value: text from outside, Markdown-escaped."""
    return value.markdown() if isinstance(value, Inert) else value


def header_safe(value: str) -> str:
    """Collapse CR, LF and other controls, so a value cannot inject a header; drop bidi
    controls (inert.py), so a subject quoted from outside cannot turn the rest around."""
    return " ".join(_HEADER_UNSAFE.sub(" ", BIDI_CONTROLS.sub("", value)).split())


class _Loader(jinja2.BaseLoader):
    """Templates from memory, named by the file they were read from (so Jinja's errors and
    tracebacks point at that file and line)."""

    def __init__(self, templates: Mapping[str, TemplateFile]) -> None:
        self.templates = templates

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        found = self.templates.get(template)
        if found is None:
            raise jinja2.TemplateNotFound(template)
        return found.text, found.path, lambda: True


class Renderer:
    """Renders the program's templates (`Program.templates`, by file name)."""

    @classmethod
    def of(cls, templates: Mapping[str, TemplateFile]) -> Renderer:
        """The renderer of `templates` shared by every composer of them in this process, so
        the service compiles each template once, not once a pass (a reload reads new
        templates: a new mapping, a new renderer)."""
        for known, renderer in _SHARED:
            if known is templates:
                return renderer
        made = cls(templates)
        _SHARED[:] = [(templates, made), *_SHARED[:3]]
        return made

    def __init__(self, templates: Mapping[str, TemplateFile]) -> None:
        common: dict[str, Any] = {
            "loader": _Loader(templates),
            "auto_reload": False,
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self.text_env = _TextEnvironment(
            autoescape=False, finalize=_markdown_of, bytecode_cache=cache_for("text"), **common
        )
        self.html_env = _Environment(autoescape=True, bytecode_cache=cache_for("html"), **common)
        # what a template computes from outside text stays outside text (outside.py)
        self.text_env.filters = outside.filters(self.text_env.filters, html=False)
        self.html_env.filters = outside.filters(self.html_env.filters, html=True)
        self._subjects = lru_cache(maxsize=512)(
            _Environment(autoescape=False, **common).from_string
        )
        self._markdown = converter()  # each use resets it: one serves both parts
        self._both = lru_cache(maxsize=16384)(self._html_and_text)
        self._uses: dict[str, shape.Uses | None] = {}
        self._with_subject: dict[tuple[str, shape.Uses], shape.Uses] = {}
        self._subject_uses: dict[str, shape.Uses | None] = {}

    def _convert(self, text: str) -> str:
        return str(self._markdown.reset().convert(text))

    def _plain(self, text: str) -> str:
        return to_text(self._markdown, text)

    def _html_and_text(self, block: str) -> tuple[str, str]:
        """A block as HTML and as text, parsed once: most blocks read the same in the text
        and the HTML source (a value's escaping differs only where it has special characters),
        so the part that comes second finds its block done."""
        return to_html_and_text(self._markdown, block)

    def _to_text(self, body: str) -> str:
        """Markdown to plain text, one block at a time, each cached (as `_to_html`)."""
        if "```" in body or "~~~" in body:
            return self._plain(body)
        return "\n\n".join(t for b in _BLOCKS.split(body) if b.strip() and (t := self._both(b)[1]))

    def _to_html(self, body: str) -> str:
        """Markdown to HTML, one block (text between blank lines) at a time, each cached: most
        of a message is the same for every recipient, and converting it is the costliest step
        of building a message. Fenced code, whose blocks span blank lines, goes whole."""
        if "```" in body or "~~~" in body:
            return self._convert(body)
        return "\n".join(self._both(b)[0] for b in _BLOCKS.split(body) if b.strip())

    def exists(self, name: str) -> bool:
        try:
            self.text_env.get_template(f"{name}.md.j2")
        except jinja2.TemplateNotFound:
            return False
        except jinja2.TemplateSyntaxError:
            return True
        return True

    def render(self, name: str, subject: str, context: Mapping[str, Any]) -> Rendered:
        filename = f"{name}.md.j2"
        with _problems(filename, context, in_subject=True):
            full_subject = header_safe(self._subjects(subject).render(context))
        subject_text = shorten(full_subject)
        with _problems(filename, context):
            text = self.text_env.get_template(filename).render(context)
            body = self.html_env.get_template(filename).render(context)
            html = self.html_env.get_template("layout.html.j2").render(
                context,
                content=self._to_html(body),
                subject=subject_text,
            )
        long_subject = full_subject if subject_text != full_subject else ""
        return Rendered(subject_text, self._to_text(text).strip() + "\n", html, long_subject)

    def check(self, name: str, subject: str, context: Mapping[str, Any]) -> Rendered:
        """Raise the TemplateProblem `render` would raise, at a fraction of its cost: the
        subject and the text part's Jinja render. Both parts render one template with one
        context, so no variable or branch differs between them; what only the whole message
        does (the HTML part, the Markdown conversions, the layout) `validate` renders once
        for each template with `render`. Only the subject (and `long_subject`) is filled in
        what it returns; the text and HTML parts are left empty."""
        rendered = self.subject(name, subject, context)
        self.check_text(name, context)
        return rendered

    def subject(self, name: str, subject: str, context: Mapping[str, Any]) -> Rendered:
        """The subject alone (in a Rendered with empty parts), or its TemplateProblem."""
        with _problems(f"{name}.md.j2", context, in_subject=True):
            full_subject = header_safe(self._subjects(subject).render(context))
        subject_text = shorten(full_subject)
        long_subject = full_subject if subject_text != full_subject else ""
        return Rendered(subject_text, "", "", long_subject)

    def check_text(self, name: str, context: Mapping[str, Any]) -> None:
        """Raise the TemplateProblem the template's text part raises with `context`."""
        filename = f"{name}.md.j2"
        with _problems(filename, context):
            self.text_env.get_template(filename).render(context)

    def uses(self, name: str, subject: str) -> shape.Uses | None:
        """What template `name` (with what it includes) and the subject do with a context
        (shape.py), or None when that is not known: a construct it does not follow, a
        template that does not compile, or one compiled by another version."""
        body = self._template_uses(f"{name}.md.j2")
        heading = self.subject_uses(subject)
        if body is None or heading is None:
            return None
        if (name, heading) not in self._with_subject:  # subjects alike share one (its tree)
            self._with_subject[name, heading] = body + heading
        return self._with_subject[name, heading]

    def subject_uses(self, subject: str) -> shape.Uses | None:
        """What a subject does with a context (None: not known, or it includes a template)."""
        if subject not in self._subject_uses:
            try:
                own = _own_uses(self._subjects(subject))
            except jinja2.TemplateError:
                own = None
            found = None if own is None or own[3] else shape.Uses.of(own[0], own[1], own[2])
            self._subject_uses[subject] = found
        return self._subject_uses[subject]

    def _template_uses(self, filename: str) -> shape.Uses | None:
        if filename in self._uses:
            return self._uses[filename]
        self._uses[filename] = None  # while it is worked out: an include cycle is not followed
        try:
            own = _own_uses(self.text_env.get_template(filename))
        except jinja2.TemplateError:
            own = None
        found = None
        if own is not None:
            included = {name: self._template_uses(name) for name, _ in own[3]}
            found = shape.combine(own, included)
        self._uses[filename] = found
        return found


@contextmanager
def _problems(
    filename: str, context: Mapping[str, Any], *, in_subject: bool = False
) -> Iterator[None]:
    """Jinja's errors, and what a template's own code raises, as the TemplateProblem
    `validate` reports (file, line, what) and a send that cannot be composed records; with
    `in_subject`, one in the subject given with `filename` (not in a file it includes)."""

    def problem(where: str, message: str, line: int | None) -> TemplateProblem:
        if in_subject and where == filename:
            return TemplateProblem(filename, message, in_subject=True)
        return TemplateProblem(where, message, line or 0)

    try:
        yield
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(str(exc.name), "template not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise problem(exc.filename or filename, exc.message or "syntax error", exc.lineno) from None
    except jinja2.UndefinedError as exc:
        where, line = _template_frame(exc, filename)
        hint = meant(exc.message or "", context)
        also = f" (did you mean {hint}?)" if hint else ""
        raise problem(where, f"undefined variable: {exc.message}{also}", line) from None
    except jinja2.exceptions.SecurityError as exc:
        raise problem(filename, f"not allowed in a template: {exc}", 0) from None
    except jinja2.TemplateRuntimeError as exc:  # `{% set ns.v %}` where ns is no namespace
        where, line = _template_frame(exc, filename)
        raise problem(where, f"cannot render: {exc.message}", line) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        where, line = _template_frame(exc, filename)
        if not line:
            raise  # not raised by a template's own code: a fault of ours, not theirs
        # what a template did with a value it cannot take (a loop over nothing, `1 / 0`)
        raise problem(where, f"cannot render: {exc}", line) from None
