"""Access tokens for the mail servers: from the stored grant, refreshed before they expire.

`TokenSource.bearer(username)` gives a live access token for that mailbox login. The token is
refreshed (authlib, RFC 6749 §6) when less than LEEWAY seconds of it are left, and at once
when a server refused it (535, AUTHENTICATIONFAILED: a token revoked or expired early). One
refresh at a time per login: SMTP connections and the mailbox share the result, and a token
refused by several connections at once is renewed once. A rotated refresh token is saved at once.

Failures are GrantError: `needs_login` when a person must run `mentormail login` (no grant,
`invalid_grant`: revoked, expired or the password changed; the client refused), otherwise the
token endpoint could not be reached and the next try may work. Token expiry is wall-clock time
(the authorization server's), read through daemon.clock, never a pass's virtual instant.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
    AsyncOAuth2Client,
    OAuthError,
)

from daemon import clock
from daemon.config.settings import OAuthSettings
from daemon.errors import GrantError
from daemon.transport.oauth.grants import Grant, Grants

log = logging.getLogger(__name__)

LEEWAY = 300.0  # refresh when less than this many seconds are left
TIMEOUT = 30.0  # seconds for one request to the token endpoint
# errors of the token endpoint a later try will not cure (RFC 6749 §5.2)
NEEDS_LOGIN = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope", "access_denied"}
)


def wall_seconds() -> float:
    return clock.now().timestamp()


def oauth_client(settings: OAuthSettings, timeout: float = TIMEOUT, **kw: Any) -> Any:
    """authlib's httpx client for the configured OAuth client (public, or with a secret)."""
    given = settings.client_secret
    secret = given.get_secret_value().strip() if given is not None else ""
    return AsyncOAuth2Client(
        client_id=settings.client_id,
        client_secret=secret or None,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        timeout=timeout,
        **kw,
    )


def login_hint(username: str) -> str:
    return f"run `mentormail login` to sign in as {username} again"


class TokenSource:
    """Live access tokens for the logins of one state folder; see the module docstring."""

    def __init__(
        self,
        settings: OAuthSettings,
        state_dir: Path,
        *,
        now: Callable[[], float] = wall_seconds,
        timeout: float = TIMEOUT,
    ) -> None:
        self.settings, self.grants = settings, Grants(state_dir)
        self._now, self._timeout = now, timeout
        self._locks: dict[str, asyncio.Lock] = {}

    async def bearer(self, username: str, *, refused: str = "", renew: bool = False) -> str:
        """A live access token for `username`. `refused`: a token a server just refused — a
        new one is wanted, unless another connection has renewed it meanwhile. `renew`: a new
        one whatever the old one's expiry (doctor's check)."""
        lock = self._locks.setdefault(username.lower(), asyncio.Lock())
        async with lock:
            grant = self.grants.load(username)
            if grant is None:
                raise GrantError(
                    f"mentormail has not been signed in to {username}: run `mentormail login`",
                    needs_login=True,
                )
            stale = refused and refused == grant.access_token
            if renew or stale or grant.expires_at - LEEWAY <= self._now():
                grant = await self.refresh(grant)
            return grant.access_token

    async def refresh(self, grant: Grant) -> Grant:
        """A new access token for `grant`, saved with any rotated refresh token."""
        try:
            async with oauth_client(self.settings, self._timeout) as client:
                token = await client.refresh_token(
                    grant.token_url,
                    refresh_token=grant.refresh_token,
                    scope=" ".join(grant.scopes) or None,
                )
        except OAuthError as exc:
            error = str(exc.error or "error")
            needs = error in NEEDS_LOGIN
            said = _said(error, str(exc.description or ""))
            fix = login_hint(grant.username) if needs else "it is tried again later"
            raise GrantError(
                f"the sign-in for {grant.username} could not be renewed ({said}): {fix}",
                needs_login=needs,
            ) from None
        except (httpx2.HTTPError, ValueError) as exc:
            raise GrantError(
                f"the token endpoint {grant.token_url} could not be used "
                f"({type(exc).__name__}: {_said('', str(exc))}); it is tried again later",
                needs_login=False,
            ) from None
        renewed = grant.with_token(dict(token), self._now())
        self.grants.save(renewed)
        log.info("access token for %s renewed (valid %d s)", grant.username,
                 renewed.expires_at - renewed.obtained_at)  # fmt: skip
        return renewed


def _said(error: str, description: str) -> str:
    """What the server said, one line, short (descriptions can run to paragraphs)."""
    text = " ".join(f"{error}: {description}".strip(": ").split())
    return text if len(text) <= 200 else text[:199] + "…"
