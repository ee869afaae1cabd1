"""The systemd units in deploy/: `systemd-analyze verify` accepts them (and would catch a typo),
and the credentials and state path they set are the ones mentormail reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config.load import load_deployment
from tests.conftest import ROOT

UNITS = ("mentormail.service", "mentormail-tick.service", "mentormail-tick.timer")
INSTALLED = "/opt/mentormail/bin/mentormail"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze missing: `make test` installs it when run as root"
)


def _copies(tmp_path: Path, extra: str = "") -> list[Path]:
    """The units, with ExecStart pointing at this checkout's mentormail (verify checks that
    the program exists)."""
    here = str(Path(sys.executable).parent / "mentormail")
    out = []
    for name in UNITS:
        text = (ROOT / "deploy" / name).read_text(encoding="utf-8").replace(INSTALLED, here)
        if extra and name == "mentormail.service":
            text = text.replace("[Service]\n", f"[Service]\n{extra}\n", 1)
        (tmp_path / name).write_text(text, encoding="utf-8")
        out.append(tmp_path / name)
    return out


def _verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", *map(str, units)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@needs_analyze
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    result = _verify(_copies(tmp_path))
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "mentormail" in line
    ]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


@needs_analyze
def test_a_typo_in_a_unit_is_caught(tmp_path: Path) -> None:
    result = _verify(_copies(tmp_path, extra="WatchdogSecs=60"))
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@needs_analyze
def test_the_service_stays_hardened(tmp_path: Path) -> None:
    """`systemd-analyze security` rates the unit's exposure 1.8 ("OK"); a change that loosens
    it past 2.0 fails here (the threshold is in tenths)."""
    assert ANALYZE is not None
    unit = _copies(tmp_path)[0]
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-500:]


def _directives(name: str) -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    return re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE)


@pytest.mark.parametrize("name", ["mentormail.service", "mentormail-tick.service"])
def test_the_service_settings_the_issue_asks_for(name: str) -> None:
    found = dict(_directives(name))
    assert found["DynamicUser"] == "yes" and found["StateDirectory"] == "mentormail"
    assert found["ProtectSystem"] == "strict" and found["NoNewPrivileges"] == "yes"
    assert found["PrivateTmp"] == "yes" and "AF_INET" in found["RestrictAddressFamilies"]
    if name == "mentormail.service":
        assert found["Type"] == "notify" and int(found["WatchdogSec"]) > 0
        drain = float(re.search(r"--drain-seconds (\d+)", found["ExecStart"]).group(1))  # type: ignore[union-attr]
        assert int(found["TimeoutStopSec"]) > drain  # systemd waits for the drain


@pytest.mark.parametrize("name", ["mentormail.service", "mentormail-tick.service"])
def test_the_units_credentials_and_state_are_what_mentormail_reads(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directives = _directives(name)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    names = []
    for key, value in directives:
        if key == "LoadCredential":
            credential = value.split(":", 1)[0]
            names.append(credential)
            (credentials / credential).write_text(f"pw-{credential}\n")  # files end in newline
        if key == "Environment" and value.startswith("MENTORMAIL_STATE__PATH="):
            state = value.split("=", 1)[1].replace("%S", str(tmp_path / "var-lib"))
            monkeypatch.setenv("MENTORMAIL_STATE__PATH", state)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    config = load_deployment(ROOT / "config.example.toml").settings
    smtp, imap, secret = config.smtp.password, config.imap.password, config.oauth.client_secret
    assert smtp is not None and imap is not None and secret is not None
    read = {smtp.get_secret_value(), imap.get_secret_value(), secret.get_secret_value()}
    assert read == {f"pw-{n}" for n in names}
    defaults = [v.split(":", 1)[0] for k, v in directives if k == "SetCredential"]
    assert defaults == ["MENTORMAIL_OAUTH__CLIENT_SECRET"]  # optional; the passwords are not
    assert config.state.path == tmp_path / "var-lib" / "mentormail"
