"""The layers hold, and the checks that keep them catch what they are for.

`lint-imports` (import-linter, contracts in pyproject.toml) checks the imports: the flow's
layers, no import cycles, and a pure core that imports no adapter, no clock and nothing that
does I/O. An import cannot show a call, so the pure core is also read here for the calls that
read the wall clock, a file or the environment."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PURE = ("program", "ledger", "decide", "views", "inbound", "mail")
CLOCK_CALLS = {"now", "utcnow", "today"}  # datetime's; `time` is not importable there
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "getenv"}
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def impurities(root: Path) -> list[str]:
    """Where the pure packages under `root` read a clock, a file or the environment."""
    found = []
    for package in PURE:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in CLOCK_CALLS:
                        found.append(f"{where}: reads the clock ({name})")
                    elif name in FILE_CALLS:
                        found.append(f"{where}: reads a file or the environment ({name})")
                elif isinstance(node, ast.Attribute) and node.attr == "environ":
                    found.append(f"{where}: reads the environment")
    return found


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `daemon` package found in `root` (its pyproject's contracts)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to plant mistakes in."""
    shutil.copytree(
        ROOT / "daemon", tmp_path / "daemon", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_pure_core_reads_no_clock_file_or_environment() -> None:
    assert impurities(ROOT / "daemon") == []


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("decide/sends.py", "import daemon.runtime.tick", "The layers of the flow"),
        ("config/checks.py", "import daemon.config.load", "No import cycles"),
        ("decide/states.py", "import daemon.clock", "A pure core"),
        ("mail/render.py", "import sqlite3", "A pure core"),
    ],
)
def test_a_planted_import_breaks_a_contract(
    copy: Path, module: str, planted: str, broken: str
) -> None:
    with (copy / "daemon" / module).open("a") as file:
        file.write(f"\n{planted}  # planted\n")
    done = lint_imports(copy)
    assert done.returncode != 0
    assert f"{broken} BROKEN" in done.stdout, done.stdout[-3000:]


def test_a_clock_read_in_decide_is_caught(copy: Path) -> None:
    with (copy / "daemon" / "decide" / "states.py").open("a") as file:
        file.write("\n\ndef _late() -> object:\n    return dt.datetime.now(dt.UTC)\n")
    with (copy / "daemon" / "mail" / "compose.py").open("a") as file:
        file.write("\n\ndef _peek(path: Any) -> object:\n    return path.read_bytes()\n")
    assert [p.split(": ", 1)[1] for p in impurities(copy / "daemon")] == [
        "reads the clock (now)",
        "reads a file or the environment (read_bytes)",
    ]
