"""A built wheel carries the bundled schedules, templates and examples, and works from them."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_wheel_runs_the_shipped_programs(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("mentormail-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for program in ("pemento-2021", "plci-mentoring-year", "career-mentoring", "acl-mentoring"):
        assert f"daemon/_bundled/schedules/{program}/schedule.toml" in names
        assert f"daemon/_bundled/examples/{program}/config.toml" in names
    assert "daemon/_bundled/templates/common/layout.html.j2" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    bundled = target / "daemon" / "_bundled" / "examples" / "pemento-2021" / "config.toml"
    demo = ["demo", "--out", str(tmp_path / "demo")]  # its sandbox and examples, from the wheel
    for args in (["--version"], ["-c", str(bundled), "validate"], demo):
        result = subprocess.run(
            [sys.executable, "-m", "daemon", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert "The organizers' view" in result.stdout  # the demo's, run from the wheel
    assert any((tmp_path / "demo" / "mail").glob("*.eml"))
    where = subprocess.run(
        [sys.executable, "-c", "import daemon.config.bundled as b; print(b.bundled('schedules'))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(target))


def test_the_sdist_carries_the_units_its_tests_check_and_the_license(tmp_path: Path) -> None:
    """tests/test_deploy.py ships in the sdist, so the units it reads must too; the MIT
    license pyproject declares is there as a file, named in the metadata."""
    build = "import sys, hatchling.build as b; print(b.build_sdist(sys.argv[1]))"
    name = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=120,
    ).stdout.split()[-1]  # fmt: skip
    with tarfile.open(tmp_path / name) as sdist:
        root = sdist.getnames()[0].split("/")[0]
        names = {n.removeprefix(f"{root}/") for n in sdist.getnames()}
        pkg_info = sdist.extractfile(f"{root}/PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
    units = {f"deploy/{p.name}" for p in (ROOT / "deploy").iterdir()}
    assert units and units <= names, units - names
    assert {"tests/test_deploy.py", "LICENSE", "pyproject.toml"} <= names
    assert "License-Expression: MIT\n" in metadata and "License-File: LICENSE\n" in metadata
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 mentormail contributors\n")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
