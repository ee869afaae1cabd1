"""Who vouches for a message's sender (pure): the `Authentication-Results` header that the
program's own receiving server added (RFC 8601), and nothing else.

A From header is just text: anyone can write an organizer's address in it, and any
`Authentication-Results` header below the one our server adds may be forged too, since it came
with the message. So only the topmost header whose authserv-id is one of `[imap]
authserv_ids` counts (`*`: the topmost header whatever it names — Microsoft 365 writes none).
The sender is authenticated when that header says DMARC passed for the From domain, or DKIM
passed for a domain aligned with it (the same, or one a subdomain of the other), or SPF passed
for an aligned envelope sender. Anything else, a missing header included, is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROPERTY = re.compile(r"\b(header\.[a-z]+|smtp\.[a-z]+)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)
ANY = "*"


@dataclass(frozen=True)
class Verdict:
    checked: bool  # the receiving server is known ([imap] authserv_ids): its verdict counts
    authenticated: bool  # it vouches for the From domain
    reason: str  # for logs and organizers: what it said, or what was missing


UNCHECKED = Verdict(False, False, "no authserv-id configured: the From header is not checked")


def authenticate(
    headers: Sequence[str], sender: str | None, authserv_ids: Sequence[str]
) -> Verdict:
    """The verdict of the topmost `Authentication-Results` header (of `headers`, in the order
    they are in the message) written by one of `authserv_ids`, for the From address `sender`."""
    if not authserv_ids:
        return UNCHECKED
    wanted = {i.lower() for i in authserv_ids}
    for header in headers:
        text = _COMMENT.sub(" ", " ".join(header.split()))
        first, _, rest = text.partition(";")
        server = first.split()[0].lower() if first.split() else ""
        if ANY in wanted:  # Microsoft 365: no authserv-id, the results start at once
            results = text if "=" in first else rest
        elif server in wanted:
            results = rest
        else:
            continue
        return _verdict(results, sender, server if "=" not in first else "(no authserv-id)")
    return Verdict(True, False, "no Authentication-Results from our receiving server")


def _verdict(results: str, sender: str | None, server: str) -> Verdict:
    domain = sender.rsplit("@", 1)[1].lower() if sender and "@" in sender else ""
    if not domain:
        return Verdict(True, False, "no single From address")
    said = []
    for part in results.split(";"):
        found = _RESULT.match(part)
        if found is None:
            continue
        method, result = found[1].lower(), found[2].lower()
        properties = {k.lower(): v.lower() for k, v in _PROPERTY.findall(found[3])}
        said.append(f"{method}={result}")
        if result != "pass":
            continue
        if method == "dmarc" and _aligned(properties.get("header.from", domain), domain):
            return Verdict(True, True, f"{server}: dmarc=pass for {domain}")
        if method == "dkim":
            signer = properties.get("header.d") or properties.get("header.i", "").split("@")[-1]
            if signer and _aligned(signer, domain):
                return Verdict(True, True, f"{server}: dkim=pass for {signer}")
        if method == "spf":
            envelope = properties.get("smtp.mailfrom", "").split("@")[-1]
            if envelope and _aligned(envelope, domain):
                return Verdict(True, True, f"{server}: spf=pass for {envelope}")
    return Verdict(True, False, f"{server}: {' '.join(said) or 'no result'} for {domain}")


def _aligned(one: str, other: str) -> bool:
    """The same domain, or one a subdomain of the other (DMARC's relaxed alignment, without
    the public suffix list: two different subdomains of one organization do not align)."""
    one, other = one.strip(".").lower(), other.strip(".").lower()
    return one == other or one.endswith("." + other) or other.endswith("." + one)
