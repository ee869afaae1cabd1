"""A program as deployed: the pure Program, the settings (servers, state folder), and the files
it was read from, so a problem can name the file and the line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.config.roster import RosterEntry
from daemon.config.settings import Config, config_problem, resolve
from daemon.config.tomlfile import Loc, TomlSource
from daemon.errors import Problem
from daemon.program.instance import Program


@dataclass(frozen=True)
class Deployment:
    """A program as deployed: the pure Program, the settings (servers, state folder), and the
    files it was read from (for problems with a file and a line)."""

    program: Program
    settings: Config
    config_path: Path
    config_source: TomlSource
    schedule_source: TomlSource
    schedule_dir: Path
    template_dirs: tuple[Path, ...]
    roster_entries: tuple[RosterEntry, ...] = ()
    stand_ins: frozenset[Loc] = frozenset()
    dropped_units: frozenset[str] = frozenset()

    @property
    def state_dir(self) -> Path:
        return resolve(self.config_path, self.settings.state.path)

    def config_problem(self, loc: Loc, message: str, hint: str = "") -> Problem:
        return config_problem(self.config_source, loc, message, hint)
