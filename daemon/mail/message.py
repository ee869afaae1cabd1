"""Build the email for one send: headers, text + HTML, an iMIP invite, attachments.

Pure: the Message-ID, the reply token and every header derive from the send key and the
parameters; `date` is passed in. Layout for an invite (CalConnect / RFC 6047):

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
        text/calendar; charset=utf-8; method=REQUEST|CANCEL
      application/ics; name=invite.ics   (attachment, base64)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from daemon.mail.render import Rendered, header_safe

SMTP_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "markdown"


@dataclass(frozen=True)
class Calendar:
    method: str
    ics: bytes


@dataclass(frozen=True)
class Outgoing:
    key: str
    sender_name: str
    sender_address: str
    to: tuple[tuple[str, str], ...]
    reply_to: str
    date: dt.datetime
    rendered: Rendered
    calendar: Calendar | None = None
    attachments: tuple[Attachment, ...] = ()


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the send under `key`: the same on every retry, unique per key."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def reply_token(secret: bytes, key: str) -> str:
    """A short signed token naming the send a reply answers (base32, lower case, 16 chars)."""
    digest = hmac.new(secret, key.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def reply_address(base: str, token: str) -> str:
    """`replies@example.org` + token -> `replies+TOKEN@example.org` (plus addressing)."""
    local, domain = base.rsplit("@", 1)
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1]


def build(out: Outgoing) -> EmailMessage:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(header_safe(out.sender_name), addr_spec=out.sender_address)
    msg["To"] = [Address(header_safe(name), addr_spec=address) for name, address in out.to]
    msg["Reply-To"] = out.reply_to
    msg["Subject"] = out.rendered.subject
    msg["Date"] = format_datetime(out.date.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(out.key, domain_of(out.sender_address))
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(out.rendered.text, cte="quoted-printable")
    msg.add_alternative(out.rendered.html, subtype="html", cte="quoted-printable")
    if out.calendar is not None:
        msg.add_alternative(
            out.calendar.ics.decode(),
            subtype="calendar",
            cte="base64",
            params={"method": out.calendar.method},
        )
    if out.calendar is not None or out.attachments:
        msg.make_mixed()
    if out.calendar is not None:
        msg.add_attachment(
            out.calendar.ics,
            maintype="application",
            subtype="ics",
            filename="invite.ics",
            params={"name": "invite.ics"},
        )
    for item in out.attachments:
        msg.add_attachment(
            item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    # boundaries from the key, so the same send always has the same bytes (golden tests)
    seed = hashlib.sha256(out.key.encode()).hexdigest()[:24]
    for number, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_mm_{seed}_{number}")
    return msg


def to_bytes(msg: EmailMessage) -> bytes:
    """The exact bytes to send: CRLF line ends, no bare LF."""
    return msg.as_bytes(policy=SMTP_POLICY)
