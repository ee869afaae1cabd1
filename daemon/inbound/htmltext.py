"""HTML-only replies as plain text: block elements become line breaks, scripts and styles and
quoted blocks (blockquote, Gmail/Outlook quote containers) are dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
_SKIP = {"script", "style", "head", "title", "blockquote"}
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "OutlookMessageHeader")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []  # tags whose content is dropped, innermost last
        self.stopped = False  # the quoted part of the reply began: the rest is history

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if any(name in classes for name in _QUOTE_CLASSES) or "divRplyFwdMsg" in classes:
            self.stopped = True
        if tag in _SKIP:
            self.skipping.append(tag)
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.stopped:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser is lenient; these are what it raises
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.out)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    return re.sub(r"\n\s*\n\s*\n+", "\n\n", text).strip()
