"""Rendering: text and HTML from one Markdown template, escaping, header safety, strictness."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config.load import read_templates
from daemon.errors import TemplateProblem
from daemon.mail.inert import Inert
from daemon.mail.render import Renderer, header_safe
from tests.conftest import ROOT, write

COMMON = ROOT / "templates" / "common"


def renderer_of(folder: Path) -> Renderer:
    """A renderer of the templates in `folder`, over the shipped common ones."""
    templates, problems = read_templates([folder, COMMON])
    assert not problems
    return Renderer(templates)


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    write(tmp_path / "hello.md.j2", "Hi **{{ recipient.name }}**,\n\n- {{ item }}\n")
    write(tmp_path / "typo.md.j2", "Hi {{ recipient.nmae }}\n")
    return renderer_of(tmp_path)


CONTEXT = {
    "recipient": {"name": "<img src=x onerror=alert(1)> & O'Brien"},
    "item": "Tom & Jerry <b>",
    "program": {"title": "T", "sender": "S", "organizers": []},
}


def test_html_is_escaped_and_text_is_not(renderer: Renderer) -> None:
    out = renderer.render("hello", "Hello {{ recipient.name }}", CONTEXT)
    assert "<img src=x onerror=alert(1)> & O'Brien" in out.text
    assert "<img" not in out.html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; O&#39;Brien" in out.html
    assert "<strong>" in out.html and "<li>Tom &amp; Jerry &lt;b&gt;</li>" in out.html
    assert out.html.lstrip().startswith("<!DOCTYPE html>")


def test_subject_is_plain_and_single_line(renderer: Renderer) -> None:
    context = {**CONTEXT, "recipient": {"name": "O'Brien\r\nBcc: x@evil.example"}}
    out = renderer.render("hello", "Hello {{ recipient.name }}", context)
    assert out.subject == "Hello O'Brien Bcc: x@evil.example"
    assert "\n" not in out.subject and "\r" not in out.subject and "&#39;" not in out.subject


def test_undefined_variable_fails_with_its_line(renderer: Renderer) -> None:
    with pytest.raises(TemplateProblem) as caught:
        renderer.render("typo", "x", CONTEXT)
    assert caught.value.line == 1 and "nmae" in str(caught.value)


def test_missing_template(renderer: Renderer) -> None:
    with pytest.raises(TemplateProblem, match="not found"):
        renderer.render("nothing-here", "x", CONTEXT)


def test_a_runtime_error_of_jinja_is_a_template_problem(tmp_path: Path) -> None:
    # regression: `{% set ns.v %}` on what is not a namespace escaped as a traceback
    write(tmp_path / "ns.md.j2", "Hi\n{% set recipient.name = 1 %}\n")
    with pytest.raises(TemplateProblem, match=r"cannot render: .* non-namespace"):
        renderer_of(tmp_path).render("ns", "x", CONTEXT)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    write(tmp_path / "evil.md.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(TemplateProblem, match=r"not allowed|undefined"):
        renderer_of(tmp_path).render("evil", "x", CONTEXT)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("a\r\nb", "a b"), ("a\x00b", "a b"), ("  a   b ", "a b"), ("tab\there", "tab here")],
)
def test_header_safe(raw: str, clean: str) -> None:
    assert header_safe(raw) == clean


def test_dict_keys_win_over_dict_methods(tmp_path: Path) -> None:
    # regression: {"update": False} rendered `invite.update` as the dict method (truthy), so
    # every first invitation said "has changed"
    write(tmp_path / "keys.md.j2", "{{ 'yes' if invite.update else 'no' }} {{ s.items }}\n")
    out = renderer_of(tmp_path).render(
        "keys", "x", {**CONTEXT, "invite": {"update": False}, "s": {"items": "listed"}}
    )
    assert out.text == "no listed\n"


def test_check_raises_what_render_raises_and_makes_nothing(tmp_path: Path) -> None:
    # validate renders each template whole once, then only checks it for every recipient
    write(
        tmp_path / "typo.md.j2",
        "Hi\n\n{% if recipient.name == 'B' %}{{ recipient.nmae }}{% endif %}\n",
    )
    write(tmp_path / "evil.md.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    renderer = renderer_of(tmp_path)
    fine = {**CONTEXT, "recipient": {"name": "A"}}
    checked_fine = renderer.check("typo", "Hello {{ recipient.name }}", fine)
    assert (checked_fine.subject, checked_fine.long_subject) == ("Hello A", "")
    long = "A subject " + "that goes on " * 8 + "{{ recipient.name }}"
    whole, checked_long = renderer.render("typo", long, fine), renderer.check("typo", long, fine)
    assert whole.long_subject and checked_long.long_subject == whole.long_subject
    assert checked_long.subject == whole.subject
    with pytest.raises(TemplateProblem) as rendered:
        renderer.render("typo", "x", {**CONTEXT, "recipient": {"name": "B"}})
    with pytest.raises(TemplateProblem) as checked:
        renderer.check("typo", "x", {**CONTEXT, "recipient": {"name": "B"}})
    assert (checked.value.template, checked.value.line, checked.value.detail) == (
        rendered.value.template, rendered.value.line, rendered.value.detail,
    )  # fmt: skip
    assert checked.value.line == 3 and "nmae" in checked.value.detail
    with pytest.raises(TemplateProblem, match="undefined"):
        renderer.check("hello", "Hi {{ recipeint.name }}", fine)  # the subject too
    with pytest.raises(TemplateProblem, match=r"not allowed|undefined"):
        renderer.check("evil", "x", fine)
    with pytest.raises(TemplateProblem, match="not found"):
        renderer.check("nothing-here", "x", fine)


def test_composers_of_one_program_share_its_renderer_and_its_compiled_templates(
    tmp_path: Path,
) -> None:
    # the service makes a composer every pass: each template is compiled once per process
    write(tmp_path / "hello.md.j2", "Hi **{{ recipient.name }}**\n")
    templates, _ = read_templates([tmp_path, COMMON])
    first = Renderer.of(templates)
    first.render("hello", "x", CONTEXT)
    compiled = first.text_env.get_template("hello.md.j2")
    assert Renderer.of(templates) is first
    assert Renderer.of(templates).text_env.get_template("hello.md.j2") is compiled
    reloaded = dict(templates)  # SIGHUP reads the templates again: a new mapping
    assert Renderer.of(reloaded) is not first


@pytest.mark.parametrize(
    "expression",
    [
        "name | upper", "name | title", "name | trim", "name | replace('ann', 'Ann')",
        "name | truncate(200)", "'%s!' | format(name)", "name | safe", "name | urlize",
        "name | wordwrap(200)", "'Dear ' ~ name", "name[0:200]", "name + '!'", "name.upper()",
        "name.split(' ') | join(' ')", "[name] | map('upper') | join", "name | string",
    ],
)  # fmt: skip
def test_a_filter_or_an_operation_keeps_outside_text_inert(tmp_path: Path, expression: str) -> None:
    """Regression: a filter, a method or an operation on text from outside (`| upper`, `~`,
    a slice) gave a plain string, which the next step read as Markdown: an organizer's
    template with `{{ person.name | upper }}` made a roster name a link and an image."""
    write(tmp_path / "t.md.j2", f"Hello {{{{ {expression} }}}}.\n")
    name = Inert("ann [log in](https://evil.example/l) ![](https://evil.example/p.gif) <b>")
    out = renderer_of(tmp_path).render("t", "s", {"name": name, "program": CONTEXT["program"]})
    assert "<a" not in out.html and "<img" not in out.html and "<b>" not in out.html
    assert "](https://evil.example/l)" in out.html.lower()  # the characters, as written
    assert "[log in](https://evil.example/l) ![](https://evil.example/p.gif)" in out.text.lower()


@pytest.mark.parametrize(
    ("source", "meant"),
    [
        ("Hi {{ recipient.firstname }}", " (did you mean first_name?)"),
        ("Hi {{ recipent.name }}", " (did you mean recipient?)"),
        ("{{ program.sender.titel }}", ""),  # a str has no keys: nothing to offer
        ("{{ recipient.zzz }}", ""),  # nothing close
    ],
)
def test_an_undefined_name_says_the_name_it_was_probably_meant_as(
    tmp_path: Path, source: str, meant: str
) -> None:
    # Jinja says "'dict object' has no attribute 'firstname'" (seen by a new organizer)
    write(tmp_path / "note.md.j2", source + "\n")
    context = {**CONTEXT, "recipient": {"name": "Ann", "first_name": "Ann"}}
    with pytest.raises(TemplateProblem) as caught:
        renderer_of(tmp_path).render("note", "Hello", context)
    assert caught.value.detail.startswith("undefined variable: ")
    assert caught.value.detail.endswith(meant or "'")
