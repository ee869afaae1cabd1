"""config.toml: environment and systemd-credential overrides, and the documented example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from daemon.config.load import load_deployment, load_program
from daemon.config.settings import Config
from daemon.config.tomlfile import index_lines
from daemon.program.people import Participant
from tests.conftest import ROOT

EXAMPLE = ROOT / "config.example.toml"


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORMAIL_SMTP__PORT", "2525")
    monkeypatch.setenv("MENTORMAIL_SMTP__PASSWORD", "from-env")
    monkeypatch.setenv("MENTORMAIL_STATE__PATH", "/tmp/rehearsal")
    config = load_deployment(EXAMPLE).settings
    assert config.smtp.port == 2525
    assert config.smtp.host == "smtp.example.org"  # the rest of [smtp] is kept
    assert config.smtp.password is not None
    assert config.smtp.password.get_secret_value() == "from-env"
    assert str(config.state.path) == "/tmp/rehearsal"


def test_password_from_systemd_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "MENTORMAIL_IMAP__PASSWORD").write_text("from-credentials")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = load_deployment(EXAMPLE).settings
    assert config.imap.password is not None
    assert config.imap.password.get_secret_value() == "from-credentials"
    assert "from-credentials" not in repr(config)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.errors import ConfigError

    monkeypatch.setenv("MENTORMAIL_SMTP__PORT", "lots")
    with pytest.raises(ConfigError) as caught:
        load_program(EXAMPLE)
    assert any(
        p.file == "MENTORMAIL_SMTP__PORT" and p.key == "smtp.port" for p in caught.value.problems
    )


def _schema_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation: Any = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested and nested[0] is not Participant:
            paths += _schema_paths(nested[0], path)
        else:
            paths.append(path)
    return paths


def test_example_documents_every_key_of_the_schema() -> None:
    text = EXAMPLE.read_text()
    lines = text.splitlines()
    where = index_lines(text)
    comments = "\n".join(line for line in lines if line.lstrip().startswith("#"))
    for path in _schema_paths(Config):
        loc = ("organizers", 0, *path[1:]) if path[0] == "organizers" else path
        line = where.get(loc)
        if line is None:  # a table of tables keyed by id ([program.events.ID])
            line = next(
                (
                    n
                    for k, n in where.items()
                    if len(k) == len(loc) + 1 and k[: len(loc) - 1] == loc[:-1] and k[-1] == loc[-1]
                ),
                None,
            )
        if line is None:
            # keys the example cannot set at the same time are shown in comments
            assert re.search(rf"\b{path[-1]}\b", comments), f"{'.'.join(path)} is not documented"
            continue
        above = lines[max(0, line - 3) : line - 1]
        assert any(x.lstrip().startswith("#") for x in above) or "#" in lines[line - 1], (
            f"{'.'.join(path)} (line {line}) has no comment in config.example.toml"
        )
    for field in Participant.model_fields:
        assert re.search(rf"\b{field}\b", comments), f"roster field {field} is not documented"


def test_example_validates_as_a_config() -> None:
    program = load_program(EXAMPLE)
    assert program.id == "pemento-2021"
    assert len(program.participants) >= 8
    zones = {p.timezone for p in program.participants}
    assert (
        len({z for z in zones if z.startswith("America/") or z.startswith("Pacific/Honolulu")}) >= 4
    )
    assert any(not z.startswith(("America/", "Pacific/Honolulu")) for z in zones)
