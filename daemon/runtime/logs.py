"""Logging set-up, in one place: one line per event to stderr, each module its own logger.

Under systemd (`$JOURNAL_STREAM` set: stderr is connected to the journal) every line carries
a syslog priority prefix such as `<3>`, which journald turns into the entry's level
(`SyslogLevelPrefix=`, on by default), so `journalctl -p warning` works; a traceback's lines
all carry their record's prefix. Elsewhere lines read `LEVEL logger: message`.

The protocol libraries are kept quiet: at DEBUG aioimaplib logs every byte it receives (whole
replies, with what participants wrote) and aiosmtplib every byte it sends (AUTH included), so
they never go below INFO, whatever `--log-level` says.
"""

from __future__ import annotations

import logging
import os
import sys
from types import TracebackType

HANDLER = "mentormail-stderr"
# aiosmtpd ("mail.log") logs every SMTP command it serves (the demo's sink)
CHATTY = (
    "aioimaplib", "aiosmtplib", "mail-parser-reply", "mailparser_reply", "mail.log",
    "httpx2", "httpcore2", "authlib",  # the token endpoint's requests: never below INFO
)  # fmt: skip

# syslog(3) priorities by logging level
PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    """`<N>logger: message`, with `<N>` on every line of a multi-line record."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def priority(level: int) -> int:
    for threshold, value in sorted(PRIORITY.items(), reverse=True):
        if level >= threshold:
            return value
    return 7


def under_journald() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM"))


def configure(level: str, *, journal: bool | None = None) -> None:
    """Log at `level` to stderr; `journal` (default: when under journald) adds the prefixes."""
    handler = logging.StreamHandler(sys.stderr)
    use_journal = under_journald() if journal is None else journal
    handler.setFormatter(
        JournalFormatter()
        if use_journal
        else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.set_name(HANDLER)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(old)  # configured again (tests call main() often): replace ours only
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log lines with a level too
    sys.excepthook = _log_uncaught
    quiet_protocol_libraries()
    # the scheduler logs each job it adds and runs: the tick's own summary line says more
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


def quiet_protocol_libraries() -> None:
    """Mail content must never reach a log line, whatever --log-level says: these loggers
    never go below INFO (nor below the level asked for)."""
    level = max(logging.INFO, logging.getLogger().level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(level)


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """A crash is logged as one critical record, so journald files it at priority 2."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("mentormail").critical("crashed", exc_info=(kind, value, tb))
