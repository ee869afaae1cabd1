"""`tick --dry-run` says what would go — recipients, subjects, keys — and sends and records
nothing (the SMTP server sees no connection, the state folder is not created or changed);
a future `--at` is refused for real sending, with why."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from daemon.cli import main
from tests.conftest import ROOT
from tests.smtp_server import SmtpServer

CONFIG = str(ROOT / "config.example.toml")
KICKOFF = "pemento-2021/event/community-call-1/0/dana.whitfield@example.org"


def _files(folder: Path) -> dict[str, str]:
    """Every file in the folder and a hash of its bytes. SQLite's shared-memory index (-shm)
    and an empty write-ahead log are what any reader of a WAL database leaves; nothing may
    be written to the log."""
    wal = folder / "mentormail.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name.rsplit("-", 1)[-1] not in ("shm", "wal")
    }


async def _cli(*args: str) -> int:
    return await asyncio.to_thread(main, ["-c", CONFIG, *args])


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_dry_run_sends_and_records_nothing(
    rehearsal: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = rehearsal / "state"
    async with SmtpServer() as server:
        monkeypatch.setenv("MENTORMAIL_SMTP__PORT", str(server.port))
        assert await _cli("tick", "--dry-run", "--at", "2021-07-05T15:00Z") == 0
        out = capsys.readouterr().out
        assert server.connections == 0 and not state.exists()  # no store made, no server
        assert "nothing is sent or recorded" in out and "(no state yet" in out
        assert f"  {KICKOFF}  (invite, new)\n" in out
        assert "to dana.whitfield@example.org: PeMento Welcome & Kick-Off Community Call" in out

        # a real pass then, and a dry run later: the store is read, never written
        assert await _cli("tick", "--at", "2021-07-05T15:00Z") == 0
        sent = len(server.received)
        assert sent > 0 and server.connections > 0
        capsys.readouterr()
        connections, before = server.connections, _files(state)
        assert await _cli("tick", "--dry-run", "--at", "2021-07-12T16:00Z") == 0
        out = capsys.readouterr().out
        assert KICKOFF not in out  # it went in the real pass
        assert "would be sent:" in out and "(no state yet" not in out
        assert server.connections == connections and len(server.received) == sent
        assert _files(state) == before

        # a dry run may look ahead; a real pass may not
        assert await _cli("tick", "--dry-run", "--at", "2099-01-01T00:00Z") == 0
        assert "would be recorded as skipped, never sent" in capsys.readouterr().out
        assert await _cli("tick", "--at", "2099-01-01T00:00Z") == 2
        err = capsys.readouterr().err
        assert "--at 2099-01-01T00:00Z is in the future" in err and "--dry-run" in err
        assert server.connections == connections and _files(state) == before
