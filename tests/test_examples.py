"""Every shipped example validates, plans, and renders every template for every participant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config.bundled import schedule_names
from tests.conftest import EXAMPLES, ROOT

CONFIGS = [ROOT / "config.example.toml", *EXAMPLES]


@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda p: p.parent.name if p.name == "config.toml" else p.name
)
def test_example_validates(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(config), "validate"]) == 0
    assert ": ok — " in capsys.readouterr().out


@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda p: p.parent.name if p.name == "config.toml" else p.name
)
def test_example_plan_json_shape(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(config), "plan", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items
    kinds = {"email", "invite", "cancel", "reminder", "obligation", "flag"}
    for item in items:
        assert item["kind"] in kinds
        assert item["at"].endswith("Z") and item["recipients"] and item["title"]
        if item["kind"] == "invite":
            assert {"uid", "starts_at", "ends_at"} <= item.keys()
        if item["kind"] == "obligation":
            assert {"opens_at", "due_at", "who"} <= item.keys()
            assert item["at"] == item["opens_at"]
    assert len({i["key"] for i in items}) == len(items)


def test_every_shipped_schedule_has_an_example() -> None:
    assert {p.parent.name for p in EXAMPLES} == set(schedule_names())
    assert set(schedule_names()) >= {
        "pemento-2021",
        "plci-mentoring-year",
        "career-mentoring",
        "acl-mentoring",
    }
