"""What a person actually wrote in a reply: the quoted history and the signature removed (the
mail-parser-reply library knows the "On … wrote:" lines of many languages and mail clients),
form fields read from "Label: answer" lines, and a yes or no from the first words."""

from __future__ import annotations

import re
from typing import Literal

from mailparser_reply import EmailReplyParser

from daemon.inbound.events import FormSpec

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs"]
_PARSER = EmailReplyParser(languages=LANGUAGES)
_SIGNATURE = re.compile(
    r"^(?:-- ?|—|sent from my \w+.*|von meinem \w+ gesendet.*|envoyé de mon \w+.*"
    r"|enviado desde mi \w+.*|get outlook for \w+.*)$",
    re.IGNORECASE,
)
# "On <date>, <someone> wrote:" in the languages the library may miss in some client's form
_ATTRIBUTION = re.compile(
    r"^(?:on|am|le|el|il|op|den|w dniu|dne)\b.{5,200}(?:wrote|schrieb|a [ée]crit|escribi[óo]"
    r"|ha scritto|schreef|skrev|napisa[łl]|napsal)\s*:?\s*$",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|y|done|we did|we have|we met|i did|ja|jawohl|oui|s[ií]|sim|tak"
    r"|absolutely|of course|definitely|certainly)\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:no|nope|not yet|n|nein|noch nicht|non|pas encore|todav[ií]a no|a[uú]n no|nie|nej"
    r"|we did not|we didn't|we have not|we haven't|i did not|i didn't|not really)\b",
    re.IGNORECASE,
)


def new_text(text: str) -> str:
    """The reply's own text: quotes and the signature cut."""
    try:
        latest = _PARSER.parse_reply(text)
    except (ValueError, IndexError, AttributeError, TypeError, re.error):  # keep the whole text
        latest = text
    latest = latest if latest is not None else text
    lines = []
    for line in latest.splitlines():
        if _SIGNATURE.match(line.strip()) or _ATTRIBUTION.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines).strip()


def yes_or_no(text: str) -> Literal["yes", "no"] | None:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = first.lstrip("-*• ").strip()
    if _NO.match(first):
        return "no"
    if _YES.match(first):
        return "yes"
    return None


def form_fields(text: str, form: FormSpec | None) -> dict[str, str]:
    """Answers to the form's fields, by field id: a line starting with a field's label (or id)
    and a colon or question mark begins its answer, which runs to the next field's line."""
    if form is None or not form.fields:
        return {}
    names: list[tuple[str, str, bool]] = []
    for f in form.fields:
        # a label that ends in "?" or ")" is distinct enough to take an answer after a space:
        # "Did your group meet? (yes/no) yes", as someone fills in the copied line
        closed = f.label.rstrip().endswith(("?", ")"))
        names += [
            (f.label.lower().rstrip("?:. "), f.id, closed),
            (f.id.lower().replace("_", " "), f.id, False),
        ]
    names.sort(key=lambda n: -len(n[0]))  # the longest label wins ("goals" vs "goals met")
    answers: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        stripped = line.strip().lstrip("-*•").strip()
        hit = _field_line(stripped, names)
        if hit is not None:
            current, rest = hit
            answers[current] = [rest] if rest else []
        elif current is not None:
            answers[current].append(stripped)
    kinds = {f.id: f.kind for f in form.fields}
    out = {}
    for field_id, parts in answers.items():
        value = "\n".join(parts).strip()
        if kinds.get(field_id) == "yesno":
            value = yes_or_no(value) or value
        if value:
            out[field_id] = value
    return out


def _field_line(line: str, names: list[tuple[str, str, bool]]) -> tuple[str, str] | None:
    lower = line.lower()
    for name, field_id, closed in names:
        if name and lower.startswith(name):
            after = line[len(name) :]
            rest = after.lstrip()
            if rest[:1] in (":", "?") or (not rest and line.endswith((":", "?", ")"))):
                return field_id, rest[1:].strip()
            if closed and after[:1].isspace():
                return field_id, rest.strip()
    return None
