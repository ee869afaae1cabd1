"""A message that names a resource with a file attaches that file, read once at load time,
with the content type its name says (a PDF is a PDF, not text)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from daemon.config.load import load_deployment
from daemon.decide.decision import decide, replan
from daemon.ledger.snapshot import Snapshot
from daemon.mail.compose import Composer
from daemon.program.timeline import plan
from tests.conftest import mini_program

RESOURCES = """
[[resources]]
id = "workbook"
title = "Workbook"
file = "workbook.pdf"

[[resources]]
id = "notes"
title = "Notes"
file = "notes.md"

[[messages]]
id = "welcome"
title = "Welcome"
subject = "Welcome"
template = "note"
send = { week = 1, day = "monday", time = 08:00:00 }
resources = ["workbook", "notes"]
"""
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_resource_files_are_attached_with_their_type(tmp_path: Path) -> None:
    config = mini_program(
        tmp_path, [("Ann Lee", "ann@example.org", "UTC", "mentor")], weeks=2,
        structure="individuals", extra_schedule=RESOURCES, digest=False,
    )  # fmt: skip
    (tmp_path / "workbook.pdf").write_bytes(PDF)
    (tmp_path / "notes.md").write_text("# Notes\n\nBring a question.\n")
    program = load_deployment(config).program
    (tmp_path / "workbook.pdf").unlink()  # read once, at load: composing reads no file
    replanned = replan(program, plan(program), Snapshot())
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    [send] = [s for s in decide(replanned, Snapshot(), now).sends if s.action.item == "welcome"]
    row, _ = Composer(replanned.program, replanned.timeline, b"s" * 32).row(send, now)
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    assert parts["workbook.pdf"].get_content_type() == "application/pdf"
    assert parts["workbook.pdf"].get_content() == PDF
    assert parts["notes.md"].get_content_type() == "text/markdown"
    assert b"Bring a question." in parts["notes.md"].get_payload(decode=True)
