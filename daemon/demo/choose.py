"""Which program `mentormail demo` rehearses (pure but for looking at the files named).

- `--program NAME`: the shipped program of that name (examples/NAME/config.toml);
- `--program PATH`: a config file (or a folder holding config.toml), the organizer's own;
- neither: the config `-c` or $MENTORMAIL_CONFIG names — ./config.toml when neither is given —
  if it exists; when none was named and there is no ./config.toml, the shipped pemento-2021.
  A config that was named but does not exist is an error, never silently another program.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.config.bundled import bundled
from daemon.errors import UserError

DEFAULT = "pemento-2021"


@dataclass(frozen=True)
class Choice:
    config: Path
    shipped: str  # the shipped program's name, or "" for the organizer's own config
    why: str  # one line said before the rehearsal starts


def examples() -> list[str]:
    return sorted(p.parent.name for p in bundled("examples").glob("*/config.toml"))


def shipped_config(name: str) -> Path:
    config = bundled("examples") / name / "config.toml"
    if "/" in name or name.startswith(".") or not config.is_file():
        raise UserError(
            f"no shipped program {name!r}; choose one of: {', '.join(examples())}, "
            "or give the path of a config file"
        )
    return config


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(".toml") or text.startswith(".")


def _own(path: Path, how: str) -> Choice:
    config = path / "config.toml" if path.is_dir() else path
    if not config.is_file():
        where = f"{path} holds no config.toml" if path.is_dir() else f"no config file {path}"
        raise UserError(
            f"{where} ({how}); give the path of your config.toml, or --program NAME for a "
            f"shipped program ({', '.join(examples())})"
        )
    return Choice(config, "", f"your config {config} ({how})")


def choose(program: str | None, config: Path | None, named: bool) -> Choice:
    """`program`: --program's value, if given; `config`: the config -c, $MENTORMAIL_CONFIG or
    the default names; `named`: whether -c or $MENTORMAIL_CONFIG named it (not the default)."""
    if program:
        if Path(program).exists() or _looks_like_path(program):
            return _own(Path(program), "--program")
        return Choice(shipped_config(program), program, f"the shipped program {program}")
    if config is not None and (named or config.exists()):
        return _own(config, "-c or $MENTORMAIL_CONFIG" if named else "./config.toml")
    return Choice(
        shipped_config(DEFAULT),
        DEFAULT,
        f"the shipped program {DEFAULT} (no ./config.toml here; rehearse yours with "
        "-c FILE demo, or another shipped one with --program NAME)",
    )
