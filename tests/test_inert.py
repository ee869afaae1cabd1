"""Text from outside is inert in every kind of mail mentormail sends: a roster name, a reply's
words echoed in an answer, a mail server's diagnostic in an alert or a note — Markdown link and
image syntax, raw HTML, header breaks — never becomes a link, an image, a tag or a header.
A property test over generated hostile strings, for every kind of message."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import html as html_module
import re
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.decide.decision import Digest
from daemon.decide.sends import Send
from daemon.ledger.records import EventVersion, Failure, Intent
from daemon.mail.compose import Composer
from daemon.mail.inert import Inert
from daemon.mail.samples import SAMPLE_ANSWERS, SAMPLE_DIGEST
from daemon.program.instance import Program
from daemon.program.timeline import Action, plan
from tests.conftest import ROOT

AT = dt.datetime(2021, 8, 10, 16, tzinfo=dt.UTC)
PAYLOADS = [
    "[Log in to fix](https://evil.example/login)",
    "![](https://evil.example/p.gif)",
    "<img src=https://evil.example/x.gif onerror=alert(1)>",
    "<a href='https://evil.example'>click</a>",
    "<https://evil.example/auto>",
    "[ref]: https://evil.example/ref\n\n[click][ref]",
    "O'Brien\r\nBcc: x@evil.example",
    '"><script>alert(1)</script>',
    "javascript:alert(1)",
    "**bold** _it_ `code` # heading\n> quote\n- list",
]
HOSTILE = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet="[]()!<>*_`#\\-+.|&'\"\r\n :/evilxamplehtps", min_size=1, max_size=60).map(
        lambda t: t + " https://evil.example/t"
    ),
)
# our own links: addresses, the program's resources, and ready-made EXCUSE/EXTEND replies
ALLOWED_LINK = re.compile(
    r"^(mailto:[^@?]+@example\.org(\?subject=(EXCUSE|EXTEND)%20[A-Za-z0-9%._~-]+)?"
    r"|https://(?!evil)[^\"]+)$"
)


def _program(name: str) -> Program:
    from daemon.config.load import load_program

    base = load_program(ROOT / "config.example.toml")
    first = base.participants[0].model_copy(update={"name": name, "first_name": name})
    organizer = base.organizers[0].model_copy(update={"name": name})
    return dataclasses.replace(
        base, participants=(first, *base.participants[1:]), organizers=(organizer,)
    )


def _messages(program: Program, text: str) -> list[bytes]:
    """One of every kind of message, with `text` wherever something from outside goes."""
    timeline = plan(program)
    composer = Composer(program, timeline, b"s" * 32)
    who = program.participants[0].email

    def first(match: object) -> Action:
        return next(a for a in timeline if match(a))  # type: ignore[operator]

    planned = [
        first(lambda a: a.kind == "email" and a.recipients == (who,) and not a.asks),
        first(lambda a: a.kind == "email" and a.recipients == (who,) and a.asks),
        first(lambda a: a.kind == "invite" and a.recipients == (who,)),
        first(lambda a: a.kind == "reminder" and a.recipients == (who,)),
        first(lambda a: a.kind == "flag" and who in a.who),
    ]
    out = [composer.row(Send(a.key, a, 0), AT)[0].message for a in planned]
    invite = composer.row(Send(planned[2].key, planned[2], 0), AT)[1]
    assert isinstance(invite, EventVersion)
    out.append(composer.cancel(invite, AT)[0].message)
    for answer in SAMPLE_ANSWERS:  # every kind of answer, each with the text in its strings
        hostile = {**_taint(answer, text), "kind": answer["kind"]}  # type: ignore[dict-item]
        out.append(composer.reply(Intent(f"k/{answer['kind']}", who, "", hostile), AT).message)
    notice = Intent(
        "k/notice", "", "", {"kind": "notice", "subject": text, "lines": [text]}, "notice"
    )
    out.append(composer.reply(notice, AT).message)
    failure = Failure("k/x", "email", text, (who,), "failed", text, "<x@example.org>", 2)
    out.append(composer.alert(failure, AT).message)
    digest = dict(SAMPLE_DIGEST)
    digest |= {"paused": [text], "withdrawn": [text], "bouncing": [text]}
    owed = dict(digest["units"][0]["owing"][0], title=text, who=text)
    digest["units"] = [dict(digest["units"][0], name=text, owing=[owed])]
    action = first(lambda a: a.item == "digest")
    out.append(composer.digest(Digest(action, digest), AT).message)
    return out


def _taint(value: object, text: str) -> object:
    """`value` with every string in it replaced by `text`."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {k: _taint(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_taint(v, text) for v in value]
    return value


@settings(max_examples=20, deadline=None)
@given(text=HOSTILE)
def test_outside_text_is_inert_in_every_kind_of_mail(text: str) -> None:
    program = _program(text.replace("\r", " ").replace("\n", " ")[:60] or "x")
    for raw in _messages(program, text):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Bcc"] is None and "\n" not in str(message["Subject"])
        html_part = message.get_body(("html",))
        assert html_part is not None
        html = str(html_part.get_content())
        tags = [t.lower() for t in re.findall(r"<[a-zA-Z][^>]*>", html)]
        assert not [t for t in tags if t.startswith(("<img", "<script", "<iframe")) or " src=" in t]
        for link in re.findall(r"""<a\s[^>]*href=["']([^"']*)["']""", html):
            assert ALLOWED_LINK.match(html_module.unescape(link)), link  # the program's own
        assert "evil.example" not in " ".join(re.findall(r"<[^>]+>", html))  # in no tag


def test_a_hostile_name_reads_as_written() -> None:
    name = "[Ann](https://evil.example) <b>Lee</b>"
    [weekly, *_] = _messages(_program(name), "x")
    message = email.message_from_bytes(weekly, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert "[Ann](https://evil.example) &lt;b&gt;Lee&lt;/b&gt;" in str(html_part.get_content())
    assert name in str(text_part.get_content())


def test_the_digest_counts_refused_apart_from_unmatched() -> None:
    program = _program("Sam Sample")
    timeline = plan(program)
    composer = Composer(program, timeline, b"s" * 32)
    action = next(a for a in timeline if a.item == "digest")
    for counts, says in [
        ({"unmatched": 2, "refused": 3}, ("2 mails could not be matched", "3 mails were refused:")),
        ({"unmatched": 1, "refused": 1}, ("1 mail could not be matched", "1 mail was refused:")),
        ({"unmatched": 0, "refused": 0}, ()),
    ]:
        message = composer.digest(Digest(action, SAMPLE_DIGEST | counts), AT).message
        parsed = email.message_from_bytes(message, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for phrase in ("could not be matched", "refused:"):
            assert (phrase in text) == any(phrase in s for s in says), (counts, text)
        assert all(s in text for s in says)


def test_no_text_part_shows_markdown_source() -> None:
    """Regression: the text part was the template's Markdown (`##`, `**`, `- [ ]`)."""
    for raw in _messages(_program("Sam Sample"), "We met on Monday."):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(("plain",))
        assert part is not None
        text = str(part.get_content())
        for source in ("**", "##", "](", "[ ]", "[x]", "&#"):
            assert source not in text, (source, str(message["Subject"]), text)


def test_a_hostile_name_in_a_list_reads_as_written_in_the_text_part() -> None:
    """Regression: a name joined into a list (`| join`: the digest's Paused and Withdrew, the
    organizers every footer names) lost its escaping in the text part: a Markdown link came out as
    "Log in (https://…)" and an image vanished."""
    name = "Ann [Log in](https://evil.example/l) ![](https://evil.example/p.gif)"
    program = _program(name)
    messages = [email.message_from_bytes(m, policy=email.policy.default)
                for m in _messages(program, name)]  # fmt: skip
    welcome, digest = messages[0], next(m for m in messages if "summary" in str(m["Subject"]))
    for message, says in [(welcome, f"organizers, {name}, who"), (digest, f"Paused: {name}.")]:
        assert isinstance(message, EmailMessage)
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert says in " ".join(text.split()), text


def test_no_bidi_control_from_outside_reaches_any_mail() -> None:
    # a name or a reply carrying U+202E (right-to-left override) turned the rest of its line,
    # or of an answer's "Re:" subject, backwards on screen: "Trojan Source" in mail
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    text = "Ann \u202egnp.exe\u202c Lee \u2067x\u2069"
    for raw in _messages(_program(text), text):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        parts = [str(message["Subject"]), str(message["To"])]
        texts = [p for p in message.walk() if p.get_content_maintype() == "text"]
        parts += [str(p.get_content()) for p in texts]
        assert not [p for p in parts if set(p) & set(controls)]
    assert Inert("a\u202eb").markdown() == "ab" and Inert("a\u2066b").__html__() == "ab"
