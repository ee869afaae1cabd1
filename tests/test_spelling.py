"""An unknown key's hint names the key of that table it is closest to (config/spelling.py)."""

from __future__ import annotations

import pytest

from daemon.config.settings import Config
from daemon.config.spelling import close_key, keys_at
from daemon.program.people import Participant
from daemon.program.schedule import Schedule


@pytest.mark.parametrize(
    ("model", "loc", "typo", "meant"),
    [
        (Config, ("smtp",), "prot", "port"),
        (Config, ("program",), "timezon", "timezone"),
        (Config, ("program", "events", "kickoff"), "locaton", "location"),  # a dict's value
        (Config, ("organizers", 3), "emial", "email"),  # a list's item
        (Schedule, ("obligations", 0), "reminder_days_before", "reminders_days_before"),
        (Participant, (), "timezome", "timezone"),
        (Config, ("program",), "colour", ""),  # nothing close
        (Config, ("program", "resources"), "guid", ""),  # a free-form table: any key goes
        (Config, ("nowhere", 0), "port", ""),  # a path the model does not have
    ],
)
def test_an_unknown_key_is_matched_against_its_own_table(
    model: type, loc: tuple[str | int, ...], typo: str, meant: str
) -> None:
    assert close_key(typo, keys_at(model, loc)) == meant


def test_a_known_key_is_never_its_own_suggestion() -> None:
    assert close_key("port", keys_at(Config, ("smtp",))) == ""
