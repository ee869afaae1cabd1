"""HTML-only replies as plain text: block elements become line breaks; scripts, styles, quoted
blocks (blockquote) and signatures are skipped — the whole element, however deeply nested — and
what follows them is kept, since a person may write below the quote (Gmail's "gmail_quote"
container holds such an answer after its blockquote). Attribution lines ("On … wrote:") come
through as text, to be removed with the plain-text ones (quotes.py). Outlook's and Yahoo's
reply headers are different: the old message follows them unquoted, so everything after them
is dropped.

Markup is made whole before it is parsed, in one pass: html.parser scans from each construct
it cannot finish to the end of the text, so 100 000 characters of `<a b='` took it 27 s
(anyone can send that; the event loop stalled past the watchdog). A comment runs to its
`-->` (one left open, to the end, as browsers read it); a `<` that does not reach a `>` before
the next `<` is text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
_SKIP = {"script", "style", "head", "title", "blockquote"}
_SKIP_CLASSES = ("gmail_signature", "moz-signature")  # the element, not what follows it
_STOP_CLASSES = ("divRplyFwdMsg", "OutlookMessageHeader", "yahoo_quoted", "appendonsend_history")
_ANGLES = re.compile(r"[<>]")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: tuple[str, int] | None = None  # the element skipped, its nesting depth
        self.stopped = False  # the old message began: the rest is history

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping is not None:
            name, depth = self.skipping
            if tag == name and tag not in _VOID:
                self.skipping = (name, depth + 1)
            return
        marks = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if any(name in marks for name in _STOP_CLASSES):
            self.stopped = True
        if (tag in _SKIP or any(name in marks for name in _SKIP_CLASSES)) and tag not in _VOID:
            self.skipping = (tag, 1)
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping is not None:
            name, depth = self.skipping
            if tag == name:
                self.skipping = (name, depth - 1) if depth > 1 else None
            if self.skipping is not None or tag not in _BLOCKS:
                return
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping is None and not self.stopped:
            self.out.append(data)


def whole(html: str) -> str:
    """`html` with comments dropped and every `<` that opens nothing it closes written `&lt;`
    (linear: see the module docstring)."""
    kept, at = [], 0
    while (start := html.find("<!--", at)) >= 0:
        kept.append(html[at:start])
        end = html.find("-->", start + 4)
        at = len(html) if end < 0 else end + 3
    kept.append(html[at:])
    html = "".join(kept)
    open_at: int | None = None
    unclosed = []
    for found in _ANGLES.finditer(html):
        if found[0] == ">":
            open_at = None
            continue
        if open_at is not None:
            unclosed.append(open_at)
        open_at = found.start()
    if open_at is not None:
        unclosed.append(open_at)
    if not unclosed:
        return html
    out, at = [], 0
    for lt in unclosed:
        out += [html[at:lt], "&lt;"]
        at = lt + 1
    out.append(html[at:])
    return "".join(out)


def html_to_text(html: str) -> str:
    html = whole(html)
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser is lenient; these are what it raises
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.out)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n\s*\n\s*\n+", "\n\n", text).strip()
