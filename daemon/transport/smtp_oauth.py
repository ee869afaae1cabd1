"""SMTP AUTH with an OAuth2 bearer token (SASL OAUTHBEARER or XOAUTH2), through aiosmtplib's
public `execute_command`.

The token comes from `bearer`. A server that refuses it answers 334 with an error challenge;
the client answers that (oauth/sasl.py) and gets the final 535. A refused token is renewed once
and tried again on the same connection — a token revoked before its expiry looks like this.
Every refusal becomes a TransportError carrying a SendResult: FAILED when a person must act
(`mentormail login`), RETRY when the token endpoint was only unreachable. No token is logged.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import aiosmtplib

from daemon.config.settings import SmtpSettings
from daemon.errors import GrantError, TransportError
from daemon.transport.oauth import sasl
from daemon.transport.smtp_outcomes import Outcome, SendResult, clean_reply

log = logging.getLogger(__name__)

ACCEPTED, CHALLENGE = 235, 334


async def oauth_login(
    smtp: aiosmtplib.SMTP, settings: SmtpSettings, bearer: sasl.Bearer | None
) -> None:
    """Log in as `settings.username` with a bearer token; see the module docstring."""
    user = settings.username
    mechanism = sasl.choose(smtp.server_auth_methods) if smtp.supports_extension("auth") else None
    if bearer is None:
        _refuse("[smtp] auth is oauth2 but [oauth] has no provider: set [oauth] provider")
    if mechanism is None:
        offered = " ".join(smtp.server_auth_methods) or "none"
        _refuse(f"server offers no OAuth2 login (OAUTHBEARER or XOAUTH2; it offers {offered})")
    token = ""
    for _ in range(2):
        try:
            token = await bearer.bearer(user, refused=token)
        except GrantError as error:
            outcome = Outcome.FAILED if error.needs_login else Outcome.RETRY
            raise TransportError(
                str(error), SendResult(outcome, None, str(error), signin=error.needs_login)
            ) from None
        response = await smtp.execute_command(
            b"AUTH", mechanism.encode(),
            sasl.initial_response(mechanism, user, token, settings.host, settings.port).encode(),
        )  # fmt: skip
        if response.code == CHALLENGE:
            log.info("SMTP server refused the token for %s: %s", user,
                     sasl.refusal(response.message))  # fmt: skip
            response = await smtp.execute_command(sasl.ABORT[mechanism].encode())
        if response.code == ACCEPTED:
            return
        if response.code // 100 == 4:  # 454 4.7.0: a temporary failure, not the token
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)
    text = clean_reply(response.message)
    detail = (
        f"login as {user!r} with OAuth2 ({mechanism}) refused even with a renewed token: "
        f"{response.code} {text}; if access was withdrawn, run `mentormail login`"
    )
    raise TransportError(detail, SendResult(Outcome.FAILED, response.code, detail, signin=True))


def _refuse(detail: str) -> NoReturn:
    raise TransportError(detail, SendResult(Outcome.FAILED, None, detail))
