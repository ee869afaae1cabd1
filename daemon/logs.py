"""Logging set-up, in one place: one line per event to stderr, and the protocol libraries
kept quiet — at DEBUG aioimaplib logs every byte it receives (whole replies, with what
participants wrote) and aiosmtplib every byte it sends, so they never go below INFO."""

from __future__ import annotations

import logging
import sys

CHATTY = ("aioimaplib", "aiosmtplib", "mail-parser-reply", "mailparser_reply")


def configure(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    quiet_protocol_libraries()


def quiet_protocol_libraries() -> None:
    """Mail content must never reach a log line, whatever --log-level says."""
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.INFO)
