"""Reading a roster: inline `[[roster.participants]]` tables, a TOML file or a CSV file, into
participants with the file and line each came from (for error messages)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daemon.config.hints import hint_for, message_for
from daemon.config.spelling import keys_at
from daemon.config.tomlfile import Loc, TomlSource, load_toml
from daemon.errors import ConfigError, Problem
from daemon.program.people import Participant, coerce

CORE_COLUMNS = (
    "name",
    "email",
    "timezone",
    "role",
    "group",
    "pair",
    "first_name",
    "options",
    "aliases",
)


@dataclass(frozen=True)
class RosterEntry:
    """A participant with where it was written, for error messages."""

    participant: Participant
    file: str
    line: int
    source: TomlSource | None = None
    loc: Loc = ()

    def line_of(self, key: str) -> int:
        """The line of one of this participant's keys (TOML rosters), else the row's line."""
        if self.source is not None:
            return self.source.line((*self.loc, *key.split(".")))
        return self.line


@dataclass
class Roster:
    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dropped_units: frozenset[str] = frozenset()  # pair/group ids of rows that were refused


def load_inline(source: TomlSource, rows: list[Any], base: Loc) -> Roster:
    """Validate `[[participants]]` tables of an already-parsed TOML file."""
    roster = Roster()
    dropped: set[str] = set()
    for index, row in enumerate(rows):
        loc = (*base, index)
        if not isinstance(row, dict):
            roster.problems.append(source.problem(loc, "each participant must be a table"))
            continue
        try:
            participant = Participant.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                roster.problems.append(
                    source.problem(
                        (*loc, *err["loc"]),
                        message_for(err["type"], err["msg"]),
                        hint_for(key, err["type"], err.get("input"), keys_at(Participant, ())),
                    )
                )
            dropped.update(_units(row))
            continue
        roster.entries.append(RosterEntry(participant, source.name, source.line(loc), source, loc))
    roster.dropped_units = frozenset(dropped)
    return _nonempty(roster, source.name)


def load_file(path: Path) -> Roster:
    """A roster file: `.csv` (a header row; extra columns become attributes) or `.toml`."""
    if path.suffix.lower() == ".toml":
        source = load_toml(path)
        rows = source.data.get("participants")
        if not isinstance(rows, list):
            problem = Problem(
                source.name, 0, "participants", "missing", "add [[participants]] tables"
            )
            return Roster(problems=[problem])
        return load_inline(source, rows, ("participants",))
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    problem = Problem(str(path), 0, "roster.file", "unsupported roster format", "use .csv or .toml")
    return Roster(problems=[problem])


def _load_csv(path: Path) -> Roster:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        hint = "save it as UTF-8 (in Excel: 'CSV UTF-8'; in LibreOffice: character set UTF-8)"
        return Roster(problems=[Problem(str(path), line, "", "not UTF-8 text", hint)])
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, "", f"cannot read roster: {exc}")]) from None
    roster = Roster()
    dropped: set[str] = set()
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in ("name", "email", "timezone", "role") if c not in columns]
    if missing:
        message = f"missing column(s): {', '.join(missing)}"
        hint = "the first row names the columns: name,email,timezone,role[,group,pair,...]"
        if len(columns) == 1 and (sep := _separator(columns[0])):
            message = f"the columns are separated by {sep!r}, not by commas"
            hint = "save the file as CSV with commas (in Excel: 'CSV UTF-8 (Comma delimited)')"
        problem = Problem(str(path), 1, "header", message, hint)
        return Roster(problems=[problem])
    for raw in reader:
        line = reader.line_num
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue  # a blank spreadsheet row
        record: dict[str, Any] = {k: row[k] for k in CORE_COLUMNS if row.get(k)}
        for key in ("options", "aliases"):
            if key in record:
                record[key] = [x.strip() for x in record[key].split(";") if x.strip()]
        record["attributes"] = {
            k: coerce(v) for k, v in row.items() if k not in CORE_COLUMNS and v != ""
        }
        try:
            participant = Participant.model_validate(record)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                message = message_for(err["type"], err["msg"])
                hint = hint_for(key, err["type"], err.get("input"), keys_at(Participant, ()))
                roster.problems.append(Problem(str(path), line, key, message, hint))
            dropped.update(_units(record))
            continue
        roster.entries.append(RosterEntry(participant, str(path), line))
    roster.dropped_units = frozenset(dropped)
    return _nonempty(roster, str(path))


def _units(row: dict[str, Any]) -> set[str]:
    return {f"{kind}:{row[kind]}" for kind in ("pair", "group") if row.get(kind)}


def _nonempty(roster: Roster, file: str) -> Roster:
    if not roster.entries and not roster.problems:
        roster.problems.append(
            Problem(file, 0, "", "no participants", "add one participant per row (or table)")
        )
    return roster


def _separator(header: str) -> str:
    """The character a header read as one column is separated by instead of commas (a
    spreadsheet's ';' or a tab), when splitting at it gives the required columns; else ""."""
    for sep in (";", "\t", "|"):
        if {"name", "email"} <= {c.strip() for c in header.split(sep)}:
            return sep
    return ""
