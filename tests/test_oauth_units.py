"""The pure parts of OAuth2: SASL responses, the choice of mechanism, provider presets, the
grant file (0600, no token in a repr), and the note after sending was stopped."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from daemon.config.providers import with_preset
from daemon.decide.notices import outage_notice
from daemon.errors import GrantError
from daemon.ledger.snapshot import Snapshot
from daemon.transport.oauth import sasl
from daemon.transport.oauth.grants import Grant, Grants
from tests.test_inert import _program

TOKEN = "ya29.secret-token-value"


def test_sasl_initial_responses_are_the_rfc_7628_and_xoauth2_forms() -> None:
    xo = base64.b64decode(sasl.initial_response("XOAUTH2", "a@example.org", TOKEN, "h", 1))
    assert xo == f"user=a@example.org\x01auth=Bearer {TOKEN}\x01\x01".encode()
    ob = base64.b64decode(sasl.initial_response("OAUTHBEARER", "a,b=c@x.org", TOKEN, "h", 993))
    assert (
        ob == f"n,a=a=2Cb=3Dc@x.org,\x01host=h\x01port=993\x01auth=Bearer {TOKEN}\x01\x01".encode()
    )
    with pytest.raises(ValueError):
        sasl.initial_response("XOAUTH2", "a@example.org\r\nX", TOKEN, "h", 1)


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["PLAIN", "XOAUTH2", "OAUTHBEARER"], "OAUTHBEARER"),  # Gmail: the standard one
        (["login", "xoauth2"], "XOAUTH2"),  # Microsoft 365 (aiosmtplib lower-cases)
        (["PLAIN", "LOGIN"], None),
    ],
)
def test_the_standard_mechanism_is_preferred(offered: list[str], chosen: str | None) -> None:
    assert sasl.choose(offered) == chosen


def test_an_error_challenge_is_read_for_the_log() -> None:
    challenge = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()
    assert sasl.refusal(challenge) == '{"status":"401","schemes":"bearer"}'


BASE = {
    "sender": {"name": "P", "address": "pemento@example.org", "reply_to": "replies@example.org"},
    "smtp": {"port": 2525},
    "imap": {},
}


def test_a_preset_fills_only_what_the_config_leaves_out() -> None:
    data = with_preset({**BASE, "oauth": {"provider": "microsoft365", "tenant": "ex.org"}}, {})
    smtp, imap, oauth = data["smtp"], data["imap"], data["oauth"]
    assert smtp["host"] == "smtp.office365.com" and smtp["port"] == 2525  # the config's port
    assert smtp["auth"] == imap["auth"] == "oauth2"
    assert (smtp["max_per_minute"], smtp["max_per_day"]) == (30, 10_000)
    assert smtp["username"] == "pemento@example.org" and imap["username"] == "replies@example.org"
    assert oauth["token_url"] == "https://login.microsoftonline.com/ex.org/oauth2/v2.0/token"
    assert "offline_access" in oauth["scopes"] and imap["authserv_ids"] == ("*",)
    google = with_preset({**BASE, "oauth": {"provider": "google"}}, {})
    assert google["imap"]["host"] == "imap.gmail.com" and google["smtp"]["security"] == "tls"
    assert google["oauth"]["scopes"] == ("https://mail.google.com/",)
    assert not google["oauth"].get("device_url")  # Google's device flow lacks the mail scope
    # the environment chooses the provider too; without one, nothing changes
    assert (
        with_preset({**BASE, "oauth": {}}, {"MENTORMAIL_OAUTH__PROVIDER": "google"})["smtp"]["host"]
        == "smtp.gmail.com"
    )
    assert with_preset({**BASE, "oauth": {}}, {}) == {**BASE, "oauth": {}}


def test_a_grant_file_is_private_and_no_repr_shows_a_token(tmp_path: Path) -> None:
    grants = Grants(tmp_path)
    grant = Grant("A@Example.org", "google", "cid", "https://t", ("s",), "refresh-secret")
    grant = grant.with_token({"access_token": TOKEN, "expires_in": 3599}, 1000.0)
    path = grants.save(grant)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(grants.folder.stat().st_mode) == 0o700
    assert grants.load("a@example.org") == grant and grant.expires_at == 4599.0
    assert TOKEN not in repr(grant) and "refresh-secret" not in repr(grant)
    rotated = grant.with_token({"access_token": "new", "refresh_token": "r2", "scope": "x y"}, 5)
    assert (rotated.refresh_token, rotated.scopes) == ("r2", ("x", "y"))
    assert not list(grants.folder.glob("*.partial"))
    path.write_text("{ not json")
    with pytest.raises(GrantError, match="mentormail login") as raised:
        grants.load("a@example.org")
    assert raised.value.needs_login and TOKEN not in str(raised.value)
    assert os.access(path, os.R_OK)


AT = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("lasted", "told"),
    [(dt.timedelta(minutes=10), False), (dt.timedelta(hours=5), True)],
)
def test_organizers_hear_once_of_a_long_stop(lasted: dt.timedelta, told: bool) -> None:
    program = _program("Sam Sample")
    why = "the sign-in for p@example.org could not be renewed (invalid_grant): run login"
    snapshot = Snapshot(outage=(AT, AT + lasted, why))
    notes = outage_notice(program, snapshot)
    assert bool(notes) is told
    if told:
        [note] = notes
        assert "5.0 hours" in note.answer["lines"][0] and note.answer["lines"][1] == why
        again = Snapshot(outage=(AT, AT + lasted, why), known=frozenset({note.key}))
        assert outage_notice(program, again) == []  # once
