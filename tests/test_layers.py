"""The pure core imports no adapters and never reads the wall clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = [
    *sorted((ROOT / "daemon" / "program").glob("*.py")),
    *sorted((ROOT / "daemon" / "mail").glob("*.py")),
    *sorted(
        p
        for p in (ROOT / "daemon" / "inbound").glob("*.py")
        if p.name not in ("meaning.py", "directory.py")
    ),
    ROOT / "daemon" / "decide" / "standing.py",
    ROOT / "daemon" / "decide" / "sends.py",
]
FORBIDDEN_MODULES = (
    "aiosmtplib",
    "aioimaplib",
    "apscheduler",
    "smtplib",
    "imaplib",
    "socket",
    "sqlite3",
    "asyncio",
    "daemon.clock",
    "daemon.cli",
    "daemon.transport",
    "daemon.store",
)
FORBIDDEN_CALLS = ("now", "utcnow", "today")


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for name in names:
                if name == "daemon.ledger.records":  # plain dataclasses, no I/O
                    continue
                assert not name.startswith(FORBIDDEN_MODULES), f"{path.name} imports {name}"
                assert name != "time", f"{path.name} imports time"
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if call and node.func.attr in FORBIDDEN_CALLS:  # type: ignore[attr-defined]
            pytest.fail(f"{path.name}:{node.lineno} reads the clock")
