"""OAuth2 grants on disk: one JSON file per mailbox login in `<state>/oauth/`, mode 0600.

A grant is what `mentormail login` obtained: the refresh token (long-lived: whoever holds it
can read and send as the mailbox) and the current access token with its expiry. Files are
replaced atomically (write, fsync, rename), so a crash leaves the old grant or the new one.
When `login` runs as root for a service that runs as its own user (systemd DynamicUser=),
the file is given to the owner of the state folder, or the service could not read it.
Tokens never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.errors import GrantError

FOLDER = "oauth"
_UNSAFE = re.compile(r"[^a-z0-9@._+-]")


@dataclass(frozen=True, repr=False)
class Grant:
    username: str  # the mailbox login the tokens are for
    provider: str
    client_id: str
    token_url: str
    scopes: tuple[str, ...]  # as granted (the token response's `scope`)
    refresh_token: str
    access_token: str = ""
    expires_at: float = 0.0  # seconds since the epoch; 0: unknown, refresh before use
    obtained_at: float = 0.0  # when the access token was issued

    def __repr__(self) -> str:
        return f"Grant({self.username!r}, {self.provider!r}, scopes={' '.join(self.scopes)!r})"

    def with_token(self, response: dict[str, Any], now: float) -> Grant:
        """This grant after a token response (a refresh may or may not rotate the refresh
        token; the scopes stay as they were if the response does not name them)."""
        expires_in = float(response.get("expires_in") or 3600)
        scope = response.get("scope")
        return dataclasses.replace(
            self,
            access_token=str(response["access_token"]),
            refresh_token=str(response.get("refresh_token") or self.refresh_token),
            scopes=tuple(str(scope).split()) if scope else self.scopes,
            expires_at=now + expires_in,
            obtained_at=now,
        )


class Grants:
    """The grant files of one state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / FOLDER
        self._state_dir = state_dir

    def path(self, username: str) -> Path:
        return self.folder / (_UNSAFE.sub("_", username.lower()) + ".json")

    def load(self, username: str) -> Grant | None:
        """The grant for `username`, None if there is none; a damaged file is a GrantError."""
        path = self.path(username)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Grant(**{**data, "scopes": tuple(data.get("scopes", ()))})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not a grant file"
            raise GrantError(
                f"the sign-in for {username} cannot be read from {path} ({reason}); "
                "run `mentormail login` again",
                needs_login=True,
            ) from None

    def save(self, grant: Grant) -> Path:
        """Write `grant` atomically, 0600, owned like the state folder."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path(grant.username)
        partial = path.with_suffix(".json.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dataclasses.asdict(grant), out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        _owned_like(partial, self._state_dir)
        partial.replace(path)
        _owned_like(self.folder, self._state_dir)
        return path

    def remove(self, username: str) -> None:
        self.path(username).unlink(missing_ok=True)


def _owned_like(path: Path, model: Path) -> None:
    """As root, give `path` to the owner of `model` (the service's own user)."""
    if os.geteuid() != 0:
        return
    with contextlib.suppress(OSError):
        owner = model.stat()
        os.chown(path, owner.st_uid, owner.st_gid)
