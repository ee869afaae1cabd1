"""Inbound mail, classified (pure): raw RFC 5322 bytes in, one event out. See classify.py."""

from daemon.inbound import events
from daemon.inbound.classify import classify
from daemon.inbound.events import (
    Directory,
    FieldSpec,
    FormSpec,
    Inbound,
    InviteRef,
    PersonRef,
    SentRef,
)
from daemon.inbound.parse import Limits

__all__ = [
    "Directory", "FieldSpec", "FormSpec", "Inbound", "InviteRef", "Limits", "PersonRef",
    "SentRef", "classify", "events",
]  # fmt: skip
