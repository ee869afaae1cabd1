"""Key paths to line numbers, as config errors need them."""

from __future__ import annotations

from daemon.config.tomlfile import dotted, index_lines

TEXT = """\
# comment with [brackets] and key = value
[program]
id = "x" # trailing
weeks = 7

[[phases]]
id = "a"
tasks = [
  "one, with a comma",
  "two [with brackets]",
]

[[phases]]
id = "b"
start = { week = 2, day = "monday" }

[[phases.sections]]
title = "S"

[phases.end]
week = 3

[[events]]
"quoted-key" = 1
"""


def test_lines_of_keys_tables_and_array_elements() -> None:
    lines = index_lines(TEXT)
    assert lines[("program",)] == 2
    assert lines[("program", "weeks")] == 4
    assert lines[("phases", 0)] == 6
    assert lines[("phases", 0, "tasks", 0)] == 9
    assert lines[("phases", 0, "tasks", 1)] == 10
    assert lines[("phases", 1, "id")] == 14
    assert lines[("phases", 1, "start", "day")] == 15
    assert lines[("phases", 1, "sections", 0, "title")] == 18
    assert lines[("phases", 1, "end", "week")] == 21
    assert lines[("events", 0, "quoted-key")] == 24
    assert ("brackets",) not in lines


def test_dotted() -> None:
    assert dotted(("events", 2, "end")) == "events[2].end"
    assert dotted(("program",)) == "program"
