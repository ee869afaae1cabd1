"""An answer stays in the thread of the mail it answers (pure): the subject is theirs with
"Re: " before it, as a person's reply would have it, and In-Reply-To and References name their
message (RFC 5322 3.6.4: their References, then their Message-ID), so Gmail, Outlook and Apple
Mail show it under their message instead of as a new conversation.

Their subject and Message-IDs come from outside: the subject only ever goes through
`header_safe` (no line breaks, no controls) and is cut at MAX_SUBJECT; a Message-ID is kept
only when it is one plain `<…>` token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daemon.mail.render import header_safe

MAX_SUBJECT = 200
MAX_REFERENCES = 10  # the first (the thread's root) and the latest ones
MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
# what clients write before a subject they answer: Re, and Outlook's in other languages
_REPLIED = re.compile(r"^(?:re|aw|antw|sv|vs|r|rif|ref|réf|ré|res|odp)\s*(?:\[\d+\])?\s*:", re.I)


@dataclass(frozen=True)
class Thread:
    """Where an answer goes in a conversation: empty for mail that starts one."""

    subject: str = ""  # "Re: <their subject>", or "" to keep our own
    in_reply_to: str = ""
    references: tuple[str, ...] = ()


def reply_thread(answer: Mapping[str, Any], in_reply_to: str) -> Thread:
    """The thread of an answer to the message `in_reply_to`, from what the reader kept of it
    in the answer's JSON: "thread" = {"subject": their subject, "references": In-Reply-To
    first, then References nearest first}. Empty unless it answers a Message-ID."""
    if not MSG_ID.fullmatch(in_reply_to):
        return Thread()
    found = answer.get("thread")
    found = found if isinstance(found, Mapping) else {}
    read = found.get("references")
    chain = [
        r for r in reversed(read if isinstance(read, list | tuple) else [])
        if isinstance(r, str) and MSG_ID.fullmatch(r) and r != in_reply_to
    ]  # fmt: skip
    chain = list(dict.fromkeys(chain))
    if len(chain) >= MAX_REFERENCES:
        chain = [chain[0], *chain[len(chain) - MAX_REFERENCES + 2 :]]
    subject = found.get("subject")
    theirs = reply_subject(subject if isinstance(subject, str) else "")
    return Thread(theirs, in_reply_to, (*chain, in_reply_to))


def reply_subject(theirs: str) -> str:
    """ "Re: " and their subject; "" when they wrote none (our own subject is kept)."""
    subject = header_safe(theirs)
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1].rstrip() + "…"
    if not subject:
        return ""
    return subject if _REPLIED.match(subject) else f"Re: {subject}"
