"""What a person wrote in a reply, wherever they wrote it: above the quote (top-posted), below
it (bottom-posted) or between its lines (interleaved).

Each line is one of: quoted ("> …"), an attribution ("On … wrote:", also wrapped over two lines
as Gmail does: "On … <" / "addr> wrote:"), the start of an unquoted copy of the old message
(Outlook's header block, a separator: everything after it is history), a signature (from "-- "
or "Sent from my iPhone" to the next quote), or the person's own. Their own lines, in runs,
are the `Block`s of the reply; each remembers the quoted line just above it, so an answer
typed under a quoted form line ("> - Did your group meet? (yes/no):") can be read as that
field's answer. The markers are in quotemarks.py.

Nothing here cuts at the first attribution: that is what lost every bottom-posted answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daemon.inbound import quotemarks as marks

Kind = Literal["own", "quote", "attribution", "signature", "history"]


@dataclass(frozen=True)
class Block:
    """Lines the person wrote in a row, and the last quoted line above them ("" if none)."""

    asked: str
    lines: tuple[str, ...]


def new_text(text: str) -> str:
    """The person's own text: their blocks, a blank line apart."""
    return "\n\n".join("\n".join(block.lines) for block in blocks(text))


def blocks(text: str) -> list[Block]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[Block] = []
    current: list[str] = []
    asked = ""
    for line, kind in zip(lines, kinds(lines), strict=True):
        if kind == "own":
            current.append(line.translate(marks.INVISIBLE).rstrip())
            continue
        if _close(current, asked, found):
            asked, current = "", []
        if kind == "quote" and (said := marks.clean(line).lstrip("> \t")):
            asked = said
    _close(current, asked, found)
    return found


def kinds(lines: list[str]) -> list[Kind]:
    """What each line is (see the module's docstring)."""
    out: list[Kind] = []
    signed = False  # in a signature, until the next quote or attribution
    cleaned = [marks.clean(line) for line in lines]  # once: the checks below all read them
    ahead = _written_after(cleaned)
    i = 0
    while i < len(lines):
        line = cleaned[i]
        if not line:  # blank: nothing to recognise (and quick, however many there are)
            out.append("signature" if signed else "own")
        elif marks.quoted(lines[i]):
            out.append("quote")
            signed = False
        elif marks.history(cleaned, i):
            return out + ["history"] * (len(lines) - i)
        elif marks.attribution(line):
            out.append("attribution")
            signed = False
        elif _wrapped(cleaned, i):
            out += ["attribution", "attribution"]
            signed = False
            i += 2
            continue
        elif line and marks.introduces(line, ahead[i]):
            out.append("attribution")
            signed = False
        elif signed or (line and marks.signature(line)):
            out.append("signature")
            signed = True
        else:
            out.append("own")
        i += 1
    return out


def _written_after(cleaned: list[str]) -> list[str]:
    """For each line, the next line after it that is not blank, or "" (linear)."""
    out, found = [""] * len(cleaned), ""
    for n in range(len(cleaned) - 1, -1, -1):
        out[n] = found
        found = cleaned[n] or found
    return out


def _wrapped(cleaned: list[str], i: int) -> bool:
    """An attribution a client wrapped over two lines: neither half is one alone."""
    if i + 1 >= len(cleaned) or not cleaned[i + 1].endswith(":"):  # as every attribution
        return False
    first, second = cleaned[i], cleaned[i + 1]
    if not first or marks.quoted(second) or marks.opened(second):
        return False
    return marks.opened(f"{first} {second}")


def _close(current: list[str], asked: str, found: list[Block]) -> bool:
    """Ends the run of own lines in `current` (blank lines at its ends dropped, runs of blank
    lines inside made one) as a Block; False when it held nothing but blank lines."""
    kept: list[str] = []
    for line in current:
        if line.strip() or (kept and kept[-1]):
            kept.append(line if line.strip() else "")
    while kept and not kept[-1]:
        kept.pop()
    if kept:
        found.append(Block(asked, tuple(kept)))
    return bool(kept)
