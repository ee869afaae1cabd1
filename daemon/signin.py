"""`mentormail login`: sign in once to each mailbox login that uses OAuth2, keep the grant in
the state folder (0600), then log in to both servers with it to show that it works.

Which flow: the device code when the provider has a device endpoint (Microsoft 365), else a
browser sign-in redirected to 127.0.0.1 (Google); `--browser` asks for the latter anyway.
"""

from __future__ import annotations

import asyncio

from daemon.config.deployment import Deployment
from daemon.doctor.checks import imap_check, smtp_check
from daemon.doctor.grants import logins
from daemon.doctor.result import Check
from daemon.errors import UserError
from daemon.transport.connect import Servers
from daemon.transport.oauth.flows import Say, browser_sign_in, check_settings, device_sign_in
from daemon.transport.oauth.grants import Grant, Grants
from daemon.transport.oauth.tokens import wall_seconds


async def sign_in(
    deployment: Deployment,
    say: Say,
    *,
    user: str = "",
    browser: bool = False,
    port: int = 0,
    timeout: float = 900.0,
) -> list[Check]:
    """Sign in (each OAuth2 login, or `user`), save the grants, then check both servers."""
    settings = deployment.settings.oauth
    check_settings(settings)
    wanted = [user] if user else logins(deployment)
    if not wanted:
        raise UserError("no server signs in with OAuth2: set [smtp] and [imap] username")
    if browser and not settings.authorize_url:
        raise UserError("[oauth] authorize_url is not set: this provider has no browser sign-in")
    deployment.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    grants = Grants(deployment.state_dir)
    for login in wanted:
        if settings.device_url and not browser:
            response = await device_sign_in(settings, login, say)
        else:
            response = await browser_sign_in(settings, login, say, port=port, timeout=timeout)
        if not response.get("refresh_token"):
            raise UserError(
                "the provider gave no refresh token, so mentormail could not stay signed in: "
                "for Microsoft, keep offline_access in [oauth] scopes; for Google, remove "
                "mentormail's access in the account's security settings and sign in again"
            )
        grant = Grant(
            username=login, provider=settings.provider, client_id=settings.client_id,
            token_url=settings.token_url, scopes=settings.scopes,
            refresh_token=str(response["refresh_token"]),
        ).with_token(response, wall_seconds())  # fmt: skip
        path = grants.save(grant)
        say(f"Signed in as {login}; the grant is kept in {path} (readable by its owner only).")
    servers = Servers(deployment)
    return list(await asyncio.gather(smtp_check(servers), imap_check(servers)))
