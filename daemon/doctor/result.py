"""What one doctor check found, and the report of them all."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # it works, less safely than it could: not a failure


def report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        mark = "FAILED" if not check.ok else "WARN  " if check.warning else "ok    "
        lines.append(f"{check.name:<{width}}  {mark}  {check.detail}")
        if check.fix:
            lines.append(f"{'':<{width}}  fix:    {check.fix}")
    failed = sum(not c.ok for c in checks)
    warned = sum(c.ok and c.warning for c in checks)
    ending = f", {warned} warning{'s' if warned > 1 else ''}" if warned else ""
    lines.append(
        f"all checks passed{ending}"
        if not failed
        else f"{failed} check{'s' if failed > 1 else ''} failed{ending}"
    )
    return "\n".join(lines) + "\n"
