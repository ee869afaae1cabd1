"""Compiled templates are kept between runs (Jinja's bytecode cache), and that never serves
stale or wrongly escaped code: an edited template is compiled afresh, and the text and HTML
environments (which escape differently) never share an entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.mail import bytecode
from daemon.mail.render import Renderer
from daemon.program.instance import TemplateFile
from daemon.runtime.templatecache import template_cache
from tests.conftest import ROOT

LAYOUT = (ROOT / "templates" / "common" / "layout.html.j2").read_text()


@pytest.fixture(autouse=True)
def _cached() -> Iterator[None]:
    """As the command line does: compiled templates kept on disk."""
    bytecode.register(template_cache)
    yield
    bytecode.register(None)


def _templates(tmp_path: Path, body: str) -> dict[str, TemplateFile]:
    path = str(tmp_path / "note.md.j2")  # the same name and path each time: only the text moves
    return {
        "note.md.j2": TemplateFile(path, body),
        "layout.html.j2": TemplateFile(str(tmp_path / "layout.html.j2"), LAYOUT),
    }


def test_an_edited_template_is_compiled_again(tmp_path: Path) -> None:
    first = Renderer(_templates(tmp_path, "First {{ x }}\n")).render("note", "s", {"x": "1"})
    again = Renderer(_templates(tmp_path, "First {{ x }}\n")).render("note", "s", {"x": "2"})
    edited = Renderer(_templates(tmp_path, "Second {{ x }}\n")).render("note", "s", {"x": "3"})
    assert "First 1" in first.text and "First 2" in again.text  # (the second from the cache)
    assert "Second 3" in edited.text and "First" not in edited.text


def test_text_and_html_never_share_compiled_code(tmp_path: Path) -> None:
    for _ in range(2):  # the second time, both come from the cache
        rendered = Renderer(_templates(tmp_path, "Say {{ x }}\n")).render(
            "note", "s", {"x": "<b>bold</b>"}
        )
        assert "<b>bold</b>" not in rendered.html and "&lt;b&gt;bold" in rendered.html


def test_the_cache_is_used(tmp_path: Path) -> None:
    cache = template_cache("text")
    assert cache is not None
    Renderer(_templates(tmp_path, "Kept {{ x }}\n")).render("note", "s", {"x": "1"})
    names = [p.name for p in Path(cache.directory).glob("__mentormail_*_text_*.cache")]
    assert names, "nothing was kept"
