"""The golden corpus: realistic raw mail from Gmail, Outlook, Apple Mail, Thunderbird, Google
and Outlook calendars, auto-responders and mail systems, and hostile or broken mail, each
with the event the classifier must give (tests/data/inbound/expected.json; the .eml files are
byte-exact as a server stores them)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.inbound import classify
from daemon.inbound.parse import Limits
from tests.test_inbound import Directory

CORPUS = Path(__file__).parent / "data" / "inbound"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
SPECIAL = {"type", "answers_key", "message_id", "subject_has_no_newline", "limits_max_bytes"}


def test_the_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert files == sorted(EXPECTED) and len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name: str) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    limits = Limits(max_bytes=expected.get("limits_max_bytes", Limits().max_bytes))
    inbound = classify(raw, Directory(), limits=limits)
    event = inbound.event
    assert type(event).__name__ == expected["type"], event
    fields = dataclasses.asdict(event)
    for key, value in expected.items():
        if key in SPECIAL:
            continue
        got = fields[key]
        assert (list(got) if isinstance(got, tuple) else got) == value, (key, got)
    if "answers_key" in expected:
        assert getattr(event, "answers", None) is not None
        assert event.answers.key == expected["answers_key"]  # type: ignore[union-attr]
    if "message_id" in expected:
        assert inbound.message_id == expected["message_id"]
    if expected.get("subject_has_no_newline"):
        assert "\r" not in inbound.subject and "\n" not in inbound.subject
