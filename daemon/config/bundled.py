"""Where the shipped schedules, templates and examples live: in a checkout, the repository's
top-level folders; in an installed wheel, `daemon/_bundled/` (see pyproject's force-include)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def bundled(kind: str) -> Path:
    """The folder of bundled `kind` ("schedules", "templates" or "examples")."""
    installed = _PACKAGE / "_bundled" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind


def schedule_names() -> list[str]:
    """The ids of the shipped schedules."""
    root = bundled("schedules")
    return sorted(p.parent.name for p in root.glob("*/schedule.toml"))
