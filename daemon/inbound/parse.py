"""Reading a raw message safely: limits first, then headers decoded leniently, addresses parsed
strictly, the text body found (HTML turned into text, format=flowed unwrapped), and the
calendar and delivery-status parts picked out. Anything that does not fit the limits or cannot
be read raises MalformedMail; nothing else is allowed to escape (the classifier turns it into
one `Malformed` event)."""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from daemon.errors import MalformedMail
from daemon.inbound.htmltext import html_to_text

_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATES = re.compile("[\udc80-\udcff]")  # 8-bit bytes of a header, as compat32 keeps them
HEADERS_LIMIT = 64 * 1024  # of a report's copy of the headers of our message
# characters of a header decoded, and of a kind of address header read: the stdlib's decoding
# is quadratic (a 7 MB Subject of encoded words took 400 s) and reads ~60 000 addresses a
# second; anyone can send such a header, and the event loop would stall past the watchdog
HEADER_TEXT = 16 * 1024
ADDRESS_TEXT = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_depth: int = 8
    max_parts: int = 100
    max_text: int = 100_000  # characters of body text looked at


@dataclass
class Mail:
    message: Message
    sender: str | None = None  # From, bare address, lower case
    reply_to: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # To, Cc, Delivered-To, X-Original-To
    subject: str = ""
    message_id: str | None = None
    references: list[str] = field(default_factory=list)  # In-Reply-To first, then References
    text: str = ""
    calendar: bytes | None = None
    report: list[Message] = field(default_factory=list)  # delivery-status field blocks
    returned: list[Message] = field(default_factory=list)  # a report's copy of our message
    authentication: list[str] = field(default_factory=list)  # Authentication-Results, top first

    def header(self, name: str) -> str:
        return decoded(raw_header(self.message, name))


def parse(raw: bytes, limits: Limits) -> Mail:
    if len(raw) > limits.max_bytes:
        raise MalformedMail(f"larger than {limits.max_bytes} bytes")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    mail = Mail(message)
    senders = addresses(message.get_all("From") or [])
    mail.sender = senders[0] if len(senders) == 1 else None
    mail.reply_to = addresses(message.get_all("Reply-To") or [])
    names = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    mail.recipients = addresses([v for n in names for v in message.get_all(n) or []])
    mail.subject = decoded(raw_header(message, "Subject"))[:500]
    ids = _MSG_ID.findall(str(message.get("Message-ID", "")))
    mail.message_id = ids[0] if ids else None
    refs = [*_MSG_ID.findall(str(message.get("In-Reply-To", "")))]
    refs += reversed(_MSG_ID.findall(str(message.get("References", ""))))  # nearest first
    mail.references = list(dict.fromkeys(refs))[:50]
    mail.authentication = [str(v) for v in message.get_all("Authentication-Results") or []][:20]
    _walk(message, mail, limits)
    return mail


def addresses(values: Sequence[object]) -> list[str]:
    """Bare addresses, lower case; anything that is not one plain addr-spec is dropped. Only
    the first ADDRESS_TEXT characters of the headers are read."""
    texts, room = [], ADDRESS_TEXT
    for value in values:
        if room <= 0:
            break
        text = str(value)[:room]
        texts.append(text)
        room -= len(text)
    out = []
    for _, found in getaddresses(texts):
        address = found.strip().lower()
        if address.count("@") == 1 and not _CONTROLS.search(address) and " " not in address:
            out.append(address)
    return out


def raw_header(message: Message, name: str) -> str | None:
    """The first `name` header as it came. A header with 8-bit bytes (raw UTF-8, as SMTPUTF8
    mail and some clients send) is kept with each byte as a surrogate, and `message.get`
    would turn it into a Header whose text is only U+FFFD."""
    wanted = name.lower()
    return next((str(v) for k, v in message.raw_items() if k.lower() == wanted), None)


def decoded(value: object) -> str:
    """A header as text (its first HEADER_TEXT characters): raw 8-bit bytes read as UTF-8
    (else Windows-1252), RFC 2047 decoded where possible, controls and line breaks removed."""
    if value is None:
        return ""
    raw = str(value)[:HEADER_TEXT]  # its start only: see HEADER_TEXT
    if _SURROGATES.search(raw):
        octets = raw.encode("utf-8", "surrogateescape")
        try:
            raw = octets.decode("utf-8")
        except UnicodeDecodeError:
            raw = octets.decode("cp1252", "replace")
    try:
        text = str(make_header(decode_header(raw)))
    except (LookupError, UnicodeError, ValueError, HeaderParseError):  # a charset, a bad word
        text = raw
    return _CONTROLS.sub(" ", text.replace("\r", " ").replace("\n", " ")).strip()


def _walk(message: Message, mail: Mail, limits: Limits) -> None:
    parts = 0
    html = ""
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if depth > limits.max_depth or parts > limits.max_parts:
            raise MalformedMail("too many nested or attached parts")
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            mail.report.extend(b for b in blocks if isinstance(b, Message))
            continue
        if content_type == "message/rfc822" and not mail.returned:  # a report's copy of ours
            inner = part.get_payload()
            mail.returned.extend(m for m in (inner if isinstance(inner, list) else [])[:1]
                                 if isinstance(m, Message))  # fmt: skip
        if content_type == "text/rfc822-headers" and not mail.returned:
            headers = part.get_payload(decode=True)
            if isinstance(headers, bytes):
                text = headers[:HEADERS_LIMIT].decode("utf-8", errors="replace")
                mail.returned.append(HeaderParser(policy=email.policy.compat32).parsestr(text))
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
            continue
        if content_type in ("text/calendar", "application/ics") and mail.calendar is None:
            body = part.get_payload(decode=True)
            mail.calendar = body if isinstance(body, bytes) else None
            continue
        if part.get_filename() or part.get("Content-Disposition", "").lower().startswith(
            "attachment"
        ):
            continue
        if content_type == "text/plain" and not mail.text:
            mail.text = _text(part, limits)
        elif content_type == "text/html" and not html:
            html = _text(part, limits)
    if not mail.text and html:
        mail.text = html_to_text(html)[: limits.max_text]


def _text(part: Message, limits: Limits) -> str:
    body = part.get_payload(decode=True)
    if not isinstance(body, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        text = body[: limits.max_text * 4].decode(charset, errors="replace")
    except (UnicodeError, ValueError, TypeError):  # a codec that fails in other ways
        text = body[: limits.max_text * 4].decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")[: limits.max_text]
    if _param(part, "format") == "flowed":
        return unflowed(text, delsp=_param(part, "delsp") == "yes")
    return text


def unflowed(text: str, *, delsp: bool = False) -> str:
    """RFC 3676 format=flowed text as its paragraphs (Thunderbird and Apple Mail send it): a line
    ending in a space goes on in the next line of the same quote depth, so a sentence wrapped
    at 72 characters ("we did not" / "meet") is read whole. Quote marks are kept ("> …")."""
    out: list[str] = []
    depth, carried = 0, None  # the quote depth and text of a paragraph still going on
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        body = line[level:].removeprefix(" ")  # space-stuffing undone
        if carried is not None and level != depth:
            out.append(_quoted(depth, carried))
            carried = None
        soft = body.endswith(" ") and body != "-- "
        joined = (carried or "") + (body[:-1] if soft and delsp else body)
        depth, carried = level, joined if soft else None
        if not soft:
            out.append(_quoted(level, joined))
    if carried is not None:
        out.append(_quoted(depth, carried))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return ">" * depth + " " * bool(depth) + text


def _param(part: Message, name: str) -> str:
    value = part.get_param(name)
    return str(value).strip().lower() if isinstance(value, str) else ""
