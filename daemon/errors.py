"""The one exception tree. The CLI translates these into user messages and exit codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


class MentormailError(Exception):
    """Base of every error mentormail raises on purpose."""

    exit_code = 1


class UserError(MentormailError):
    """Something the user can fix: a config, an argument, a missing file. Exit 2, no traceback."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file, reported as `FILE:LINE: key: message` plus a hint."""

    file: str
    line: int
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ConfigError(UserError):
    """Every problem found in a configuration, schedule or roster, reported at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        cleaned = (replace(p, message=p.message.removeprefix("Value error, ")) for p in problems)
        self.problems = tuple(sorted(set(cleaned)))
        super().__init__("\n".join(str(p) for p in self.problems))
