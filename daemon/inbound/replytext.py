"""What a reply says: the person's own text (quotes.py), the answers to the form the request
carried, and the check-in's yes or no (yesno.py).

Form answers are read from "Label: answer" lines, as the request suggests ("You can copy these
lines into your reply and write your answer after each one"), from an interleaved reply that
types the answer under the quoted line of the form, and from answers typed into the quoted
form lines themselves.

The check-in's answer is the answer to the form's own yes/no question when the person gave
one: a request whose form begins with a yes/no field ("Did your group meet? (yes/no)") asks
its question there, so "- Did your group meet? (yes/no): yes" answers it — before, that was
read as the field and the check-in's answer stayed unknown, and counted for nothing. Without
it, the whole new text is read (yesno.decide); a form answer that is not a clear yes or no
leaves the decision to the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daemon.inbound import quotes, yesno
from daemon.inbound.events import FieldSpec, FormSpec
from daemon.inbound.yesno import Cue, Verdict

Names = list[tuple[str, str, bool]]  # (label or id as written, field id, label closed by ?/))
_BULLETS = "-*•·◦▪‣–"


@dataclass(frozen=True)
class Reply:
    text: str  # the person's own text
    fields: dict[str, str]  # form field id -> answer
    verdict: Verdict  # the check-in's yes, no or unknown, and the words that made it


def read_reply(text: str, form: FormSpec | None) -> Reply:
    found = quotes.blocks(text)
    own = "\n\n".join("\n".join(block.lines) for block in found)
    fields = form_fields(_with_asked(found, form), form)
    fields = _typed_into_quote(text, form) | fields  # what they wrote themselves first
    return Reply(own, fields, checkin_answer(own, fields, form))


def _typed_into_quote(text: str, form: FormSpec | None) -> dict[str, str]:
    """Answers typed into the quoted request itself ("> - Did your group meet? (yes/no): yes"),
    as a person editing the quote in their client leaves them: the request's form lines end at
    the label, so anything after a label on a once-quoted line is theirs. Only that line is
    read (the rest of the quote is ours)."""
    if form is None or not form.fields:
        return {}
    names, kinds = _names(form.fields), {f.id: f.kind for f in form.fields}
    out: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(">") or stripped.startswith(">>"):
            continue
        said = stripped[1:].strip().lstrip(_BULLETS).strip()
        hit = _field_line(said, names) if said else None
        if hit is None or not hit[1] or hit[0] in out:
            continue
        value = hit[1]
        out[hit[0]] = (yes_or_no(value) or value) if kinds.get(hit[0]) == "yesno" else value
    return out


def new_text(text: str) -> str:
    """The reply's own text: quotes, attributions, old messages and signatures cut."""
    return quotes.new_text(text)


def yes_or_no(text: str) -> Literal["yes", "no"] | None:
    return yesno.decide(text).answer


def confirmation_answer(text: str) -> Literal["yes", "no"] | None:
    """A reply to a request to confirm a command: "no" also when it only opens with a negative
    word ("No idea what this is"); only a "yes" carries the command out (trust.outcome)."""
    answer = yesno.decide(text).answer
    return "no" if answer == "no" or (answer is None and yesno.leading_no(text)) else answer


def checkin_answer(text: str, fields: dict[str, str], form: FormSpec | None) -> Verdict:
    question = _question(form)
    given = fields.get(question.id) if question else None
    for answer in ("yes", "no"):
        if question is not None and given == answer:
            return Verdict(answer, (Cue(answer, f"{question.label} {answer}"),))
    return yesno.decide(text)


def form_fields(text: str, form: FormSpec | None) -> dict[str, str]:
    """Answers to the form's fields, by field id: a line starting with a field's label (or id)
    and a colon or question mark begins its answer, which runs to the next field's line."""
    if form is None or not form.fields:
        return {}
    names = _names(form.fields)
    answers: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        stripped = line.strip().lstrip(_BULLETS).strip()
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


def _question(form: FormSpec | None) -> FieldSpec | None:
    """The form's own yes/no question: its first field, when that is a yes/no one."""
    first = form.fields[0] if form and form.fields else None
    return first if first is not None and first.kind == "yesno" else None


def _with_asked(found: list[quotes.Block], form: FormSpec | None) -> str:
    """The own text, each block under the quoted form line it answers, if it answers one
    ("> - Did your group meet? (yes/no):" then "Yes" typed below)."""
    names = _names(form.fields) if form else []
    out = []
    for block in found:
        asked = block.asked.lstrip(_BULLETS).strip()
        label = _field_line(asked, names) if names else None
        first = block.lines[0].strip().lstrip(_BULLETS).strip()
        if label is not None and not label[1] and _field_line(first, names) is None:
            out.append(asked)
        out += block.lines
    return "\n".join(out)


def _names(fields: tuple[FieldSpec, ...]) -> Names:
    names: Names = []
    for f in fields:
        # a label that ends in "?" or ")" is distinct enough to take an answer after a space:
        # "Did your group meet? (yes/no) yes", as someone fills in the copied line
        closed = f.label.rstrip().endswith(("?", ")"))
        names += [
            (f.label.lower().rstrip("?:. "), f.id, closed),
            (f.id.lower().replace("_", " "), f.id, False),
        ]
    names.sort(key=lambda n: -len(n[0]))  # the longest label wins ("goals" vs "goals met")
    return names


def _field_line(line: str, names: Names) -> tuple[str, str] | None:
    lower = line.lower()
    for name, field_id, closed in names:
        if name and lower.startswith(name):
            after = line[len(name) :]
            rest = after.lstrip()
            if rest[:1] in (":", "?") or (not rest and line.endswith((":", "?", ")"))):
                return field_id, rest.lstrip("?:").strip()  # "When did you meet?: …"
            if closed and after[:1].isspace():
                return field_id, rest.strip()
    return None
