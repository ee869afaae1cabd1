"""The one exception tree. The CLI translates these into user messages and exit codes.

MentormailError                 exit 1: an unexpected failure of a server or the machine
  TransportError                a mail server could not be used (`result`: the SMTP detail)
    ImapError                   the IMAP server could not be used
    GrantError                  no OAuth2 token: never signed in, revoked, or unreachable
  SandboxError                  a `demo` sandbox server did not start
  UserError                     exit 2: something the user can fix
    ConfigError                 every problem of a config, schedule or roster, at once
    TemplateProblem             a template is missing, does not parse or misuses a variable
    StoreError                  the state file cannot be opened, or is from a newer version
    AlreadyRunning              another mentormail holds the state directory
MalformedMail                   (inbound, never leaves the classifier) a message unread
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


class MentormailError(Exception):
    """Base of every error mentormail raises on purpose."""

    exit_code = 1


class UserError(MentormailError):
    """Something the user can fix: a config, an argument, a missing file. Exit 2, no traceback."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file, reported as `FILE:LINE: key: message` plus a hint."""

    file: str
    line: int
    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ConfigError(UserError):
    """Every problem found in a configuration, schedule or roster, reported at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        cleaned = (replace(p, message=p.message.removeprefix("Value error, ")) for p in problems)
        self.problems = tuple(sorted(set(cleaned)))
        super().__init__("\n".join(str(p) for p in self.problems))


class TemplateProblem(UserError):
    """A template is missing, does not parse, or uses an undefined variable."""

    def __init__(
        self, template: str, message: str, line: int = 0, *, in_subject: bool = False
    ) -> None:
        """`in_subject`: the problem is in the subject given with the template (a schedule's
        `subject`), not in the template's file: `line` is then 0."""
        self.template, self.line, self.detail = template, line, message
        self.in_subject = in_subject
        where = f"the subject of {template}" if in_subject else template
        super().__init__(f"{where}:{line}: {message}" if line else f"{where}: {message}")


class StoreError(UserError):
    """The state file cannot be opened or is from a newer mentormail."""


class AlreadyRunning(UserError):
    """Another mentormail holds the state directory."""


class TransportError(MentormailError):
    """The mail server could not be used; `result` holds the classified failure (an SMTP
    `SendResult`), if any."""

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class ImapError(TransportError):
    """The IMAP server could not be used; the message names host:port and what failed."""


class GrantError(TransportError):
    """No OAuth2 access token can be had. `needs_login`: a person must run `mentormail login`
    (never signed in, the grant revoked or expired, the client refused); otherwise the token
    endpoint could not be reached and a later try may work. The message never holds a token."""

    def __init__(self, message: str, *, needs_login: bool) -> None:
        super().__init__(message)
        self.needs_login = needs_login


class SandboxError(MentormailError):
    """A sandbox server did not start."""


class MalformedMail(Exception):
    """The message is too big, too deep or cannot be read (the classifier turns this into a
    Malformed event: it never leaves it)."""
