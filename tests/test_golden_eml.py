"""Golden .eml files: the exact bytes of a weekly email and of an invitation. Regenerate with
MENTORMAIL_UPDATE_GOLDEN=1 after a deliberate change, and read the diff."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from daemon.decide.sends import Send
from daemon.mail.compose import Composer
from daemon.program.instance import Program
from daemon.program.timeline import plan
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


def test_hostile_names_cannot_inject_headers(pemento: Program) -> None:
    import dataclasses
    import email
    import email.policy

    timeline = plan(pemento)
    action = next(a for a in timeline if a.key == CASES["pemento-welcome.eml"])
    evil = pemento.participants[0].model_copy(
        update={"name": 'O\'Brien, "Ann"\r\nBcc: x@evil.example <b>'}
    )
    program = dataclasses.replace(pemento, participants=(evil, *pemento.participants[1:]))
    row, _ = Composer(program, timeline, SECRET).row(Send(action.key, action, 0), AT)
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    assert message["Bcc"] is None
    [to] = message["To"].addresses
    assert to.addr_spec == "dana.whitfield@example.org"
    assert "Bcc: x@evil.example" in to.display_name  # kept as text, on one line
    html = message.get_body(("html",))
    assert html is not None
    assert "Hi &#34;Ann&#34;," in html.get_content() and "<b>" not in html.get_content()
