"""Doctor's checks of the OAuth2 sign-in, one per mailbox login: a grant is stored, it can be
renewed now (a real refresh at the token endpoint), and it carries the scopes the servers
need. The servers' own checks then log in with the renewed token. No token is ever shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.config.deployment import Deployment
from daemon.doctor.result import Check
from daemon.errors import GrantError

if TYPE_CHECKING:
    from daemon.transport.oauth.tokens import TokenSource

NOT_NEEDED = frozenset({"offline_access", "openid", "profile", "email"})  # not echoed back


def logins(deployment: Deployment) -> list[str]:
    """The mailbox logins that use OAuth2, SMTP's first."""
    s = deployment.settings
    found = [c.username for c in (s.smtp, s.imap) if c.auth == "oauth2" and c.username]
    if not s.imap.host and s.imap.username in found[1:]:
        found.remove(s.imap.username)
    return list(dict.fromkeys(found))


async def grant_checks(deployment: Deployment, tokens: TokenSource) -> list[Check]:
    return [await _check(tokens, user, deployment) for user in logins(deployment)]


async def _check(tokens: TokenSource, user: str, deployment: Deployment) -> Check:
    provider = deployment.settings.oauth.provider
    grant = tokens.grants.load(user)
    if grant is None:
        return Check("oauth", False, f"{user}: not signed in ({provider})",
                     f"run `mentormail login` and sign in as {user}")  # fmt: skip
    try:
        await tokens.bearer(user, renew=True)
    except GrantError as error:
        fix = f"run `mentormail login` and sign in as {user}" if error.needs_login else (
            "check that this machine reaches the token endpoint; try again")  # fmt: skip
        return Check("oauth", False, str(error), fix)
    renewed = tokens.grants.load(user)
    assert renewed is not None
    wanted = set(deployment.settings.oauth.scopes) - NOT_NEEDED
    missing = sorted(wanted - set(renewed.scopes))
    if missing:
        return Check(
            "oauth", False, f"{user}: the sign-in lacks {' '.join(missing)}",
            "grant these permissions to the app (an administrator may have to consent), "
            f"then run `mentormail login` as {user} again",
        )  # fmt: skip
    minutes = (renewed.expires_at - renewed.obtained_at) / 60
    return Check(
        "oauth", True,
        f"{user}: signed in ({provider}); token renewed now, valid {minutes:.0f} min; "
        f"scopes {' '.join(renewed.scopes) or '(not stated)'}",
    )  # fmt: skip
