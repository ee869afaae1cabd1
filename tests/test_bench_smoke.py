"""The benchmarks still run (a refactor once broke bench/send.py's timing hooks unnoticed): a
tiny bench/send.py run ends with one JSON object holding both mentormail's and the baseline's
figures. Speed is not judged here; `make bench` measures it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.timeout(120)
def test_bench_send_runs_small_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "bench/send.py", "--participants", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=110, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["messages"] == 80 and figures["invites"] == 40
    assert figures["mentormail_msgs_per_s"] > 0 and figures["raw_aiosmtplib_8conn_msgs_per_s"] > 0


@pytest.mark.timeout(180)
def test_bench_cli_times_every_command_beside_a_bare_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, "bench/cli.py", "--runs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["python_c_pass_s"] > 0
    commands = {"version"} | {f"{c} {p}" for c in ("validate", "plan", "status", "tick")
                              for p in ("pemento", "plci")}  # fmt: skip
    assert set(figures["median_s"]) == commands == set(figures["within_target"])
    assert all(figures["cpu_s"][c] > 0 for c in commands)
