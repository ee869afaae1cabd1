"""`mentormail demo`: the simulated participants' decisions (pure, a table), and the whole
rehearsal end to end — embedded SMTP and IMAP servers, a virtual clock, the organizers' view."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar

from daemon.cli import main
from daemon.demo.personas import Person, Persona, initiatives, respond
from tests.conftest import ROOT

AT = dt.datetime(2021, 7, 28, 13, tzinfo=dt.UTC)
CHECKIN = """Hi Dana,

**Did your small group meet during weeks 2–3?**

Please reply to this email by **Sunday, August 1, 2021**.
Start your reply with **yes** or **no**.

**Small Group Meeting report**

You can copy these lines into your reply and write your answer after each one:

- Did your group meet? (yes/no)
- When did you meet?
- What did you talk about?

Thank you!
"""


def _mail(subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "PeMento Organizers <pemento@example.org>"
    message["To"] = "dana@example.org"
    message["Reply-To"] = "pemento-replies+tok3n@example.org"
    message["Subject"] = subject
    message["Date"] = "Wed, 28 Jul 2021 13:00:00 +0000"
    message["Message-ID"] = "<request-1@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _invite() -> EmailMessage:
    raw = (ROOT / "tests" / "golden" / "pemento-kickoff-invite.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _who(persona: Persona) -> Person:
    return Person("Dana Whitfield", "dana@example.org", persona)


@pytest.mark.parametrize(
    ("persona", "subject", "answers"),
    [
        (Persona.DILIGENT, "Did your small group meet?", True),
        (Persona.HELP_SEEKER, "Did your small group meet?", True),
        (Persona.BUSY, "Did your small group meet?", False),  # waits for the reminder
        (Persona.BUSY, "Reminder: Small Group Meeting 1 is due Sunday", True),
        (Persona.DECLINER, "Did your small group meet?", False),
        (Persona.FORGETFUL, "Reminder: Small Group Meeting 1 is due Sunday", False),
        (Persona.HOLIDAY, "Did your small group meet?", False),
        (Persona.WITHDRAWS, "Did your small group meet?", False),
    ],
)
def test_who_answers_a_checkin_request(persona: Persona, subject: str, answers: bool) -> None:
    replies = respond(_who(persona), _mail(subject, CHECKIN), AT)
    assert bool(replies) is answers
    if not replies:
        return
    (reply,) = replies
    assert reply.at > AT and reply.what == "answered"
    parsed = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert parsed["To"] == "pemento-replies+tok3n@example.org"  # the token, as mail clients do
    assert parsed["In-Reply-To"] == "<request-1@example.org>"
    assert parsed["Subject"] == f"Re: {subject}"
    body = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "- Did your group meet? (yes/no) yes" in body
    assert f"- When did you meet? {reply.at.date().isoformat()}" in body
    if persona is Persona.DILIGENT:  # Gmail: on top, then the wrapped attribution and quote
        assert body.startswith("yes\n")
        assert " PeMento Organizers <\npemento@example.org> wrote:" in body
        assert body.index("(yes/no) yes") < body.index("> Start your reply with **yes**")
    elif persona is Persona.HELP_SEEKER:  # bottom-posted
        assert body.startswith("On Wed, Jul 28, 2021 at 1:00 PM PeMento Organizers <")
        assert body.index("> Start your reply with **yes**") < body.index("(yes/no) yes")
    else:  # Outlook: a sentence, then the original, unquoted, under its header block
        assert body.startswith("Yes, we met last week")
        assert "\nFrom: PeMento Organizers <pemento@example.org>\nSent: " in body
        assert "\nStart your reply with **yes** or **no**." in body


def test_a_question_for_the_organizers_answers_the_week_one_mail() -> None:
    week1 = _mail("PeMento week 1", "To opt in, ask the organizers: just reply to this email.\n")
    assert respond(_who(Persona.DILIGENT), week1, AT) == []  # nothing to ask: no check-in
    week4 = _mail("PeMento week 4", "To opt in, ask the organizers: just reply to this email.\n")
    assert respond(_who(Persona.DECLINER), week4, AT) == []  # asked once is enough
    (question,) = respond(_who(Persona.DECLINER), week1, AT)
    assert question.what == "wrote to the organizers"
    parsed = email.message_from_bytes(question.raw, policy=email.policy.default)
    assert parsed["To"] == "pemento-replies+tok3n@example.org"
    assert "Is it too late to opt in?" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_mail_that_asks_nothing_and_answers_from_mentormail_are_left_alone() -> None:
    dana = _who(Persona.DILIGENT)
    assert respond(dana, _mail("PeMento week 2", "Enjoy the week.\n"), AT) == []
    ack = _mail("Re: Did your group meet?", CHECKIN, Auto_Submitted="auto-replied")
    assert respond(dana, ack, AT) == []


@pytest.mark.parametrize(
    ("persona", "state"),
    [
        (Persona.DILIGENT, "ACCEPTED"),
        (Persona.BUSY, "ACCEPTED"),
        (Persona.WITHDRAWS, "ACCEPTED"),
        (Persona.DECLINER, "DECLINED"),  # the kick-off is a community call
        (Persona.FORGETFUL, None),
    ],
)
def test_calendar_answers_are_imip_replies(persona: Persona, state: str | None) -> None:
    replies = respond(_who(persona), _invite(), AT)
    if state is None:
        assert replies == []
        return
    (reply,) = replies
    parsed = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert parsed["To"] == "pemento@example.org"  # the ORGANIZER, as calendars send it
    part = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REPLY"
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    event = next(iter(calendar.walk("VEVENT")))
    original = next(iter(Calendar.from_ical(_calendar_bytes(_invite())).walk("VEVENT")))
    assert str(calendar["METHOD"]) == "REPLY"
    assert str(event["UID"]) == str(original["UID"])
    assert event["ATTENDEE"].params["PARTSTAT"] == state
    assert str(event["ATTENDEE"]) == "mailto:dana@example.org"


def _calendar_bytes(mail: EmailMessage) -> bytes:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_initiatives_are_commands_at_their_week() -> None:
    start = dt.datetime(2021, 7, 12, tzinfo=dt.UTC)
    sent = {
        persona: initiatives(_who(persona), start, "replies@example.org") for persona in Persona
    }
    assert [(o.what, o.at.date()) for o in sent[Persona.HELP_SEEKER]] == [
        ("asked for HELP", dt.date(2021, 7, 12))
    ]
    (pause,) = sent[Persona.HOLIDAY]
    assert b"Subject: PAUSE until 2021-08-09" in pause.raw and pause.at.date() == dt.date(
        2021, 7, 26
    )
    (withdraw,) = sent[Persona.WITHDRAWS]
    assert b"Subject: WITHDRAW" in withdraw.raw and withdraw.at.date() == dt.date(2021, 8, 10)
    assert sent[Persona.DILIGENT] == sent[Persona.FORGETFUL] == []


@pytest.mark.slow
@pytest.mark.timeout(300)  # two whole rehearsals; a loaded machine takes its time
def test_the_demo_rehearses_pemento_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml, and no config named: the shipped default
    monkeypatch.delenv("MENTORMAIL_CONFIG", raising=False)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Rehearsing the shipped program pemento-2021 (no ./config.toml here")
    for week in range(1, 8):
        assert f"\nweek {week} " in text, week
    assert "before the start" in text and "after the end" in text
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("A line per week says what was sent and read:\n\n```text\n")[1]
    for line in sample.split("```")[0].splitlines():  # the README shows what a run prints
        assert line in text, line
    assert "declined “PeMento Welcome & Kick-Off Community Call”: Priya Raman" in text
    assert "Luis Ortega asked for HELP" in text
    assert "Aisha Bello paused until 2021-08-09" in text
    assert "Marcus Lee withdrew from the program" in text
    assert "answered “Reminder: Small Group Meeting 1”: Grace Okafor, Sam Delgado" in text
    view = text[text.index("The organizers' view") :]
    assert "group:owls\n  overdue   Small Group Meeting 1" in view
    assert "group:sparrows\n  met       Small Group Meeting 1" in view
    assert "Flagged to the organizers (3):" in view and "Small Group Meeting 2 — owls" in view
    # who left is named only for the windows that opened before; the pause ended long ago
    assert "Withdrew: Marcus Lee on" in view and "Paused:" not in view
    assert "Small Group Meeting 3 — owls" in view
    meeting3 = next(line for line in view.splitlines() if "Small Group Meeting 3" in line
                    and "for Tomasz" in line)  # fmt: skip
    assert "Marcus Lee" not in meeting3
    rsvps = int(view.split(" RSVPs")[0].rsplit(" ", 1)[1])
    assert rsvps >= 20
    files = sorted((out / "mail").glob("*.eml"))
    assert len(files) > 200 and f"{len(files)} messages sent" in view
    for path in files[:: len(files) // 20]:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert parsed["Message-ID"] and parsed["Date"] and parsed["To"]

    # a second demo into the same folder starts over: test_demo_own.py (a shorter program)


def test_the_demo_will_not_clear_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "thesis.txt").write_text("precious")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not made by `mentormail demo`" in capsys.readouterr().err
    assert (tmp_path / "thesis.txt").read_text() == "precious"
    assert main(["demo", "--program", "nonesuch", "--out", str(tmp_path / "x")]) == 2
    assert "choose one of: acl-mentoring" in capsys.readouterr().err  # and a path would do


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("p/flag/meet/group:owls/0", "Meet — owls"),
        ("p/flag/reflection/ann@example.org/0", "Meet — Ann Lee"),  # one's own: their name
        ("p/flag/reflection/zed@example.org/0", "Meet — zed@example.org"),  # not in the roster
    ],
)
def test_a_flag_in_the_demos_summary_names_its_unit_or_its_person(key: str, shown: str) -> None:
    from daemon.demo.report import _flag

    assert _flag("Flag: Meet", key, {"ann@example.org": "Ann Lee"}) == shown
