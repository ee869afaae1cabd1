"""The pure half of reading mail over IMAP: which FETCH commands to send for messages of known
sizes (memory stays bounded whatever arrives), and what their replies hold, as aioimaplib keeps
them (imap.py sends the commands; protocol-reliability.md §4 gives the rules)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

FETCH_BYTES = 16 * 1024 * 1024  # bodies per FETCH command, at most (one larger goes alone)

_FETCH = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_BODY = re.compile(rb"BODY\[(?:HEADER)?\] \{(\d+)\}$")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes  # the message exactly as the server holds it; its header only unless `whole`
    size: int = -1  # RFC822.SIZE, as the server reports it
    whole: bool = True  # False: over the size limit, not downloaded


def uid_set(uids: Sequence[int]) -> str:
    """Ascending UIDs as an IMAP sequence set with ranges: [3, 4, 5, 9] -> "3:5,9"."""
    ranges: list[list[int]] = []
    for uid in uids:
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def fetch_plan(
    sizes: dict[int, int], max_bytes: int | None, batch: int
) -> list[tuple[list[int], bool]]:
    """The FETCH commands for messages of these sizes, in UID order: (UIDs, whole). Bodies go
    `batch` at a time and under FETCH_BYTES together (a bigger one alone); one over
    `max_bytes` has only its header fetched, alone."""
    plan: list[tuple[list[int], bool]] = []
    group: list[int] = []
    total = 0
    for uid, size in sorted(sizes.items()):
        too_large = max_bytes is not None and size > max_bytes
        if group and (too_large or len(group) >= batch or total + size > FETCH_BYTES):
            plan.append((group, True))
            group, total = [], 0
        if too_large:
            plan.append(([uid], False))
            continue
        group.append(uid)
        total += size
    if group:
        plan.append((group, True))
    return plan


def parse_sizes(lines: Sequence[bytes], wanted: Collection[int]) -> dict[int, int]:
    """{UID: RFC822.SIZE} from the untagged lines of a `UID FETCH (UID RFC822.SIZE)` reply;
    unsolicited FETCHes of other messages are left out."""
    sizes: dict[int, int] = {}
    for item in lines:
        line = bytes(item)
        uid, size = _UID.search(line), _SIZE.search(line)
        if _FETCH.match(line) and uid and size and int(uid[1]) in wanted:
            sizes[int(uid[1])] = int(size[1])
    return sizes


def parse_fetch(lines: Sequence[bytes]) -> list[Fetched]:
    """(UID, body) pairs from the untagged lines of a `UID FETCH (UID BODY.PEEK[])` reply as
    aioimaplib keeps them: "n FETCH (UID u BODY[] {size}", the literal, then ")" (the UID may
    also follow the literal). Unsolicited FETCHes (flag changes) carry no body and are skipped."""
    found: list[Fetched] = []
    uid: int | None = None
    body: bytes | None = None
    size: int | None = None  # the next item is a literal of this size
    for item in lines:
        line = bytes(item)
        if size is not None:
            body, size = (line if len(line) == size else None), None
            continue
        if _FETCH.match(line):
            if uid is not None and body is not None:
                found.append(Fetched(uid, body))
            uid = body = None
        if match := _UID.search(line):
            uid = int(match[1])
        if match := _BODY.search(line):
            size = int(match[1])
    if uid is not None and body is not None:
        found.append(Fetched(uid, body))
    return found
