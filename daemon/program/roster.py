"""Participants and organizers: the roster model and its loaders (inline TOML, TOML file, CSV)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import EmailStr, Field, ValidationError

from daemon.errors import ConfigError, Problem
from daemon.program.timespec import Frozen, TimeZoneName
from daemon.program.tomlsource import Loc, TomlSource, load_toml

Attribute = str | int | float | bool


class Participant(Frozen):
    name: str = Field(min_length=1)
    email: EmailStr
    timezone: TimeZoneName = Field(min_length=1)
    role: str
    group: str = ""
    pair: str = ""
    options: tuple[str, ...] = ()
    aliases: tuple[EmailStr, ...] = ()
    attributes: dict[str, Attribute] = Field(default_factory=dict)

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


class Organizer(Frozen):
    name: str = Field(min_length=1)
    email: EmailStr
    timezone: TimeZoneName = Field(min_length=1)


CORE_COLUMNS = ("name", "email", "timezone", "role", "group", "pair", "options", "aliases")


@dataclass(frozen=True)
class RosterEntry:
    """A participant with where it was written, for error messages."""

    participant: Participant
    file: str
    line: int


def load_inline(
    source: TomlSource, rows: list[Any], base: Loc
) -> tuple[list[RosterEntry], list[Problem]]:
    """Validate `[[roster.participants]]` tables of an already-parsed TOML file."""
    entries: list[RosterEntry] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        loc = (*base, index)
        if not isinstance(row, dict):
            problems.append(source.problem(loc, "each participant must be a table"))
            continue
        try:
            participant = Participant.model_validate(row)
        except ValidationError as exc:
            problems.extend(
                source.problem((*loc, *err["loc"]), err["msg"], _hint(err["loc"]))
                for err in exc.errors()
            )
            continue
        entries.append(RosterEntry(participant, source.name, source.line(loc)))
    return entries, problems


def load_file(path: Path) -> tuple[list[RosterEntry], list[Problem]]:
    """A roster file: `.csv` (a header row; extra columns become attributes) or `.toml`."""
    if path.suffix.lower() == ".toml":
        source = load_toml(path)
        rows = source.data.get("participants")
        if not isinstance(rows, list):
            return [], [
                Problem(source.name, 0, "participants", "missing", "add [[participants]] tables")
            ]
        return load_inline(source, rows, ("participants",))
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    return [], [
        Problem(
            str(path), 0, "roster.file", "unsupported roster format", "use a .csv or .toml file"
        )
    ]


def _load_csv(path: Path) -> tuple[list[RosterEntry], list[Problem]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([Problem(str(path), 0, "", f"cannot read roster: {exc}")]) from None
    entries: list[RosterEntry] = []
    problems: list[Problem] = []
    with handle:
        reader = csv.DictReader(handle)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in ("name", "email", "timezone", "role") if c not in columns]
        if missing:
            return [], [
                Problem(
                    str(path),
                    1,
                    "header",
                    f"missing column(s): {', '.join(missing)}",
                    "the first row names the columns: name,email,timezone,role[,group,pair,...]",
                )
            ]
        for raw in reader:
            line = reader.line_num
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            record: dict[str, Any] = {k: row.get(k, "") for k in CORE_COLUMNS if row.get(k)}
            for key in ("options", "aliases"):
                if key in record:
                    record[key] = [x.strip() for x in record[key].split(";") if x.strip()]
            record["attributes"] = {
                k: _coerce(v) for k, v in row.items() if k not in CORE_COLUMNS and v != ""
            }
            try:
                participant = Participant.model_validate(record)
            except ValidationError as exc:
                for err in exc.errors():
                    key = str(err["loc"][0]) if err["loc"] else ""
                    problems.append(Problem(str(path), line, key, err["msg"], _hint(err["loc"])))
                continue
            entries.append(RosterEntry(participant, str(path), line))
    return entries, problems


def _coerce(value: str) -> Attribute:
    lowered = value.lower()
    if lowered in ("yes", "true"):
        return True
    if lowered in ("no", "false"):
        return False
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _hint(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else ""
    return {
        "email": "write a full address such as ana@example.org",
        "timezone": "use an IANA zone name such as America/Chicago or Australia/Sydney",
        "name": "give the participant's name as it should appear in mail",
        "role": "give one of the schedule's roles",
    }.get(field, "")
