"""Provider presets: `[oauth] provider = "microsoft365"` or `"google"` fills in the servers, the
TLS mode, the sign-in (OAuth2), the token endpoints and scopes, and the provider's published
sending limits — every value the config leaves out, so each stays overridable. `"custom"`
only turns OAuth2 on for both servers; the endpoints and hosts are the config's to give.

The limits are the providers' own:
- Exchange Online: 30 messages a minute and 10,000 recipients a day per mailbox, for mail
  sent with SMTP AUTH (Microsoft's "Exchange Online limits"); its SMTP AUTH endpoint is
  smtp.office365.com:587 with STARTTLS, IMAP outlook.office365.com:993.
- Google Workspace: 2,000 messages a day per user (a free gmail.com account: 500, so set
  `[smtp] max_per_day = 500`); smtp.gmail.com:465 with TLS, imap.gmail.com:993.

mentormail sends one message per recipient, so messages and recipients count alike. The
authserv-id preset is the one each writes in Authentication-Results (README "Security").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENV_PROVIDER = "MENTORMAIL_OAUTH__PROVIDER"
MICROSOFT_LOGIN = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "microsoft365": {
        "smtp": {"host": "smtp.office365.com", "port": 587, "security": "starttls",
                 "auth": "oauth2", "max_per_minute": 30, "max_per_day": 10_000},
        "imap": {"host": "outlook.office365.com", "port": 993, "security": "tls",
                 "auth": "oauth2", "authserv_ids": ("*",)},
        "oauth": {
            "token_url": MICROSOFT_LOGIN + "/token",
            "device_url": MICROSOFT_LOGIN + "/devicecode",
            "authorize_url": MICROSOFT_LOGIN + "/authorize",
            "scopes": ("https://outlook.office.com/IMAP.AccessAsUser.All",
                       "https://outlook.office.com/SMTP.Send", "offline_access"),
        },
    },
    "google": {
        "smtp": {"host": "smtp.gmail.com", "port": 465, "security": "tls", "auth": "oauth2",
                 "max_per_day": 2_000},
        "imap": {"host": "imap.gmail.com", "port": 993, "security": "tls", "auth": "oauth2",
                 "authserv_ids": ("mx.google.com",)},
        "oauth": {
            # Google's device flow does not allow the mail scope: a browser sign-in it is
            "token_url": "https://oauth2.googleapis.com/token",
            "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
            "scopes": ("https://mail.google.com/",),
        },
    },
    "custom": {"smtp": {"auth": "oauth2"}, "imap": {"auth": "oauth2"}, "oauth": {}},
}  # fmt: skip


def with_preset(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The config file's data with the provider's preset filling every key it leaves out
    (the environment, `MENTORMAIL_OAUTH__PROVIDER` included, still overrides both); OAuth2
    logins default to the sender's addresses."""
    oauth = data.get("oauth", {})
    if not isinstance(oauth, dict):
        return data
    provider = environ.get(ENV_PROVIDER, oauth.get("provider", ""))
    preset = PRESETS.get(provider) if isinstance(provider, str) else None
    if preset is None:
        return data
    out = dict(data)
    tenant = str(environ.get("MENTORMAIL_OAUTH__TENANT") or oauth.get("tenant") or "organizations")
    filled = {k: v.format(tenant=tenant) if isinstance(v, str) else v
              for k, v in preset["oauth"].items()}  # fmt: skip
    out["oauth"] = filled | oauth
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    assert isinstance(sender, dict)
    logins = {
        "smtp": sender.get("address"),
        "imap": sender.get("reply_to") or sender.get("address"),
    }
    for section in ("smtp", "imap"):
        given = data.get(section, {})
        if not isinstance(given, dict):
            continue
        merged = preset[section] | given
        if merged.get("auth") == "oauth2" and not merged.get("username") and logins[section]:
            merged["username"] = logins[section]
        out[section] = merged
    return out
