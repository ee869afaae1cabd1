"""What an SMTP reply means for one message: the outcome table (see daemon/transport/smtp.py)
and the result a send returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Phase = Literal["connect", "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", "end"]
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_QUOTA = re.compile(
    r"quota|rate[ -]?limit|(?:daily|hourly|sending|send|relay|message) (?:\w+ )?limit|throttl"
    r"|too many (?:messages|mails|emails|connections|concurrent|sessions|login|auth)",
    re.IGNORECASE,
)
_PAUSE = ((450, "4.2.1"), (550, "5.4.5"))


class Outcome(Enum):
    SENT = "sent"  # accepted (for at least one recipient)
    RETRY = "retry"  # not accepted, temporary: send again later
    FAILED = "failed"  # not accepted, permanent
    UNKNOWN = "unknown"  # the final dot went out, no reply came: maybe delivered, never resend
    PAUSE = "pause"  # not accepted: provider quota or back-pressure, pause all sending


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: int | None
    detail: str  # server text, no secrets
    refused: tuple[str, ...] = ()  # recipients refused while others were accepted
    session: bool = False  # the connection, TLS or login failed: no message can go now
    signin: bool = False  # the OAuth2 sign-in is missing or withdrawn: `mentormail login`

    @property
    def described(self) -> str:
        """The detail with the reply code in front, unless it names it already (or none)."""
        if self.code is None or str(self.code) in self.detail.replace(":", " ").split():
            return self.detail
        return f"{self.code} {self.detail}"


def classify(phase: Phase, code: int, text: str) -> Outcome:
    """The outcome of a server reply; see the table in the module docstring."""
    if phase == "end" and 200 <= code < 300:
        return Outcome.SENT
    enhanced = _ENHANCED.match(text)
    status, rcpt = ".".join(enhanced.groups()) if enhanced else "", phase == "RCPT TO"
    ours = not (status[1:].startswith((".1.", ".2.2")) or "mailbox" in text.lower())
    quota = code >= 400 and ours and (enhanced or not rcpt) and _QUOTA.search(text)
    if quota or code in (421, 454) or (code, status) in _PAUSE or (code == 452 and not rcpt):
        return Outcome.PAUSE
    if code == 552 and rcpt:
        return Outcome.RETRY
    return Outcome.FAILED if 500 <= code < 600 else Outcome.RETRY


def clean_reply(text: str) -> str:
    text = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= 400 else text[:399] + "…"
