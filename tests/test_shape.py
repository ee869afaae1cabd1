"""shape.py: `validate` renders a template once per kind of context, not once per recipient.

The property that matters: two contexts with the same canonical key render alike (both fail
with the same error, or both render). Checked on a table of templates that each fail for one
context and not for another that differs only a little, and by hypothesis on random contexts.
A construct the analysis does not follow gives no analysis (every context is rendered).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.config.validate import _Checker, validate
from daemon.errors import ConfigError, Problem, TemplateProblem
from daemon.mail import kinds, shape
from daemon.mail.inert import Inert
from daemon.mail.render import Renderer
from daemon.program.instance import TemplateFile
from tests.conftest import ROOT, mini_program, write


def renderer_of(**templates: str) -> Renderer:
    return Renderer({f"{n}.md.j2": TemplateFile(f"{n}.md.j2", t) for n, t in templates.items()})


def outcome(renderer: Renderer, context: dict[str, Any]) -> str:
    try:
        renderer.check_text("t", context)
    except TemplateProblem as exc:
        return f"fails: {exc.detail}"
    return "renders"


KEYS = kinds.Canonical()  # keys compare when made by one Canonical


def key(renderer: Renderer, context: dict[str, Any]) -> object:
    uses = renderer.uses("t", "Subject")
    assert uses is not None, "the template should be analysed"
    return KEYS(context, uses)


# (template, a context it renders with, one that fails, included templates)
SEPARATED: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, str]]] = [
    # a value only printed may differ; one that is missing may not
    ("{{ recipient.name }}", {"recipient": {"name": "A"}}, {"recipient": {}}, {}),
    ("{{ partner.name }}", {"partner": {"name": "A"}}, {"partner": None}, {}),
    ("{{ s.upper }}", {"s": "a"}, {"s": None}, {}),  # a value looked into: kept whole
    # a condition: its truth counts
    (
        "{% if partner %}{{ nope }}{% endif %}",
        {"partner": None},
        {"partner": {"name": "A"}},
        {},
    ),
    ("{% if not a or b %}{{ nope }}{% endif %}", {"a": "x", "b": ""}, {"a": "", "b": ""}, {}),
    # a comparison, a method, a filter, an index: the exact value counts
    ("{% if n == 2 %}{{ nope }}{% endif %}", {"n": 1}, {"n": 2}, {}),
    ("{% if s.startswith('A') %}{{ nope }}{% endif %}", {"s": "Bo"}, {"s": "Al"}, {}),
    ("{{ (s | first).x }}", {"s": [{"x": 1}]}, {"s": [{}]}, {}),
    ("{{ s[0] }}", {"s": "abc"}, {"s": ""}, {}),
    (
        "{% if d.values() | list | length > 1 %}{{ nope }}{% endif %}",
        {"d": {"a": 1}},
        {"d": {"a": 1, "b": 2}},
        {},
    ),
    ("{{ s[1] }}", {"s": [1, 2]}, {"s": [1]}, {}),
    # values that are equal but behave differently
    ("{% for k in d %}{{ k.markdown() }}{% endfor %}", {"d": {Inert("a"): 1}}, {"d": {"a": 1}}, {}),
    ("{{ xs + [1] }}", {"xs": [1]}, {"xs": (1,)}, {}),
    (
        "{% if d.hour == 13 %}{{ nope }}{% endif %}",
        {"d": dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)},
        {"d": dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))},
        {},
    ),
    # a method of a mapping (one without that key) or of a list, called later: all of it counts
    ("{% set f = d.values %}{{ (f() | first).x }}", {"d": {"a": {"x": 1}}}, {"d": {"a": {}}}, {}),
    ("{{ ([xs.copy][0]()[0]).x }}", {"xs": [{"x": 1}]}, {"xs": [{}]}, {}),
    ("{{ 'x' if a else nope }}", {"a": 1}, {"a": 0}, {}),
    # a loop: how many, and what each element has
    ("{% for x in xs %}{{ nope }}{% endfor %}", {"xs": []}, {"xs": [1]}, {}),
    ("{% for x in xs %}{{ x.name }}{% endfor %}", {"xs": [{"name": 1}]}, {"xs": [{}]}, {}),
    ("{% for k in d %}{{ nope }}{% endfor %}", {"d": {}}, {"d": {"a": 1}}, {}),
    (
        "{% for x in xs %}{% if not loop.last and loop.nextitem.v %}{{ nope }}{% endif %}"
        "{% endfor %}",
        {"xs": [{"v": 0}, {"v": 0}]},
        {"xs": [{"v": 0}, {"v": 1}]},
        {},
    ),
    ("{{ xs | join(', ') }}", {"xs": ["a"]}, {"xs": None}, {}),
    (
        '{{ xs | map(attribute="name") | join(", ") }}',
        {"xs": [{"name": "a"}]},
        {"xs": [{"nom": "a"}]},
        {},
    ),
    # names standing for context values
    ("{% set b = a.y %}", {"a": {}}, {}, {}),  # assigned, not used: looked up all the same
    (
        "{% set r = recipient %}{% if r.x == 'a' %}{{ nope }}{% endif %}",
        {"recipient": {"x": "b"}},
        {"recipient": {"x": "a"}},
        {},
    ),
    (  # r may be the context's r (flip is false in both): what is done with it counts
        "{% if flip %}{% set r = partner %}{% endif %}{% if r.x %}{{ nope }}{% endif %}",
        {"flip": False, "partner": {"x": 0}, "r": {"x": 0}},
        {"flip": False, "partner": {"x": 0}, "r": {"x": 1}},
        {},
    ),
    ("{% if a %}{% else %}{{ b.x }}{% endif %}", {"a": 0, "b": {"x": 1}}, {"a": 0, "b": {}}, {}),
    (
        "{% if a %}{% elif c %}{{ b.x }}{% endif %}",
        {"a": 0, "c": 1, "b": {"x": 1}},
        {"a": 0, "c": 1, "b": {}},
        {},
    ),
    (
        "{% for x in xs %}{% else %}{{ b.x }}{% endfor %}",
        {"xs": [], "b": {"x": 1}},
        {"xs": [], "b": {}},
        {},
    ),
    (
        "{% set n = xs | length %}{% if n > 1 %}{{ nope }}{% endif %}",
        {"xs": [1]},
        {"xs": [1, 2]},
        {},
    ),
    (
        "{% for p in people %}{% set cur = p %}{% if cur.vip %}{{ nope }}{% endif %}{% endfor %}",
        {"people": [{"vip": False}]},
        {"people": [{"vip": True}]},
        {},
    ),
    (  # stored in a namespace: what is done with it there counts
        "{% set ns = namespace(v=none) %}{% set ns.v = d %}{% if ns.v.x %}{{ nope }}{% endif %}",
        {"d": {"x": 0}},
        {"d": {"x": 1}},
        {},
    ),
    # what an included template does, in the scope of its include
    (
        '{% for p in people %}{% include "inc.md.j2" %}{% endfor %}',
        {"people": [{"vip": False}]},
        {"people": [{"vip": True}]},
        {"inc": "{% if p.vip %}{{ nope }}{% endif %}"},
    ),
    (
        '{% set who = partner %}{% include "inc.md.j2" %}',
        {"partner": {"name": "A"}},
        {"partner": {}},
        {"inc": "{{ who.name }}"},
    ),
    # the subject's use counts too: rendered apart, but part of the same key
    ("{{ recipient.name }}", {"recipient": {"name": "A"}}, {"recipient": {"nom": "A"}}, {}),
]


@pytest.mark.parametrize(("template", "fine", "failing", "included"), SEPARATED)
def test_contexts_that_render_differently_have_different_keys(
    template: str, fine: dict[str, Any], failing: dict[str, Any], included: dict[str, str]
) -> None:
    renderer = renderer_of(t=template, **included)
    assert outcome(renderer, fine) == "renders"
    assert outcome(renderer, failing).startswith("fails")
    assert key(renderer, fine) != key(renderer, failing)


# (template, two contexts that differ only in what is printed: one key)
MERGED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("Hi {{ recipient.name }}", {"recipient": {"name": "A"}}, {"recipient": {"name": "Bo"}}),
    (
        "{% if partner %}{{ partner.first_name }}{% endif %} due {{ obligation.due }}",
        {"partner": {"first_name": "A"}, "obligation": {"due": "Monday"}},
        {"partner": {"first_name": "B"}, "obligation": {"due": "Sunday 1 August"}},
    ),
    (
        '{{ who | map(attribute="name") | join(" and ") }}',
        {"who": [{"name": "A", "email": "a@x"}]},
        {"who": [{"name": "B", "email": "b@x"}]},
    ),
    (
        "{% for item in upcoming %}- {{ item.title }}: {{ item.due }}\n{% endfor %}",
        {"upcoming": [{"title": "A", "due": "Monday"}]},
        {"upcoming": [{"title": "B", "due": "Friday"}]},
    ),
    ("{{ week }} {{ unused }}", {"week": 1, "unused": None}, {"week": 7, "unused": {"x": 1}}),
]


@pytest.mark.parametrize(("template", "one", "other"), MERGED)
def test_contexts_that_differ_only_in_printed_text_share_a_key(
    template: str, one: dict[str, Any], other: dict[str, Any]
) -> None:
    renderer = renderer_of(t=template)
    assert key(renderer, one) == key(renderer, other)


@pytest.mark.parametrize(
    "template",
    [
        "{% macro m(x) %}{{ x.y }}{% endmacro %}{{ m(a) }}",
        "{% call(x) caller() %}{% endcall %}",
        "{% filter upper %}{{ a }}{% endfilter %}",
        "{% set s %}{{ a }}{% endset %}{% if s == 'x' %}{{ nope }}{% endif %}",
        "{% with b = a %}{{ b }}{% endwith %}",
        "{% include name %}",
        "{% for x in xs recursive %}{{ loop(x.children) }}{% endfor %}",
        '{% extends "base.md.j2" %}',
        '{% import "base.md.j2" as b %}',
    ],
)
def test_what_the_analysis_does_not_follow_gets_every_context_rendered(template: str) -> None:
    renderer = renderer_of(t=template, base="{% block b %}{% endblock %}")
    assert renderer.uses("t", "Subject") is None


def test_a_subject_with_its_own_uses_and_an_include_in_a_subject() -> None:
    renderer = renderer_of(t="Hi")
    uses = renderer.uses("t", "{% if week == 2 %}Half way{% endif %}: {{ title }}")
    assert uses is not None and ("week",) in uses.exact and "title" in uses.roots
    assert renderer.uses("t", '{% include "t.md.j2" %}') is None


def test_an_analysis_compiled_by_another_version_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renderer = renderer_of(t="{{ a }}")
    renderer.check_text("t", {"a": 1})  # compiled (and its analysis kept) by this version
    monkeypatch.setattr(shape, "VERSION", shape.VERSION + 1)
    assert renderer.uses("t", "S") is None


# --- the property, on random contexts -------------------------------------------------------

TEMPLATES = {
    "t": (
        "{{ r.name }}{% if p %}{{ p.name.upper }}{% endif %}"
        "{% for x in xs %}{% if x.on %}{{ x.name }}{% endif %}{% endfor %}"
        "{% if n == 2 %}{{ r.extra }}{% endif %}"
        '{{ xs | map(attribute="name") | join(", ") }}'
        '{% include "inc.md.j2" %}'
    ),
    "inc": "{% set q = p %}{% if q and q.name == 'b' %}{{ q.missing }}{% endif %}",
}
LEAVES = st.one_of(st.none(), st.sampled_from(["", "a", "b"]), st.integers(0, 2), st.booleans())
PERSON = st.dictionaries(st.sampled_from(["name", "on", "extra"]), LEAVES, max_size=3)
CONTEXT = st.fixed_dictionaries(
    {
        "r": st.one_of(st.none(), PERSON),
        "p": st.one_of(st.none(), PERSON),
        "xs": st.one_of(st.none(), st.lists(PERSON, max_size=3)),
        "n": st.integers(0, 3),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(CONTEXT, min_size=2, max_size=12))
def test_one_key_one_outcome(contexts: list[dict[str, Any]]) -> None:
    renderer = renderer_of(**TEMPLATES)
    seen: dict[object, str] = {}
    for context in contexts:
        found = outcome(renderer, context)
        assert seen.setdefault(key(renderer, context), found) == found


# --- in validate ----------------------------------------------------------------------------


def test_validate_renders_each_kind_of_context_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # the PLCI year: about 1,000 recipients and occurrences; their texts are of a few dozen kinds
    renders: list[str] = []
    check_text = Renderer.check_text

    def counted(self: Renderer, name: str, context: dict[str, Any]) -> None:
        renders.append(name)
        check_text(self, name, context)

    monkeypatch.setattr(Renderer, "check_text", counted)
    deployment, timeline = validate(ROOT / "examples" / "plci-mentoring-year" / "config.toml")
    recipients = sum(len(a.recipients) for a in timeline if a.template and a.item != "digest")
    assert recipients > 1000
    assert 0 < len(renders) < recipients / 10
    assert deployment.program.title


def problems_of_note(tmp_path: Path, note: str) -> list[Problem]:
    """What validate finds in a mini program of Ann and Cy (a group) and Bob (third, in a
    group of his own, which the roster check reports too), whose weekly note is `note`."""
    people = [
        ("Ann Able", "ann@example.org", "UTC", "mentor"),
        ("Cy Cole", "cy@example.org", "UTC", "mentee"),
        ("Bob Best", "bob@example.org", "UTC", "mentor"),
    ]
    config = mini_program(tmp_path, people, structure="groups")
    write(tmp_path / "templates" / "note.md.j2", note)
    with pytest.raises(ConfigError) as caught:
        validate(config)
    return caught.value.problems


def test_a_mistake_only_one_later_recipient_reaches_is_found_in_a_macro(tmp_path: Path) -> None:
    # a macro is not analysed: every recipient is rendered, as before
    problems = problems_of_note(
        tmp_path,
        "{% macro hi(r) %}Hi {{ r.first_name }}{% endmacro %}{{ hi(recipient) }}\n\n"
        "{% if recipient.first_name|string == 'Cy' %}{{ recipient.shoe_size }}{% endif %}\n",
    )
    assert [p for p in problems if "shoe_size" in p.message]


def test_a_mistake_in_a_second_kind_of_context_is_found(tmp_path: Path) -> None:
    # Bob is alone in his group: only his text takes the branch that fails
    problems = problems_of_note(
        tmp_path,
        "Hi {{ recipient.first_name }}.\n\n"
        "{% if group.others %}Your group: {{ group.others | map(attribute='name') | join }}."
        "{% else %}{{ group.name }}{% endif %}\n",
    )
    found = [p for p in problems if "'name'" in p.message]
    assert len(found) == 1 and "bob@example.org" in found[0].message


def test_kinds_of_context_under_two_subjects_are_kept_apart() -> None:
    # one template sent under two subjects: each pair has its own uses (the subject's are in
    # them), whose keys do not compare: here `x` sits first in the one's, second in the other's
    subjects = [f"{{% if b{i} %}}{{% endif %}}" for i in range(16)]
    for k in range(64):  # where x sits follows the names' hashes: find it in two places
        x = f"x{k}"
        templates = {"t.md.j2": f"{{% if {x} %}}{{{{ nope }}}}{{% endif %}}", "layout.html.j2": ""}
        renderer = Renderer({n: TemplateFile(n, text) for n, text in templates.items()})
        place: dict[int, str] = {}
        for subject in subjects:
            uses = renderer.uses("t", subject)
            assert uses is not None
            place.setdefault([name for name, _ in kinds._tree(uses).deep].index(x), subject)
        if len(place) == 2:
            break
    one, other = place[0], place[1]
    check = _Checker(renderer, Contexts())
    fine = {x: False, one.split()[2]: True}
    check(Sent(one, fine), None)  # the first: whole
    check(Sent(one, fine), None)  # a kind of context checked
    with pytest.raises(TemplateProblem, match="nope"):
        check(Sent(other, {x: True, other.split()[2]: False}), None)


def test_a_subject_printing_equal_values_that_print_differently_is_rendered_for_each() -> None:
    templates = {"t.md.j2": "Hi", "layout.html.j2": "{{ content }}"}
    check = _Checker(Renderer({n: TemplateFile(n, t) for n, t in templates.items()}), Contexts())
    noon = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    for at in (noon, noon, noon.astimezone(dt.timezone(dt.timedelta(hours=1)))):
        assert check(Sent("At {{ at }}", {"at": at}), None).subject == f"At {at}"


def test_a_subject_joining_a_mapping_with_a_key_like_an_element_step_is_rendered_for_each() -> None:
    templates = {"t.md.j2": "Hi", "layout.html.j2": ""}
    check = _Checker(Renderer({n: TemplateFile(n, t) for n, t in templates.items()}), Contexts())
    for d, said in (({"[]": 1}, "[]"), ({"[]": 1}, "[]"), ({"[]": 1, "b": 1}, "[]b")):
        assert check(Sent("{{ d | join }}", {"d": d}), None).subject == said


@dataclass(frozen=True)
class Sent:
    subject: str
    context: dict[str, Any]
    template: str = "t"


class Contexts:
    def build(self, action: Sent, person: object, only: object = None) -> dict[str, Any]:
        return action.context


def test_a_template_cannot_change_what_contexts_share() -> None:
    # contexts share parts (the program, a window): the sandbox keeps them as they are
    renderer = renderer_of(t="{{ program.organizers.append(1) }}")
    with pytest.raises(TemplateProblem, match="not allowed"):
        renderer.check_text("t", {"program": {"organizers": []}})


def test_a_key_worked_out_for_a_tree_since_dropped_is_not_used_again() -> None:
    # a shared part's key is remembered by its id and its node's: the node of a dropped
    # tree must not lend its id (CPython gives the next one the same), and its key, to another
    keys = kinds.Canonical()
    context = {"d": {"x": 1}}
    printed = keys(context, shape.Uses.of([], [("d", "x")], []))
    assert keys(context, shape.Uses.of([("d", "x")], [], [])) != printed
