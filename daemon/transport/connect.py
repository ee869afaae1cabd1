"""The mail servers of one deployment: SMTP transports and mailbox connections made from its
settings, signing in with a password or — when `[oauth] provider` is set — with OAuth2 access
tokens from one shared TokenSource (so SMTP connections and the mailbox share its refreshes).
The OAuth2 client library is imported only when a provider is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from daemon.config.deployment import Deployment

if TYPE_CHECKING:
    from daemon.transport.imap import ImapInbox
    from daemon.transport.oauth.tokens import TokenSource
    from daemon.transport.smtp import SmtpTransport


class Servers:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment, self.settings = deployment, deployment.settings
        self.tokens: TokenSource | None = None
        if self.settings.oauth.provider:
            from daemon.transport.oauth.tokens import TokenSource

            self.tokens = TokenSource(self.settings.oauth, deployment.state_dir)

    def smtp(self, **options: Any) -> SmtpTransport:
        from daemon.transport.smtp import SmtpTransport  # each client loaded when first used

        settings = self.settings.smtp
        options.setdefault("data_timeout", settings.data_timeout_seconds)
        return SmtpTransport(settings, bearer=self.tokens, **options)

    def imap(self, **options: Any) -> ImapInbox:
        from daemon.transport.imap import ImapInbox

        return ImapInbox(self.settings.imap, bearer=self.tokens, **options)
