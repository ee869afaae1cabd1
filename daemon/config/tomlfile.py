"""Read a TOML file and remember where each key is, so errors can name FILE:LINE.

tomllib returns plain data without positions; this module scans the same text for table
headers, `key = value` lines and the elements of multi-line arrays, and maps each key path
(as pydantic reports it: ("events", 2, "end")) to its line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError, Problem

Loc = tuple[str | int, ...]
SALVAGE_TRIES = 20

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""([A-Za-z0-9_-]+)\s*=""")
_STRING = re.compile(r""""(?:\\.|[^"\\])*"|'[^']*'""")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(p.strip("\"'") for p in parts)


@dataclass
class TomlSource:
    """A parsed TOML file with a key-path → line index."""

    path: Path
    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.path)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest enclosing key that has one (0 if none)."""
        probe = tuple(loc)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            # a key path naming a list of tables ([[organizers]]) is where its first one is
            inside = [n for k, n in self.lines.items() if k[: len(probe)] == probe]
            if inside:
                return min(inside)
            probe = probe[:-1]
        return 0

    def problem(self, loc: Loc, message: str, hint: str = "") -> Problem:
        return Problem(self.name, self.line(loc), dotted(loc), message, hint)


def dotted(loc: Loc) -> str:
    """("events", 2, "end") -> "events[2].end"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def load_toml(path: Path) -> TomlSource:
    """Parse `path`; a syntax error or unreadable file raises ConfigError with its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not a problem
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), 0, "", "file not found", "check the path")]) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [Problem(str(path), line, "", "not UTF-8 text", "save the file as UTF-8")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), 0, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    return parse_toml(text, path)


def parse_toml(text: str, path: Path) -> TomlSource:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _error_line(exc)
        raise ConfigError(
            [
                Problem(
                    str(path),
                    line,
                    "",
                    f"not valid TOML: {exc}",
                    "check quotes, brackets and '=' on this line",
                )
            ]
        ) from None
    return TomlSource(path, data, index_lines(text))


def salvage(path: Path) -> dict[str, Any]:
    """What can still be read of a TOML file with syntax errors: each line an error is found
    on is blanked in turn until the rest parses (or SALVAGE_TRIES lines are gone). Only to
    check the files a broken config names, so one run reports their problems too; never to
    run anything with."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    for _ in range(SALVAGE_TRIES):
        try:
            return tomllib.loads("\n".join(lines))
        except tomllib.TOMLDecodeError as exc:
            line = _error_line(exc)
            if not 1 <= line <= len(lines) or not lines[line - 1].strip():
                return {}  # at the end, or a cascade from something no blanking mends
            lines[line - 1] = ""
    return {}


def _error_line(exc: tomllib.TOMLDecodeError) -> int:
    match = re.search(r"at line (\d+)", str(exc))
    return int(match.group(1)) if match else 0


def index_lines(text: str) -> dict[Loc, int]:
    """Map key paths to 1-based line numbers (first occurrence wins)."""
    lines: dict[Loc, int] = {}
    counters: dict[Loc, int] = {}
    table: Loc = ()
    array_key: Loc | None = None
    array_index = 0
    depth = 0
    multiline: str | None = None  # the delimiter of a multi-line string being skipped
    for number, raw in enumerate(text.splitlines(), start=1):
        if multiline is not None:
            if raw.count(multiline) % 2 == 1:
                multiline = None
            continue
        line = _strip_comment(raw)
        for quotes in ('"""', "'''"):
            if line.count(quotes) % 2 == 1:
                multiline = quotes
                line = line[: line.index(quotes)] + '""'
                break
        if array_key is not None and depth > 0:
            line = _STRING.sub('""', line)
            if depth == 1 and line.strip() and line.strip()[0] not in "]":
                lines.setdefault((*array_key, array_index), number)
                _inline_keys(lines, (*array_key, array_index), line, number)
                array_index += 1
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            if depth <= 0:
                array_key = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            if header.group(1) == "[[":
                array = (*_resolve(names[:-1], counters), names[-1])
                index = counters.get(array, 0)
                counters[array] = index + 1
                table = (*array, index)
            else:
                table = _resolve(names, counters)
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        loc = (*table, *_split_key(key.group(1)))
        lines.setdefault(loc, number)
        value = _STRING.sub('""', line[key.end() :])
        _inline_keys(lines, loc, value, number)
        opened = value.count("[") + value.count("{") - value.count("]") - value.count("}")
        if opened > 0:
            array_key, depth = loc, opened
            array_index = _elements_on_line(value)
    return lines


def _resolve(names: tuple[str, ...], counters: dict[Loc, int]) -> Loc:
    """A header inside an array of tables ([[a]] then [a.b]) refers to its last element."""
    out: Loc = ()
    for name in names:
        out = (*out, name)
        if out in counters:
            out = (*out, counters[out] - 1)
    return out


def _inline_keys(lines: dict[Loc, int], base: Loc, text: str, number: int) -> None:
    if "{" in text:
        for name in _INLINE_KEY.findall(text.split("{", 1)[1]):
            lines.setdefault((*base, name), number)


def _elements_on_line(value: str) -> int:
    inner = value.split("[", 1)[1] if "[" in value else ""
    return inner.count(",") + (1 if inner.strip().rstrip(",") else 0) if inner.strip() else 0


def _strip_comment(line: str) -> str:
    blanked = _STRING.sub(lambda m: "x" * len(m.group(0)), line)
    cut = blanked.find("#")
    return line if cut < 0 else line[:cut]
