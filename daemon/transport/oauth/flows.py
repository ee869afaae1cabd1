"""The one-time sign-in that gives mentormail its OAuth2 grant (`mentormail login`).

- The device authorization grant (RFC 8628; Microsoft 365, and any provider with a device
  endpoint): mentormail shows a web address and a code; the person opens it on any device,
  signs in as the mailbox and allows access; mentormail polls the token endpoint meanwhile,
  `interval` seconds apart (more after `slow_down`), until the code expires.
- A browser sign-in with a loopback redirect (RFC 8252; Google, whose device flow does not
  allow the mail scope): mentormail listens on 127.0.0.1, shows the address to open, and
  receives the browser's redirect with the code, which it exchanges with PKCE (S256). On a
  server without a browser: forward the port (`ssh -L PORT:127.0.0.1:PORT server`) and open
  the address on the laptop, or sign in on the laptop and copy the grant file.

authlib speaks the token endpoint (client authentication, the grants, error responses) and
makes the PKCE pair and the authorization address; the loopback listener is a few lines of
asyncio that accept one redirect. The token response is returned, never printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import OAuthError  # type: ignore[import-untyped]

from daemon.config.settings import OAuthSettings
from daemon.errors import GrantError, UserError
from daemon.transport.oauth.tokens import oauth_client

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # RFC 8628 §3.2: when the server names none
Say = Callable[[str], None]


async def device_sign_in(
    settings: OAuthSettings,
    username: str,
    say: Say,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> dict[str, Any]:
    """The token response of a device authorization sign-in as `username`."""
    async with oauth_client(settings, scope=" ".join(settings.scopes)) as client:
        form = {"client_id": settings.client_id, "scope": " ".join(settings.scopes)}
        secret = settings.client_secret.get_secret_value().strip() if settings.client_secret else ""
        if secret:
            form["client_secret"] = secret
        try:
            reply = await client.request(
                "POST", settings.device_url, data=form, withhold_token=True
            )
            start = reply.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise GrantError(
                f"the device endpoint {settings.device_url} could not be used: "
                f"{type(exc).__name__}",
                needs_login=True,
            ) from None
        if not isinstance(start, dict) or "device_code" not in start:
            said = (
                start.get("error_description") or start.get("error")
                if isinstance(start, dict)
                else None
            )
            raise GrantError(
                f"the device endpoint refused: {said or reply.status_code}", needs_login=True
            )
        where = start.get("verification_uri") or start.get("verification_url")
        minutes = int(float(start.get("expires_in", 900)) // 60)
        say(
            f"To let mentormail use {username}: open {where} in a browser, enter the code "
            f"{start['user_code']} and sign in as {username} (within {minutes} minutes)."
        )
        interval = float(start.get("interval") or DEFAULT_INTERVAL)
        left = float(start.get("expires_in", 900))
        while left > 0:
            await sleep(interval)
            left -= interval
            try:
                token = await client.fetch_token(
                    settings.token_url,
                    grant_type=DEVICE_GRANT,
                    device_code=start["device_code"],
                )
                return dict(token)
            except OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5.0
                    continue
                raise _refused(exc) from None
            except (httpx2.HTTPError, ValueError) as exc:
                raise GrantError(
                    f"the token endpoint could not be used: {type(exc).__name__}", needs_login=True
                ) from None
    raise GrantError(
        "the code expired before the sign-in was done: run `mentormail login` again",
        needs_login=True,
    )


async def browser_sign_in(
    settings: OAuthSettings, username: str, say: Say, *, port: int = 0, timeout: float = 600.0
) -> dict[str, Any]:
    """The token response of a browser sign-in as `username`, redirected to 127.0.0.1."""
    redirects: asyncio.Queue[str] = asyncio.Queue()
    server = await asyncio.start_server(
        lambda r, w: _one_redirect(r, w, redirects), "127.0.0.1", port
    )
    async with server:
        port = server.sockets[0].getsockname()[1]
        redirect_uri = f"http://127.0.0.1:{port}/"
        verifier = generate_token(64)
        async with oauth_client(
            settings,
            redirect_uri=redirect_uri,
            scope=" ".join(settings.scopes),
            code_challenge_method="S256",
        ) as client:
            url, state = client.create_authorization_url(
                settings.authorize_url,
                code_verifier=verifier,
                login_hint=username,
                access_type="offline",
                prompt="consent",
            )
            say(
                f"To let mentormail use {username}: open this address in a browser on this "
                f"machine (or through `ssh -L {port}:127.0.0.1:{port}` to it), sign in as "
                f"{username} and allow access:\n\n    {url}\n"
            )
            try:
                async with asyncio.timeout(timeout):
                    answer = await redirects.get()
            except TimeoutError:
                raise GrantError(
                    f"no sign-in within {timeout / 60:.0f} minutes: run `mentormail login` again",
                    needs_login=True,
                ) from None
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer).query))
            if "error" in query:
                raise GrantError(f"the sign-in was not allowed: {query['error']}", needs_login=True)
            try:
                token = await client.fetch_token(
                    settings.token_url,
                    authorization_response=redirect_uri + answer.lstrip("/"),
                    state=state,
                    code_verifier=verifier,
                )
            except OAuthError as exc:
                raise _refused(exc) from None
            except (httpx2.HTTPError, ValueError) as exc:
                raise GrantError(
                    f"the sign-in could not be completed: {type(exc).__name__}: {exc}",
                    needs_login=True,
                ) from None
            return dict(token)


async def _one_redirect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, redirects: asyncio.Queue[str]
) -> None:
    """Read one HTTP request line; a request carrying `code` or `error` is the redirect."""
    with contextlib.suppress(OSError, ValueError, TimeoutError):
        async with asyncio.timeout(10):
            line = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()).strip():  # the headers
                pass
        target = line[1] if len(line) >= 2 and line[0] == "GET" else ""
        query = urllib.parse.urlsplit(target).query
        done = "code=" in query or "error=" in query
        text = "mentormail: signed in. You can close this window." if done else "Waiting."
        body = f"<!doctype html><title>mentormail</title><p>{html.escape(text)}</p>".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        if done:
            redirects.put_nowait(target)
    writer.close()


def _refused(exc: Any) -> GrantError:
    said = " ".join(f"{exc.error}: {exc.description or ''}".split())[:300]
    return GrantError(f"the sign-in was refused ({said})", needs_login=True)


def check_settings(settings: OAuthSettings) -> None:
    """Raise UserError unless the config says how to sign in."""
    if not settings.provider:
        raise UserError(
            "[oauth] provider is not set: there is nothing to sign in to "
            '(see README "Deployment" for Microsoft 365 and Google)'
        )
    if not settings.client_id or not settings.token_url:
        raise UserError("[oauth] client_id (and for a custom provider token_url) must be set")
    if not (settings.device_url or settings.authorize_url):
        raise UserError("[oauth] needs device_url or authorize_url to sign in")
