"""A built wheel carries the bundled schedules, templates and examples, and works from them."""

from __future__ import annotations

import os
import subprocess
import sys
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
