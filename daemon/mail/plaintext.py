"""Markdown to plain text, for the text part of every message.

Templates are Markdown. Sent as they are, the text part showed its source — `##`, `**`,
`- [ ]` — to everyone whose mail client shows plain text (and to screen readers and
previews). So the Markdown is parsed once by Python-Markdown, as for the HTML part, and its
tree written out as plain text the way people write mail: headings underlined, emphasis
dropped, links as "text (address)", lists with "-" (the check-in form's lines stay the lines
a reply copies), task items as ☐/☑, quotes with "> ", tables as aligned columns, a rule as
the signature separator "-- ", and the template's own line breaks kept.

Text from outside comes in Markdown-escaped (see inert.py: `Inert.markdown`), so it comes
out exactly as written; raw HTML someone typed is restored as the characters they typed.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import markdown
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, ETX, STX

_STASHED = re.compile(re.escape(STX) + r"wzxhzdk:(\d+)" + re.escape(ETX))
_ENTITY = re.compile(re.escape(AMP_SUBSTITUTE) + r"(#?\w+;)")  # (automail writes addresses so)
TASKS = {"[ ] ": "☐ ", "[x] ": "☑ ", "[X] ": "☑ "}
RULE = "-- "  # as a signature separator: mail clients show what follows as a footer


class TaskItems(Treeprocessor):
    """`- [ ] thing` and `- [x] thing` are boxes to tick, not literal brackets."""

    def run(self, root: ET.Element) -> None:
        for item in root.iter("li"):
            target = item[0] if len(item) and item[0].tag == "p" and not item.text else item
            text = target.text or ""
            for mark, box in TASKS.items():
                if text.startswith(mark):
                    target.text = box + text[len(mark) :]
                    item.set("class", "task")
                    break


# Gmail and Outlook drop or ignore a stylesheet's table rules: borders and padding go inline
TABLE_STYLES = {
    "table": "border-collapse:collapse;margin:12px 0;font-size:15px;",
    "th": "border:1px solid #b8b8b0;padding:6px 10px;background:#efefe9;text-align:left;",
    "td": "border:1px solid #b8b8b0;padding:6px 10px;",
}


class TableStyles(Treeprocessor):
    """Tables readable in every mail client: ruled cells with room around the text."""

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            style = TABLE_STYLES.get(element.tag)
            if style:
                align = element.get("align")
                element.set("style", style + (f"text-align:{align};" if align else ""))
                if element.tag == "table":
                    element.set("cellpadding", "6")
                    element.set("border", "1")


_ITEM = re.compile(r" {0,3}(?:[-*+]|1\.)[ \t]+\S")  # a list's first line, as CommonMark lets
_NOT_TEXT = re.compile(r" {0,3}(?:#|>|\||<|[-=_*]{3,}\s*$)|( {4}|\t)")  # heading, quote, table…
_FENCE = re.compile(r" {0,3}(?:```|~~~)")


class ListsAfterText(Preprocessor):
    """A list written right under a line of text is a list, as in CommonMark and most editors:
    Python-Markdown wants a blank line first, and without one the HTML part ran the items
    into the paragraph ("Things to do: - read - write") while the text part looked right."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        state, fenced = "blank", False  # what the previous line was: blank, text, list, other
        for line in lines:
            if _FENCE.match(line):
                fenced = not fenced
            if fenced or not line.strip():
                state = "other" if fenced else "blank"
            elif _ITEM.match(line):
                if state == "text":
                    out.append("")
                state = "list"
            elif state != "list":  # a list's own next lines stay in it
                state = "other" if _NOT_TEXT.match(line) else "text"
            out.append(line)
        return out


class TaskExtension(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(ListsAfterText(md), "lists-after-text", 5)
        md.treeprocessors.register(TaskItems(md), "tasks", 5)
        md.treeprocessors.register(TableStyles(md), "table-styles", 4)


def converter() -> markdown.Markdown:
    """The Markdown the HTML and text parts are both made with. Extensions are given as
    objects: a name would be looked up among every installed package's entry points, which
    took 30 ms of each command that renders."""
    return markdown.Markdown(extensions=[SaneListExtension(), TableExtension(), TaskExtension()])


def to_text(md: markdown.Markdown, source: str) -> str:
    """Plain text of the Markdown `source` (with `md` from `converter()`)."""
    return _text_of(md, _parsed(md, source))


def to_html_and_text(md: markdown.Markdown, source: str) -> tuple[str, str]:
    """What `md.convert(source)` gives (the HTML), and `to_text(md, source)`, from one parse:
    most of a message reads the same in both parts, and parsing is most of converting."""
    root = _parsed(md, source)
    html_text = _html_of(md, root) if source.strip() else ""  # as convert does
    return html_text, _text_of(md, root)


def _parsed(md: markdown.Markdown, source: str) -> ET.Element:
    """The tree `md.convert` would serialize: preprocessors, block parser, treeprocessors."""
    md.reset()
    lines = source.split("\n")
    for processor in md.preprocessors:
        lines = processor.run(lines)
    root = md.parser.parseDocument(lines).getroot()
    assert root is not None
    for tree in md.treeprocessors:
        root = tree.run(root) or root
    return root


def _html_of(md: markdown.Markdown, root: ET.Element) -> str:
    """The rest of `md.convert`: serialize, drop the wrapping tag, postprocessors."""
    output: str = md.serializer(root)
    try:
        start = output.index(f"<{md.doc_tag}>") + len(md.doc_tag) + 2
        output = output[start : output.rindex(f"</{md.doc_tag}>")].strip()
    except ValueError:  # nothing in it: "<div />"
        if not output.strip().endswith(f"<{md.doc_tag} />"):
            raise
        output = ""
    for processor in md.postprocessors:
        output = processor.run(output)
    return output.strip()


def _text_of(md: markdown.Markdown, root: ET.Element) -> str:
    stash = md.htmlStash.rawHtmlBlocks
    blocks = [b for b in _blocks(root) if b.strip()]
    text = "\n\n".join(blocks)
    text = _STASHED.sub(lambda m: _raw(str(stash[int(m[1])])), text)
    text = _ENTITY.sub(lambda m: html.unescape("&" + m[1]), text).replace(AMP_SUBSTITUTE, "&")
    return "\n".join(line.rstrip() if line != RULE else line for line in text.split("\n"))


def _blocks(parent: ET.Element) -> Iterator[str]:
    """Each block element of `parent` as text (blocks are separated by blank lines)."""
    if parent.text and parent.text.strip():
        yield parent.text.strip("\n")
    for child in parent:
        yield _block(child)
        if child.tail and child.tail.strip():
            yield child.tail.strip("\n")


def _block(element: ET.Element) -> str:
    tag = element.tag
    if tag in ("h1", "h2"):
        text = _inline(element).strip()
        return f"{text}\n{('=' if tag == 'h1' else '-') * min(len(text), 72)}"
    if tag in ("h3", "h4", "h5", "h6", "p"):
        return _inline(element).strip("\n")
    if tag in ("ul", "ol"):
        return _list(element, 0)
    if tag == "blockquote":
        inner = "\n\n".join(b for b in _blocks(element) if b.strip())
        return "\n".join(f"> {line}".rstrip() for line in inner.split("\n"))
    if tag == "hr":
        return RULE
    if tag == "pre":
        return "\n".join("    " + line for line in "".join(element.itertext()).rstrip().split("\n"))
    if tag == "table":
        return _table(element)
    if tag == "div":
        return "\n\n".join(b for b in _blocks(element) if b.strip())
    return _inline(element)


def _inline(element: ET.Element) -> str:
    """The text of an inline run: emphasis and code as their text, links with their address."""
    out = [element.text or ""]
    for child in element:
        if child.tag == "a":
            shown, href = _decoded(_inline(child).strip()), _decoded(child.get("href", ""))
            address = href.removeprefix("mailto:")
            if href.startswith("mailto:") and shown == address:
                out.append(f"<{address}>")
            elif href.startswith("mailto:") and "?" in address:
                # a ready-made reply ("EXCUSE … "): its text is what to write; the mailbox is
                # the one this mail comes from, so replying is enough
                out.append(shown)
            else:
                out.append(shown if not href or address in shown else f"{shown} ({address})")
        elif child.tag == "img":
            out.append(child.get("alt", ""))
        elif child.tag == "br":  # a hard break; the source's own line break follows it
            out.append("\n" + (child.tail or "").lstrip("\n"))
            continue
        else:
            out.append(_inline(child))
        out.append(child.tail or "")
    return "".join(out)


def _raw(html_text: str) -> str:
    """Stashed raw HTML as typed; an entity (`&copy;`) as its character."""
    return html.unescape(html_text) if re.fullmatch(r"&#?\w+;", html_text) else html_text


def _decoded(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape("&" + m[1]), text)


def _list(element: ET.Element, depth: int) -> str:
    lines: list[str] = []
    number = int(element.get("start", "1"))
    for item in element.findall("li"):
        task = item.get("class") == "task"
        mark = "" if task else ("- " if element.tag == "ul" else f"{number}. ")
        number += 1
        parts = [_own_text(item)]
        for child in item:
            if child.tag in ("ul", "ol"):  # indented under this item's text, below
                parts.append(_list(child, 0))
            elif child.tag == "p":
                parts.append(_inline(child).strip())
        first, *rest = "\n".join(p for p in parts if p).split("\n")
        indent = "  " * depth
        lines.append(indent + mark + first)
        lines += [indent + " " * len(mark) + line if line.strip() else "" for line in rest]
    return "\n".join(lines)


def _own_text(item: ET.Element) -> str:
    """An item's own inline text, without its nested lists or paragraphs."""
    holder = ET.Element("span")
    holder.text = item.text
    for child in item:
        if child.tag in ("ul", "ol", "p"):
            break
        holder.append(child)  # (ElementTree keeps no parent: the item is left as it was)
    return _inline(holder).strip()


def _table(element: ET.Element) -> str:
    rows = [[_inline(cell).strip() for cell in row] for row in element.iter("tr")]
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
