"""`mentormail preview --participant EMAIL`: every mail planned for one person, composed as it
would go (its planned Date:, the person's own times, the invitation's calendar), written as
`.eml` and `.html` — and `.ics` for an invitation — to open before the program starts.

Nothing is sent or recorded and no store is created. Reminders and overdue notices are shown
although a pass sends them only to those who have not answered; a digest shows sample
figures. The reply address carries the store's token key if there is a store, else a stand-in
(replies to a preview are not recognised).
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from daemon.config.deployment import Deployment
from daemon.decide.decision import Digest
from daemon.decide.sends import SENDABLE, Send
from daemon.errors import UserError
from daemon.mail.compose import Composer
from daemon.mail.samples import SAMPLE_DIGEST
from daemon.program.timeline import Action, plan
from daemon.program.timespec import zone
from daemon.store.sqlite import Store

MARKER = ".mentormail-preview"
STAND_IN_SECRET = bytes(32)


@dataclass(frozen=True)
class Written:
    action: Action
    subject: str
    eml: Path
    html: Path | None
    ics: Path | None


def person_of(deployment: Deployment, address: str) -> tuple[str, tuple[str, ...], str]:
    """(name, every address, time zone) of the participant or organizer at `address`."""
    program, wanted = deployment.program, address.lower()
    for p in program.participants:
        if wanted in {p.email.lower(), *map(str.lower, p.aliases)}:
            return p.name, (p.email, *p.aliases), p.timezone
    for o in program.organizers:
        if o.email.lower() == wanted:
            return o.name, (o.email,), o.timezone
    raise UserError(f"{address} is neither a participant nor an organizer")


def planned_for(timeline: list[Action], addresses: tuple[str, ...], item: str) -> list[Action]:
    """The mails planned for these addresses (of schedule item `item`, if given)."""
    wanted = {a.lower() for a in addresses}
    found = [
        a
        for a in timeline
        if a.kind in SENDABLE and a.template and wanted & {r.lower() for r in a.recipients}
    ]
    if item:
        chosen = [a for a in found if a.item == item]
        if not chosen:
            items = sorted({a.item for a in found})
            raise UserError(
                f"nothing planned of {item!r} for {addresses[0]}; their items: {', '.join(items)}"
            )
        found = chosen
    return found


def prepare(out: Path) -> None:
    """An empty folder, or one a previous preview made (its files cleared)."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise UserError(
                f"{out} is not empty and was not made by `mentormail preview`; "
                "choose another folder with --out"
            )
        for child in out.iterdir():
            if child.suffix in (".eml", ".html", ".ics") and child.is_file():
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `mentormail preview`; safe to delete\n")


def preview(
    deployment: Deployment, address: str, item: str, out: Path, say: Callable[[str], None]
) -> list[Written]:
    program = deployment.program
    name, addresses, timezone = person_of(deployment, address)
    tz = zone(timezone)
    timeline = plan(program)
    actions = planned_for(timeline, addresses, item)
    composer = Composer(program, timeline, _secret(deployment))
    prepare(out)
    say(
        f"{len(actions)} mails planned for {name} <{addresses[0]}>, written to {out}/ "
        f"(times in {timezone}):"
    )
    written = []
    for number, action in enumerate(actions, start=1):
        if action.item == "digest":
            sample = SAMPLE_DIGEST | {"week": action.occurrence}  # its figures are made up
            row = composer.digest(Digest(action, sample), action.at)
        else:
            row = composer.row(Send(action.key, action), action.at)[0]
        local = action.at.astimezone(tz)  # the day in a file's name is the reader's day
        stem = f"{number:03d}-{local:%Y%m%d}-{_slug(action.item)}-{action.occurrence}"
        written.append(_write(action, row.message, out / stem))
        files = " ".join(p.suffix for p in (written[-1].html, written[-1].ics) if p)
        say(f"  {local:%a %d %b %Y %H:%M}  {written[-1].subject}  -> {stem}.eml {files}")
    return written


def _write(action: Action, raw: bytes, stem: Path) -> Written:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    eml = stem.with_suffix(".eml")
    eml.write_bytes(raw)
    html = ics = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/html" and html is None:
            html = stem.with_suffix(".html")
            html.write_text(str(part.get_content()).replace("\r\n", "\n"), encoding="utf-8")
        elif kind == "text/calendar" and ics is None:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                ics = stem.with_suffix(".ics")
                ics.write_bytes(payload)
    return Written(action, str(message["Subject"] or ""), eml, html, ics)


def _secret(deployment: Deployment) -> bytes:
    store = Store.reader(deployment.state_dir)
    if store is None:
        return STAND_IN_SECRET
    try:
        value = store.value("reply-token")
    finally:
        store.close()
    return bytes.fromhex(value) if value else STAND_IN_SECRET


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "mail"
