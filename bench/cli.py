"""Benchmark: how long the everyday commands take to answer, start to finish.

Each command runs as a fresh process (as an organizer or a timer unit runs it), several times;
the median wall time is reported beside a bare `python -c pass` measured in the same run (the
interpreter's own start-up, the floor every command pays). The shipped PeMento and PLCI
programs are used, each with a state folder of its own in a temporary directory and no
mailbox (`[imap] host` emptied through the environment), so `tick` — acting as of a day
before the program starts — has nothing to do and touches no network. Prints a line per
command and the figures as one JSON object on the last line. Targets on a calm machine:
`--version` ≤ 0.15 s; `validate`, `plan` and `status` of a shipped program ≤ 0.4 s; a `tick`
with nothing due ≤ 0.5 s.

Modules run from compiled bytecode, as an installed mentormail does (pip compiles it when it
installs): the warm-up run of each command writes it to a folder of the benchmark's own, even
where the environment says PYTHONDONTWRITEBYTECODE (this test bed's does), and the checkout
is left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {  # name: (config, an instant before it starts: a tick then has nothing due)
    "pemento": (ROOT / "examples" / "pemento-2021" / "config.toml", "2021-07-01T00:00Z"),
    "plci": (ROOT / "examples" / "plci-mentoring-year" / "config.toml", "2021-12-01T00:00Z"),
}
TARGETS = {"version": 0.15, "validate": 0.4, "plan": 0.4, "status": 0.4, "tick": 0.5}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from starting `argv` to its exit, and the CPU seconds it used (less swayed by
    other work on the machine); a failing command stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return took, cpu


def commands() -> dict[str, list[str]]:
    mentormail = [sys.executable, "-m", "daemon"]
    found = {"python -c pass": [sys.executable, "-c", "pass"]}
    found["version"] = [*mentormail, "--version"]
    for name, (config, before_start) in PROGRAMS.items():
        with_config = [*mentormail, "-c", str(config)]
        found[f"validate {name}"] = [*with_config, "validate"]
        found[f"plan {name}"] = [*with_config, "plan"]
        found[f"status {name}"] = [*with_config, "status"]
        found[f"tick {name}"] = [*with_config, "tick", "--at", before_start]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mentormail-bench-cli-") as scratch:
        found = commands()
        medians: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for label, argv in found.items():
            program = label.rsplit(" ", 1)[-1]
            env = {
                **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache"),
                "MENTORMAIL_IMAP__HOST": "",
                "MENTORMAIL_STATE__PATH": str(Path(scratch) / program),
                "MENTORMAIL_LOG_LEVEL": "WARNING",
            }
            timed(argv, env)  # warm the file cache; a first tick also makes the store
            runs = [timed(argv, env) for _ in range(args.runs)]
            medians[label] = statistics.median(took for took, _ in runs)
            cpus[label] = statistics.median(cpu for _, cpu in runs)
            print(
                f"{label:>18}: median {medians[label]:.3f} s "
                f"(CPU {cpus[label]:.3f} s) of {args.runs} runs"
            )
    floor = medians.pop("python -c pass")
    cpu_floor = cpus.pop("python -c pass")
    verdicts = {
        label: medians[label] <= TARGETS[label.split(" ", 1)[0]] for label in sorted(medians)
    }
    print(
        json.dumps(
            {
                "runs": args.runs,
                "python_c_pass_s": round(floor, 3),
                "python_c_pass_cpu_s": round(cpu_floor, 3),
                "median_s": {label: round(took, 3) for label, took in medians.items()},
                "cpu_s": {label: round(cpu, 3) for label, cpu in cpus.items()},
                "above_python_s": {label: round(t - floor, 3) for label, t in medians.items()},
                "target_s": TARGETS,
                "within_target": verdicts,
            }
        )
    )


if __name__ == "__main__":
    main()
