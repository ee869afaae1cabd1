"""The inbound classifier (pure): one event per message, table-driven over realistic mail —
RSVPs from Google, Outlook and Apple, replies in several languages, auto-replies, bounces,
commands, a token reused by a third party, hostile input — and never an exception."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.inbound import classify
from daemon.inbound import events as ev
from daemon.inbound import parse as parse_module
from daemon.inbound.commands import parse as parse_command
from daemon.inbound.events import FieldSpec, FormSpec, InviteRef, PersonRef, SentRef
from daemon.inbound.htmltext import html_to_text
from daemon.inbound.parse import Limits
from daemon.inbound.replytext import form_fields, new_text, yes_or_no
from daemon.ledger.records import Command, Rsvp

ANN, BO, CAROL = "ann@example.org", "bo@example.org", "carol@elsewhere.example"
UID = "3f2a@example.org"
FORM = FormSpec("monthly", (
    FieldSpec("progress", "Progress made", private=False),
    FieldSpec("challenges", "Challenges"),
    FieldSpec("met", "Did you meet?", kind="yesno"),
))  # fmt: skip
SENT = SentRef("k/request/ann", "email", (ANN,), ("k/obligation/1",), FORM, "Did you meet?")
SENT_TO_BO = SentRef("k/message/week-2/bo", "email", (BO,))


class Directory:
    reply_base = "replies@example.org"

    def sent_by_token(self, token: str) -> SentRef | None:
        return {"tok123": SENT, "tokbo": SENT_TO_BO}.get(token)

    def sent_by_message_id(self, message_id: str) -> SentRef | None:
        return SENT if message_id == "<sent-1@example.org>" else None

    def invite(self, uid: str) -> InviteRef | None:
        return InviteRef(UID, ANN, 1) if uid == UID else None

    def person(self, address: str) -> PersonRef | None:
        people = {ANN: PersonRef(ANN, "Ann Mentor", "mentor"), "ann.m@home.example": PersonRef(ANN, "Ann Mentor", "mentor"),
                  BO: PersonRef(BO, "Bo Mentee", "mentee")}  # fmt: skip
        return people.get(address.lower())

    def is_organizer(self, address: str) -> bool:
        return address.lower() == "olive@example.org"


def mail(body: str = "", *, sender: str = f"Ann Mentor <{ANN}>", to: str = "replies+tok123@example.org",
         subject: str = "Re: Check-in", headers: str = "", content_type: str = "text/plain; charset=utf-8") -> bytes:  # fmt: skip
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <m1@mail.example>\r\n"
    return (head + headers + f"Content-Type: {content_type}\r\n\r\n" + body).encode()


def rsvp(partstat: str = "ACCEPTED", *, attendee: str = ANN, sequence: int = 1,
         method: str = "REPLY", sender: str = ANN, headers: str = "", organizer: bool = True) -> bytes:  # fmt: skip
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN", f"METHOD:{method}",
             "BEGIN:VEVENT", f"UID:{UID}", f"SEQUENCE:{sequence}", "DTSTAMP:20210720T120000Z",
             "DTSTART:20210802T180000Z", "DTEND:20210802T190000Z",
             *(["ORGANIZER:mailto:pemento@example.org"] if organizer else []),
             f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}", "END:VEVENT", "END:VCALENDAR"]  # fmt: skip
    ics = "\r\n".join(lines) + "\r\n"
    body = (
        "--b\r\nContent-Type: text/plain\r\n\r\nAnn has accepted.\r\n"
        f"--b\r\nContent-Type: text/calendar; method={method}; charset=utf-8\r\n\r\n{ics}--b--\r\n"
    )
    return mail(body, sender=sender, to="pemento@example.org", subject="Accepted: Call",
                headers=headers, content_type='multipart/alternative; boundary="b"')  # fmt: skip


DSN = (
    "--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
    "Final-Recipient: rfc822; {who}\r\nAction: {action}\r\nStatus: {status}\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
    "--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: PeMento <pemento@example.org>\r\n"
    "To: {who}\r\nReply-To: {reply_to}\r\nSubject: Week 1\r\n--r--\r\n"
)


def dsn(action: str = "failed", status: str = "5.1.1", who: str = ANN,
        reply_to: str = "replies+tok123@example.org") -> bytes:  # fmt: skip
    return mail(DSN.format(who=who, action=action, status=status, reply_to=reply_to), sender="MAILER-DAEMON@mx.example.org",
                to="pemento@example.org", subject="Undelivered Mail Returned to Sender",
                content_type='multipart/report; report-type=delivery-status; boundary="r"')  # fmt: skip


CASES: list[tuple[str, bytes, ev.Event]] = [
    ("rsvp accepted", rsvp(), Rsvp(UID, ANN, "ACCEPTED", 1)),
    ("rsvp declined, tentative", rsvp("TENTATIVE"), Rsvp(UID, ANN, "TENTATIVE", 1)),
    ("outlook reply without organizer", rsvp("DECLINED", organizer=False), Rsvp(UID, ANN, "DECLINED", 1)),
    ("google envelope", rsvp(sender="Google Calendar <calendar-notification@google.com>",
                             headers=f"Reply-To: {ANN}\r\nAuto-Submitted: auto-generated\r\n"),
     Rsvp(UID, ANN, "ACCEPTED", 1)),
    ("stale sequence", rsvp(sequence=0), ev.StaleRsvp(UID, ANN, 0)),
    ("counter", rsvp(method="COUNTER"), ev.Counter(UID, ANN, dt.datetime(2021, 8, 2, 18, tzinfo=dt.UTC),
                                                   dt.datetime(2021, 8, 2, 19, tzinfo=dt.UTC))),
    ("rsvp for someone else", rsvp(attendee=BO), ev.Unmatched("a calendar REPLY for someone the invitation was not for")),
    ("rsvp sent by another", rsvp(sender=CAROL), ev.Unmatched("a calendar REPLY sent by someone other than the attendee")),
    ("auto-submitted", mail("I am away", headers="Auto-Submitted: auto-replied\r\n"), ev.AutoReply("Auto-Submitted: auto-replied")),
    ("x-autoreply", mail("away", headers="X-Autoreply: yes\r\n"), ev.AutoReply("X-Autoreply")),
    ("precedence bulk", mail("news", headers="Precedence: bulk\r\n"), ev.AutoReply("Precedence: bulk")),
    ("german out of office", mail("Ich bin nicht da", subject="Abwesenheitsnotiz: Check-in"), ev.AutoReply("out-of-office subject")),
    ("bounce", dsn(), ev.Bounce((ANN,), "5.1.1", "smtp; 550 5.1.1 user unknown")),
    ("forged bounce: no token of ours", dsn(reply_to="replies@example.org"),
     ev.Unmatched("a delivery report about no message of ours")),
    ("forged bounce: someone else's token", dsn(reply_to="replies+nope@example.org"),
     ev.Unmatched("a delivery report about no message of ours")),
    ("bounce naming another", dsn(who=BO),
     ev.Unmatched("a delivery report naming someone our message was not sent to")),
    ("delayed is no bounce", dsn("delayed", "4.4.7"), ev.AutoReply("a delivery report that is not a failure")),
    ("help in the subject", mail("", subject="Re: HELP"), Command(ANN, "HELP", {})),
    ("pause until", mail("PAUSE until 2026-05-01\r\nOn holiday."), Command(ANN, "PAUSE", {"until": "2026-05-01"})),
    ("pause bad date", mail("PAUSE until soon"), Command(ANN, "PAUSE", {}, "'soon' is not a date like 2026-05-01")),
    ("withdraw from an alias", mail("WITHDRAW", sender="ann.m@home.example", to="replies@example.org"),
     Command(ANN, "WITHDRAW", {})),
    ("organizer excuse", mail(f"EXCUSE {BO} agreement", sender="olive@example.org", to="replies@example.org"),
     ev.OrganizerCommand("olive@example.org", "EXCUSE", {"participant": BO, "obligation": "agreement"})),
    ("excuse from a participant is refused", mail(f"EXCUSE {BO} agreement", subject="x"),
     Command(ANN, "EXCUSE", {}, "only the program's organizers can use EXCUSE")),
    ("token reused by a third party", mail("I agree too", sender=BO), ev.Unmatched("a reply token used by someone the message was not sent to")),
    ("stranger", mail("hello", sender=CAROL, to="replies@example.org"), ev.Unmatched("not from a participant")),
    ("no sender", mail("x", sender="", to="replies@example.org"), ev.Unmatched("no single sender address")),
    ("too big", mail("x" * 2000), ev.Malformed("larger than 1000 bytes")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classify(name: str, raw: bytes, expected: ev.Event) -> None:
    limits = Limits(max_bytes=1000) if name == "too big" else Limits()
    assert classify(raw, Directory(), limits=limits).event == expected


def test_a_checkin_keeps_only_the_new_text_and_reads_the_form() -> None:
    body = (
        "Yes, we met on Tuesday.\r\n- Progress made: drafted the plan\r\n  and a timeline\r\n"
        "- Challenges: finding time\r\nDid you meet? yes\r\n\r\n-- \r\nAnn\r\n\r\n"
        "On Mon, Jul 26, 2021 at 9:00 AM PeMento <pemento@example.org> wrote:\r\n> Did you meet?\r\n"
    )
    event = classify(mail(body), Directory()).event
    assert isinstance(event, ev.CheckIn)
    assert event.participant == ANN and event.answers == SENT and event.answer == "yes"
    assert event.fields == {"progress": "drafted the plan\nand a timeline",
                            "challenges": "finding time", "met": "yes"}  # fmt: skip
    assert "wrote:" not in event.text and "Ann" not in event.text.splitlines()[-1]
    assert "wrote:" in event.original_text


def test_in_reply_to_finds_the_send_without_a_token() -> None:
    raw = mail(
        "No, not yet.", to="replies@example.org", headers="In-Reply-To: <sent-1@example.org>\r\n"
    )
    event = classify(raw, Directory()).event
    assert isinstance(event, ev.CheckIn) and event.answers == SENT and event.answer == "no"


def test_html_only_reply_is_read_as_text() -> None:
    html = ("<div>Ja, wir haben uns getroffen.</div><div class=\"gmail_quote\">Am Mo. schrieb "
            "PeMento:<blockquote>Habt ihr euch getroffen?</blockquote></div>")  # fmt: skip
    event = classify(mail(html, content_type="text/html; charset=utf-8"), Directory()).event
    assert isinstance(event, ev.CheckIn)
    assert event.text == "Ja, wir haben uns getroffen." and event.answer == "yes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oui, c'est fait.\n\nLe lun. 26 juil. 2021 à 09:00, PeMento <p@e.org> a écrit :\n> x", "Oui, c'est fait."),
        ("Sí.\n\nEl lun, 26 jul 2021 a las 9:00, PeMento (<p@e.org>) escribió:\n> x", "Sí."),
        ("Done.\n\n-----Original Message-----\nFrom: PeMento\nSent: Monday\nSubject: x\n\nold", "Done."),
        ("Thanks!\n\nSent from my iPhone", "Thanks!"),
    ],
)  # fmt: skip
def test_new_text(text: str, expected: str) -> None:
    assert new_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes!", "yes"), ("Yep, twice", "yes"), ("Not yet, next week", "no"), ("nein", "no"),
     ("No.", "no"), ("We met on Monday", "yes"), ("Maybe", None), ("Nobody came", None), ("", None)],
)  # fmt: skip
def test_yes_or_no(text: str, expected: str | None) -> None:
    assert yes_or_no(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("HELP", ("HELP", {}, "")),
        ("help me understand the worksheet", None),  # a sentence, not a command
        ("status", ("STATUS", {}, "")),
        ("MEETING 2026-05-04 2:30pm America/Chicago",
         ("MEETING", {"date": "2026-05-04", "time": "14:30", "zone": "America/Chicago"}, "")),
        ("MEETING 2026-05-04 14:00", ("MEETING", {"date": "2026-05-04", "time": "14:00"}, "")),
        ("MEETING 2026-05-04 25:00", ("MEETING", {}, "'25:00' is not a time like 14:00 or 2:00pm")),
        ("MEETING tomorrow 10am", ("MEETING", {}, "'tomorrow' is not a date like 2026-05-04")),
        ("MEETING 2026-05-04 10:00 Mars/Olympus", ("MEETING", {}, "'Mars/Olympus' is not a time zone like Europe/Paris")),
        ("resume now please", None),
        ("EXCUSE bo@example.org agreement", None),  # not an organizer
    ],
)  # fmt: skip
def test_commands(line: str, expected: tuple[str, dict[str, object], str] | None) -> None:
    parsed = parse_command(line, organizer=False)
    assert (None if parsed is None else (parsed.name, parsed.args, parsed.error)) == expected


def test_form_fields_prefer_the_longest_label() -> None:
    form = FormSpec("f", (FieldSpec("goals", "Goals"), FieldSpec("goals_met", "Goals met")))
    assert form_fields("Goals met: two\nGoals: three", form) == {
        "goals_met": "two",
        "goals": "three",
    }


def test_form_answers_written_after_the_copied_label() -> None:
    """Regression: the request says "copy these lines and write your answer after each one",
    and "- Did your group meet? (yes/no) yes" was not read (only "...(yes/no): yes" was)."""
    form = FormSpec("f", (
        FieldSpec("met", "Did your group meet? (yes/no)", kind="yesno"),
        FieldSpec("date", "When did you meet?"),
        FieldSpec("goals", "Goals"),
    ))  # fmt: skip
    text = "Goals are hard\n- Did your group meet? (yes/no) yes\n- When did you meet? 2021-07-29"
    assert form_fields(text, form) == {"met": "yes", "date": "2021-07-29"}


HOSTILE = [
    b"",
    b"\x00\xff\xfe garbage",
    b"From: \r\n\r\n",
    b"From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * 200,
    b"From: ann@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 500 + b"--b--",
    b"From: ann@example.org\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\n\xe9t\xe9",
    b"From: ann@example.org\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64===",
    b"From: =?utf-8?b?broken?= <ann@example.org>\r\nSubject: =?x-bad?q?oops?=\r\n\r\nhi",
    b"From: ann@example.org\r\nTo: replies+tok123@example.org\r\nSubject: a\r\n\tb\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n",
]  # fmt: skip


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_is_one_event(raw: bytes) -> None:
    inbound = classify(raw, Directory())
    assert isinstance(inbound.event, ev.Malformed | ev.Unmatched | ev.CheckIn | ev.AutoReply)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000) | st.builds(lambda head, body: head + b"\r\n\r\n" + body,
                                            st.sampled_from([mail("x").split(b"\r\n\r\n")[0],
                                                             rsvp().split(b"\r\n\r\n")[0]]),
                                            st.binary(max_size=2000)))  # fmt: skip
def test_classify_never_raises(raw: bytes) -> None:
    inbound = classify(raw, Directory())
    assert inbound.event is not None


@pytest.mark.parametrize(
    "unit", ["<a b='", '<a b="', "<a", "<!--", "<?", "</", "<![", "<p>"]
)  # fmt: skip
def test_hostile_html_is_read_in_linear_work(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: 100 000 characters of unterminated markup (`<a b='` repeated) took the
    HTML parser 27 s, each construct scanned to the end of the text: a few such mails from
    anyone blocked the event loop past the watchdog, and the restarted service read them
    again. The work counted is what html.parser scans from each construct it tries: to its
    end, or to the end of the text when it does not end."""
    scanned = [0]
    for name in ("check_for_whole_start_tag", "parse_comment", "parse_pi", "parse_endtag",
                 "parse_html_declaration", "parse_bogus_comment"):  # fmt: skip
        method = getattr(HTMLParser, name)

        def counted(self: HTMLParser, i: int, *rest: int, _method: Any = method) -> Any:
            end = _method(self, i, *rest)  # where the construct ends, or -1: not in the text
            scanned[0] += (end if isinstance(end, int) and end >= 0 else len(self.rawdata)) - i
            return end

        monkeypatch.setattr(HTMLParser, name, counted)
    html = "<p>Yes, we met.</p>" + unit * (100_000 // len(unit))
    text = html_to_text(html)
    assert text.startswith("Yes, we met.")
    assert scanned[0] < 40 * len(html), scanned[0]


def test_huge_headers_are_read_from_their_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: decoding a 7 MB Subject of encoded words took 400 s (the stdlib's decoding
    is quadratic), and reading a To of 500 000 addresses 7 s: one mail from anyone stalled the
    event loop past the watchdog, again at every restart. Headers are read from their start,
    and what the stdlib is given to decode is counted here (characters)."""
    given = {"decode_header": 0, "getaddresses": 0}

    def counting(name: str) -> Any:
        original = getattr(parse_module, name)

        def counted(value: Any) -> Any:
            given[name] += len(value) if isinstance(value, str) else sum(map(len, value))
            return original(value)

        return counted

    for name in given:
        monkeypatch.setattr(parse_module, name, counting(name))
    words = "=?utf-8?q?Re:_our_meeting?= " * 250_000
    to = "x@example.org, " * 500_000
    raw = f"From: a@example.org\r\nTo: {to}\r\nSubject: {words}\r\n\r\nYes\r\n".encode()
    mail = parse_module.parse(raw, Limits(max_bytes=20_000_000))
    assert mail.subject.startswith("Re: our meeting") and mail.recipients[0] == "x@example.org"
    assert given["decode_header"] < 100_000 and given["getaddresses"] < 200_000, given


@pytest.mark.parametrize(
    ("header", "encoding", "expected"),
    [
        ("Grüße aus Köln", "utf-8", "Grüße aus Köln"),  # raw UTF-8 (SMTPUTF8, some clients)
        ("café", "cp1252", "café"),  # raw 8-bit that is not UTF-8
        ("=?utf-8?q?M=C3=BCnchen?=", "ascii", "München"),  # RFC 2047, as before
    ],
)
def test_a_subject_in_raw_8bit_reads_as_written(header: str, encoding: str, expected: str) -> None:
    # raw UTF-8 in a header came out as U+FFFD: answers were titled "Re: Gr����e aus K��ln"
    raw = b"From: z@example.org\r\nSubject: " + header.encode(encoding) + b"\r\n\r\nhi\r\n"
    mail = parse_module.parse(raw, Limits())
    assert (mail.subject, mail.header("Subject"), mail.sender) == (
        expected,
        expected,
        "z@example.org",
    )
