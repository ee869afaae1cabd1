"""One mentormail per state directory: an exclusive, non-blocking flock held while running."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from daemon.errors import AlreadyRunning, StoreError

LOCK_NAME = "mentormail.lock"


class StateLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            where = f"cannot use the state folder {self.path.parent}"
            why = exc.strerror or str(exc)
            raise StoreError(
                f"{where}: {exc.filename or self.path}: {why}; make it writable by the user "
                "mentormail runs as (under systemd, StateDirectory= provides it), or set "
                "[state] path"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another mentormail (pid {holder}) is using the state directory "
                f"{self.path.parent}; stop it first, or give this one its own [state] path"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
