"""How mail clients mark, line by line, what a person did not write in a reply: attribution
lines ("On … wrote:", "Am … schrieb …:", "Le … a écrit :", "El … escribió:", "Quoting …:"),
the header block or separator above an unquoted copy of the old message (Outlook, Exchange,
forwards), and the start of a signature ("-- ", "Sent from my iPhone", "Von meinem iPhone
gesendet"). quotes.py applies them. Only our own patterns are compiled; a person's text is
matched against them, never turned into one.

mail-parser-reply is used where it is right: its table of Outlook header labels in ten
languages ("From:/Sent:", "Von:/Gesendet:", "De :/Envoyé :", "De:/Enviado:"…), its
"-----Original Message-----" separator and its "sent from" lines. Its reply splitter is not
used: it keeps only what stands above the first attribution, so a bottom-posted or interleaved
answer is lost (it returns the quote, or nothing); its Spanish "escribió:" needs two spaces,
its French "a écrit :" misses the no-break spaces Gmail puts there; it knows neither "Quoting"
nor "X schrieb am …:"; and its "On … wrote:" pattern backtracks quadratically on a long line
starting with "On" — hostile input. Our attribution patterns are anchored and bounded by
MAX_LINE.
"""

from __future__ import annotations

import re

from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs")
MAX_LINE = 400  # longer lines are never an attribution, a header or a signature
HEADER_WINDOW = 6  # lines a header block is looked for in

# no-break and zero-width spaces, byte-order marks and direction marks: as clients add them
INVISIBLE = str.maketrans(
    {"\xa0": " ", "\u202f": " ", "\u2007": " ", "\u200b": "", "\ufeff": "", "\u200e": "",
     "\u200f": "", "\u2060": ""}
)  # fmt: skip

_VERB = (
    r"(?:wrote|schrieb|a\s+[ée]crit|escribi[óo]|ha\s+scritto|schreef|skrev|napisa[łl](?:\(a\))?"
    r"|napsal(?:\(a\))?|pisze|escreveu)"
)
_OPENED = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # On Tue, Jul 27, 2021 at 7:00 PM X <x@y> wrote: / Le 27 juil. 2021 à 19:00, X a écrit :
        rf"^(?:on|am|le|el|il|op|den|dne|w dniu|em)\s.{{4,300}}?\s{_VERB}\s*:$",
        # Am 27.07.2021 um 19:00 schrieb X <x@y>:   (Apple Mail, Thunderbird, Gmail in German)
        r"^am\s.{4,300}?\bschrieb\b.{1,200}:$",
        # X <x@y> schrieb am Di., 27. Juli 2021, 19:00:   (Gmail for Android, Lotus Notes)
        r"^.{1,300}?\s(?:schrieb am|wrote on|a [ée]crit le|escribi[óo] el)\s.{1,200}:$",
        # Quoting X <x@y>:   (Horde, and webmails built on it)
        r"^(?:quoting|zitat von|citation de|citando a|citando|cytuj[ęe]|citaat van)\s.{1,300}:$",
    )
)
# X wrote:   (Thunderbird, mutt) — never the second half of a wrapped line: "Yes" + "X wrote:"
_NAMED = re.compile(rf"^.{{1,300}}?\s{_VERB}\s*:$", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^(?:-{2,}\s*(?:original message|urspr[üu]ngliche nachricht|original-nachricht"
    r"|message d'origine|mensaje original|forwarded message|weitergeleitete nachricht"
    r"|message transf[ée]r[ée]|mensaje reenviado|messaggio originale)\s*-{2,}"
    r"|begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]\s*:|inicio del mensaje reenviado:)$",
    re.IGNORECASE,
)
_LIBRARY_SEPARATOR = re.compile(GENERIC_MAIL_SEPARATOR, re.IGNORECASE)
_UNDERSCORES = re.compile(r"^_{10,}$")
# the first line of a header block: From, in the languages of LANGUAGES ("*From:*" in bold)
_FROM = re.compile(r"^\**\s*(?:from|von|de|da|van|od|fr[åa]n|fra)\s*\**\s*:", re.IGNORECASE)
# header labels the library's table misses (Outlook in Spanish writes "Enviado el:")
_LABEL = re.compile(
    r"^\**\s*(?:sent|to|cc|subject|date|gesendet|an|betreff|datum|envoy[ée]|[àa]|objet"
    r"|enviado(?: el)?|para|asunto|fecha)\s*\**\s*:",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"<[^<>\s@]{1,100}@[^<>\s@]{1,200}>|\([^()\s@]{0,2}<?[^<>\s@]{1,100}@")
_HEADER_BLOCK = re.compile(
    "|".join(MAIL_LANGUAGES[language]["from_header"] for language in LANGUAGES), re.IGNORECASE
)
_SENT_FROM = re.compile(
    r"^(?:--"
    r"|sent from (?:my|mail|outlook|yahoo)\b.{0,60}|get outlook for \w+.{0,60}"
    r"|von meinem \S+(?: \S+)? gesendet|gesendet von \S+.{0,60}"
    r"|outlook f[üu]r \w+ (?:beziehen|herunterladen).{0,40}"
    r"|envoy[ée] (?:de|depuis) (?:mon|ma|l'application|outlook) ?.{0,60}"
    r"|(?:obtenir|t[ée]l[ée]charger) outlook pour \w+.{0,40}"
    r"|enviado desde (?:mi|outlook) ?.{0,60}|(?:obtener|descargar) outlook para \w+.{0,40})$",
    re.IGNORECASE,
)
_LIBRARY_SENT_FROM = re.compile(  # one pattern: it is tried on every short line
    "^(?:"
    + "|".join(
        f"(?:{found})" for language in LANGUAGES
        if (found := MAIL_LANGUAGES[language].get("sent_from"))
    )
    + ")",
    re.IGNORECASE,
)  # fmt: skip
MAX_SIGNATURE_LINE = 80


def clean(line: str) -> str:
    """The line as it reads: invisible characters gone, no-break spaces plain, stripped."""
    return line.translate(INVISIBLE).strip()


def quoted(line: str) -> bool:
    return line.lstrip(" \t\xa0").startswith(">")


def attribution(line: str) -> bool:
    """ "On … wrote:" and its kin, in one line (`line` cleaned)."""
    if not line.endswith(":"):  # every one does (and most lines are quickly ruled out)
        return False
    return opened(line) or (len(line) <= MAX_LINE and _NAMED.match(line) is not None)


def opened(line: str) -> bool:
    """An attribution that begins as one ("On …", "Am …", "Quoting …", "X schrieb am …"): the
    only kind that may be wrapped over two lines."""
    return len(line) <= MAX_LINE and line.endswith(":") and any(p.match(line) for p in _OPENED)


def signature(line: str) -> bool:
    """The first line of a signature: "-- " or a client's "sent from" line (`line` cleaned)."""
    if len(line) > MAX_SIGNATURE_LINE:
        return False
    return bool(_SENT_FROM.match(line) or _LIBRARY_SENT_FROM.match(line))


def history(lines: list[str], i: int) -> bool:
    """Whether an unquoted copy of the old message starts at lines[i]: a separator, or a
    header block ("From: …" and at least one more header line), perhaps under a line of
    underscores (Outlook on the web)."""
    line = clean(lines[i])
    if len(line) > MAX_LINE or not (":" in line or line.startswith(("-", "_"))):
        return False  # every separator and header block has one of these
    if _SEPARATOR.match(line) or _LIBRARY_SEPARATOR.match(line):
        return True
    if _UNDERSCORES.match(line):
        following = [n for n in range(i + 1, min(i + 3, len(lines))) if clean(lines[n])]
        return bool(following) and _header_block(lines, following[0])
    return _header_block(lines, i)


def _header_block(lines: list[str], i: int) -> bool:
    if not _FROM.match(clean(lines[i])):
        return False
    window = "\n".join(clean(line)[:MAX_LINE] for line in lines[i : i + HEADER_WINDOW])
    if _HEADER_BLOCK.match(window) is not None:
        return True
    following = (clean(line)[:MAX_LINE] for line in lines[i + 1 : i + HEADER_WINDOW])
    return sum(_LABEL.match(line) is not None for line in following) >= 2


def introduces(line: str, following: str) -> bool:
    """A line of another shape that names an address and ends in ":" right above a quote
    ("2021-07-28 18:14 GMT+02:00 X <x@y>:"): it introduces the quote (both cleaned)."""
    return (
        len(line) <= MAX_LINE and line.endswith(":") and quoted(following)
        and _ADDRESS.search(line) is not None
    )  # fmt: skip
