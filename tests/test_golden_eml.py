"""Golden .eml files: the exact bytes of a weekly email and of an invitation. Regenerate with
MENTORMAIL_UPDATE_GOLDEN=1 after a deliberate change, and read the diff."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from daemon.compose import Composer
from daemon.outbox import Send
from daemon.program.loader import Program
from daemon.program.planner import plan
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
SECRET = bytes(range(32))
AT = dt.datetime(2021, 7, 5, 16, tzinfo=dt.UTC)
CASES = {
    "pemento-welcome.eml": "pemento-2021/message/welcome/0/dana.whitfield@example.org",
    "pemento-kickoff-invite.eml": (
        "pemento-2021/event/community-call-1/0/olivia.brennan@example.org"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_message(pemento: Program, name: str) -> None:
    timeline = plan(pemento)
    action = next(a for a in timeline if a.key == CASES[name])
    row, _ = Composer(pemento, timeline, SECRET).row(Send(action.key, action, 0), AT)
    path = GOLDEN / name
    if os.environ.get("MENTORMAIL_UPDATE_GOLDEN"):
        path.write_bytes(row.message)
    assert row.message == path.read_bytes()
    assert not re.search(rb"(?<!\r)\n", row.message)  # CRLF only
    assert all(len(line) <= 998 for line in row.message.split(b"\r\n"))
