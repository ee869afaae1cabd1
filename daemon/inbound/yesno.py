"""Yes, no or unknown from what a person wrote (pure, table-driven: yesno_words.py).

People do not start with "yes": they write "Status update: we met on Tuesday", "Sorry, we
couldn't meet", "Wir haben uns nicht getroffen" or "Replying from my other account – yes". So
the whole text is read, clause by clause (split at punctuation, dashes and "but"), and every
clause may give a cue: a reply word ("yes", "nein", "pas encore"), a verb of meeting
("met", "getroffen", "rencontrés", "reunimos") — "no" when a negator stands before it with
nothing but filler words between ("didn't meet", "no hemos podido reunirnos"), nothing when
it is planned ("we'll meet", "nos reunimos la próxima semana") or conditional ("if we meet")
— or a failure ("cancelled", "abgesagt").
Questions (a clause ending in "?", such as a copied form line) give none.

The answer is the one all cues agree on; without a cue, or with cues for both, it is unknown
— never guessed. A `Verdict` keeps the cues, so every decision says which words made it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from daemon.inbound import yesno_words as words

Answer = Literal["yes", "no"]
Phrase = tuple[str, ...]
MAX_CHARS = 20_000  # an answer is written near the top; the work stays bounded

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "´": "'"})
_NOT = re.compile(r"n't\b")
_OPTIONS = re.compile(r"\b(?:yes|ja|oui|sí|si)\s*/\s*(?:no|nein|non)\b")  # a copied "(yes/no)"
_BOUNDARY = re.compile(
    r"\?+|[.!;:,()\[\]\n…¡¿\"“”«»]+|\s[-–—]+\s|\b(?:but|aber|mais|pero|sondern|sino|however)\b"
)
_WORD = re.compile(r"[^\W\d_]+|\U0001f44d|\u2705|\u2714\ufe0f?|\U0001f44e|\u274c")
BEFORE, AFTER, AHEAD = 6, 3, 4  # how many words a negator, a late negator, a "next" reach
PLAN_REACH = 8  # how many words before a verb a plan or a condition reaches (bounded work)


@dataclass(frozen=True)
class Cue:
    answer: Answer
    words: str  # the person's words that gave it, normalised ("not … meet")


@dataclass(frozen=True)
class Verdict:
    answer: Answer | None
    cues: tuple[Cue, ...] = ()

    def explain(self) -> str:
        """ "no: 'not … meet'", "unknown: 'yes' and 'not yet'", "unknown: no yes or no". Only
        words of the tables (yesno_words) or of the form's label appear: nothing else a person
        wrote, so it may be logged."""
        if not self.cues:
            return "unknown: no yes or no"
        said = " and ".join(f"'{w}'" for w in dict.fromkeys(c.words for c in self.cues))
        return f"{self.answer or 'unknown'}: {said}"


def _table(phrases: Iterable[str]) -> frozenset[Phrase]:
    return frozenset(tuple(_WORD.findall(p)) for p in phrases)


REPLY_YES, REPLY_NO = _table(words.REPLY_YES), _table(words.REPLY_NO)
WHOLE_YES, WHOLE_NO = _table(words.WHOLE_YES) | REPLY_YES, _table(words.WHOLE_NO) | REPLY_NO
NOT_YET, FAILED = _table(words.NOT_YET), _table(words.FAILED)
MET, MEET, IDIOMS = _table(words.MET), _table(words.MEET), _table(words.IDIOMS)
PLANS, CONDITIONS = _table(words.PLANS), _table(words.CONDITIONS)
NEGATORS, AFTER_NEGATORS = frozenset(words.NEGATORS), frozenset(words.AFTER_NEGATORS)
FILLERS = frozenset(words.FILLERS)
AHEAD_WORDS = frozenset(words.AHEAD)
TABLES = (WHOLE_YES, WHOLE_NO, NOT_YET, FAILED, MET, MEET, IDIOMS, PLANS, CONDITIONS)
LONGEST = max(len(phrase) for table in TABLES for phrase in table)


def decide(text: str) -> Verdict:
    """The answer in `text`, and the cues that gave it."""
    cues = [cue for clause in clauses(text) for cue in _cues(_without_idioms(clause))]
    answers = {c.answer for c in cues}
    return Verdict(answers.pop() if len(answers) == 1 else None, tuple(cues))


def leading_no(text: str) -> bool:
    """Whether the first clause opens with a negative word, idioms included ("No idea what
    this is"): a request to confirm is declined by that even when the rest says nothing."""
    first = next(iter(clauses(text)), [])
    found = _prefix(first, REPLY_YES | REPLY_NO)
    return bool(first) and (tuple(first) in WHOLE_NO or (found is not None and found in REPLY_NO))


def clauses(text: str) -> list[list[str]]:
    """The words of each clause that is not a question, normalised (see yesno_words)."""
    prepared = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower().translate(_APOSTROPHES)
    prepared = _OPTIONS.sub(" ", _NOT.sub(" not", prepared)).replace("cannot", "can not")
    out, start = [], 0
    for boundary in [*_BOUNDARY.finditer(prepared), None]:
        end = boundary.start() if boundary else len(prepared)
        question = boundary is not None and boundary.group().startswith("?")
        found = _WORD.findall(prepared[start:end])
        if found and not question:
            out.append(found)
        start = boundary.end() if boundary else end
    return out


def _cues(clause: list[str]) -> list[Cue]:
    whole = tuple(clause)
    if whole in WHOLE_YES or whole in WHOLE_NO:
        return [Cue("yes" if whole in WHOLE_YES else "no", " ".join(whole))]
    cues = []
    opening = _prefix(clause, REPLY_YES | REPLY_NO)
    if opening is not None:
        cues.append(Cue("yes" if opening in REPLY_YES else "no", " ".join(opening)))
    if len(clause) > 1 and clause[-1] in (*words.END_YES, *words.END_NO):
        cues.append(Cue("yes" if clause[-1] in words.END_YES else "no", clause[-1]))
    cues += [Cue("no", " ".join(clause[s:e])) for s, e in _find(clause, NOT_YET | FAILED)]
    for s, e in _find(clause, MET | MEET):
        negator = _negator(clause, s, e)
        if _conditional(clause, s):
            continue
        if negator:
            cues.append(Cue("no", f"{negator} … {' '.join(clause[s:e])}"))
        elif tuple(clause[s:e]) in MET and not _planned(clause, s, e):
            cues.append(Cue("yes", " ".join(clause[s:e])))
    return cues


def _negator(clause: list[str], s: int, e: int) -> str:
    """The negator of the verb at clause[s:e], if any: up to BEFORE words before it, or one of
    AFTER_NEGATORS up to AFTER words after ("wir trafen uns nicht"), with nothing between but
    FILLERS ("didn't get a chance to meet"; not "can't find the meeting link"). French
    "ne … que" is "only", not "not": "on ne s'est vus qu'une fois" met."""
    before: list[str] = []
    for word in reversed(clause[max(0, s - BEFORE) : s]):
        if word in NEGATORS:
            before.append(word)
        elif word not in FILLERS:
            break
    after = ""
    for word in clause[e : e + AFTER]:
        if word in AFTER_NEGATORS:
            after = word
            break
        if word not in FILLERS:
            break
    only = {"que", "qu"} & set(clause[e : e + AHEAD])
    if before and set(before) <= {"ne", "n"} and not after and only:
        return ""
    return before[0] if before else after


def _planned(clause: list[str], s: int, e: int) -> bool:
    """A plan before the verb ("we will have met") or a time ahead just after it."""
    before = clause[max(0, s - PLAN_REACH) : s]
    return bool(_find(before, PLANS)) or bool(AHEAD_WORDS & set(clause[e : e + AHEAD]))


def _conditional(clause: list[str], s: int) -> bool:
    return bool(_find(clause[max(0, s - PLAN_REACH) : s], CONDITIONS))


def _prefix(clause: list[str], table: frozenset[Phrase]) -> Phrase | None:
    """The longest phrase of `table` the clause begins with."""
    for length in range(min(len(clause), LONGEST), 0, -1):
        if (head := tuple(clause[:length])) in table:
            return head
    return None


def _find(clause: list[str], table: frozenset[Phrase]) -> list[tuple[int, int]]:
    """Where the phrases of `table` occur, longest first at each word, not overlapping."""
    found, i = [], 0
    while i < len(clause):
        for length in range(min(len(clause) - i, LONGEST), 0, -1):
            if tuple(clause[i : i + length]) in table:
                found.append((i, i + length))
                i += length - 1
                break
        i += 1
    return found


def _without_idioms(clause: list[str]) -> list[str]:
    """The clause without idioms whose negative word denies nothing ("no problem")."""
    spans = _find(clause, IDIOMS)
    dropped = {i for s, e in spans for i in range(s, e)}
    return [w for i, w in enumerate(clause) if i not in dropped]
