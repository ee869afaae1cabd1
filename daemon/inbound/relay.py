"""Humans reach humans: what a participant writes that is not an answer mentormail can record
goes to the organizers (pure).

The rule (README, "What happens to a reply"):
- an answer to a check-in question (or a reply that counts for an open obligation) is a
  check-in: recorded, and the organizers see whether it counted, never its words;
- a command (HELP, STATUS, PAUSE, …) gets its result;
- anything else a participant writes — a question in reply to a weekly email, "can we move our
  meeting?", "I'd like to opt in" — is passed on to all the organizers, with Reply-To set to
  the participant's roster address so that answering it reaches them directly; the participant
  is told it was passed on, and to whom.

Only the new text is passed on (the quoted message and the signature are cut), as text: it is
shown inert (never a link, an image or markup), under a line saying who wrote it — the name
and address from the roster, never the mail's own display name. When our receiving server did
not vouch for the sender and the mail did not answer a token sent to them, the organizers are
told so: the roster address in Reply-To still reaches the real person.
"""

from __future__ import annotations

from typing import Any

from daemon.inbound.events import PersonRef
from daemon.ledger.records import Intent
from daemon.program.instance import Program
from daemon.program.people import names_and

MAX_CHARS = 20_000  # of a passed-on message; the rest is in the program's mailbox


def relayed(
    program: Program,
    person: PersonRef | None,
    text: str,
    subject: str,
    *,
    verified: bool,
    key: str,
) -> tuple[Intent, dict[str, Any]]:
    """The message to the organizers, and the answer telling the participant where it went."""
    address = person.address if person else ""
    name = " ".join((person.name if person else address).split())  # one line, for the subject
    body = text.strip()
    cut = len(body) > MAX_CHARS
    lines = (body[:MAX_CHARS] if cut else body).splitlines()
    relay = {
        "kind": "relay",
        "subject": f"From {name}: a message for the organizers",
        "name": name,
        "email": address,
        "reply_to": address,
        "subject_was": subject.strip()[:200],
        "lines": lines,
        "cut": cut,
        "verified": verified,
    }
    who = names_and([o.name for o in program.organizers])
    note = (
        "It does not answer anything open for you, so it was passed on to the organizers"
        + (f" ({who})" if who else "")
        + ": they will answer you directly."
    )
    answer = {"kind": "noted", "subject": "Passed on to the organizers", "note": note}
    return Intent(key, "", "", relay, "relay"), answer
