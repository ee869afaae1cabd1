"""The systemd units in deploy/: `systemd-analyze verify` accepts them (and would catch a typo),
each template as two instances; `systemd-analyze security` rates them no worse than before; and
the credentials (for an instance: its config and roster too) and the state path they set are
the ones mentormail reads. tests/test_instances.py runs two instances side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config.load import load_deployment
from tests.conftest import ROOT

PLAIN = ("mentormail.service", "mentormail-tick.service", "mentormail-tick.timer")
TEMPLATES = ("mentormail@.service", "mentormail-tick@.service", "mentormail-tick@.timer")
INSTANCES = ("pemento", "plci")  # two programs side by side
SERVICES = ("mentormail.service", "mentormail-tick.service", *TEMPLATES[:2])
INSTALLED = "/opt/mentormail/bin/mentormail"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze missing: `make test` installs it when run as root"
)


def _instance(name: str, instance: str) -> str:
    return name.replace("@.", f"@{instance}.")


def _copies(tmp_path: Path, extra: str = "", typo_in: str = "mentormail.service") -> list[Path]:
    """The units, with ExecStart pointing at this checkout's mentormail (verify checks that
    the program exists); each template as two instances, as systemd loads them."""
    here = str(Path(sys.executable).parent / "mentormail")
    out = []
    for name in PLAIN + TEMPLATES:
        text = (ROOT / "deploy" / name).read_text(encoding="utf-8").replace(INSTALLED, here)
        if extra and name == typo_in:
            text = text.replace("[Service]\n", f"[Service]\n{extra}\n", 1)
        for target in [_instance(name, i) for i in INSTANCES] if "@." in name else [name]:
            (tmp_path / target).write_text(text, encoding="utf-8")
            out.append(tmp_path / target)
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
@pytest.mark.parametrize("unit", ["mentormail.service", "mentormail@.service"])
def test_a_typo_in_a_unit_is_caught(tmp_path: Path, unit: str) -> None:
    result = _verify(_copies(tmp_path, extra="WatchdogSecs=60", typo_in=unit))
    assert "Unknown key 'WatchdogSecs'" in result.stderr


CURRENT_EXPOSURE = 1.1  # what `systemd-analyze security` rates every service (lower is better)


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_the_service_stays_hardened(tmp_path: Path, name: str) -> None:
    """`systemd-analyze security` rates each service's exposure 1.1 ("OK"; 1.8 before
    ProtectProc=, ProcSubset=, PrivateUsers=, PrivateMounts= and a system call filter without
    @privileged and @resources); a change that loosens it fails here."""
    assert ANALYZE is not None
    copies = _copies(tmp_path)
    unit = next(p for p in copies if p.name == _instance(name, INSTANCES[0]))
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", f"--threshold={round(CURRENT_EXPOSURE * 10)}",
         str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert found and float(found.group(1)) <= CURRENT_EXPOSURE, result.stdout[-800:]
    assert result.returncode == 0, result.stdout[-500:]


def _directives(name: str) -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    return re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE)


@pytest.mark.parametrize("name", SERVICES)
def test_the_service_settings_the_issue_asks_for(name: str) -> None:
    directives = _directives(name)
    found = dict(directives)
    per_instance = "%i" if "@" in name else ""
    state = f"mentormail/{per_instance}".rstrip("/")
    assert found["DynamicUser"] == "yes" and found["StateDirectory"] == state
    assert f"MENTORMAIL_STATE__PATH=%S/{state}" in [v for k, v in directives if k == "Environment"]
    assert found["ProtectSystem"] == "strict" and found["NoNewPrivileges"] == "yes"
    assert found["PrivateTmp"] == "yes" and "AF_INET" in found["RestrictAddressFamilies"]
    assert found["ProtectProc"] == "invisible" and found["ProcSubset"] == "pid"
    assert found["PrivateUsers"] == "yes" and found["CapabilityBoundingSet"] == ""
    filters = [v for k, v in directives if k == "SystemCallFilter"]
    assert filters == ["@system-service", "~@privileged @resources"]
    if name.startswith("mentormail.") or name.startswith("mentormail@"):
        assert found["Type"] == "notify" and int(found["WatchdogSec"]) > 0
        drain = float(re.search(r"--drain-seconds (\d+)", found["ExecStart"]).group(1))  # type: ignore[union-attr]
        assert int(found["TimeoutStopSec"]) > drain  # systemd waits for the drain
    if per_instance:
        # the program's own files, handed over by systemd: nothing world-readable needed
        assert "--config %d/config.toml " in found["ExecStart"]
        loaded = {v.split(":", 1)[0]: v.split(":", 1)[1] for k, v in directives
                  if k == "LoadCredential"}  # fmt: skip
        assert loaded["config.toml"] == "/etc/mentormail/%i/config.toml"
        assert all(path.startswith("/etc/mentormail/%i/") for path in loaded.values())
        assert "ExecReload" not in found  # credentials are not loaded again on reload


def test_the_templates_agree_with_each_other() -> None:
    """A timer pass and the service of one program read the same files and the same state."""
    shared = ("LoadCredential", "SetCredential", "Environment", "StateDirectory")
    service, tick = _directives("mentormail@.service"), _directives("mentormail-tick@.service")
    assert [d for d in service if d[0] in shared] == [d for d in tick if d[0] in shared]
    timer = dict(_directives("mentormail-tick@.timer"))
    assert timer["Conflicts"] == "mentormail@%i.service"


@pytest.mark.parametrize("name", SERVICES)
def test_the_units_credentials_and_state_are_what_mentormail_reads(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directives = _directives(name)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    config = ROOT / "config.example.toml"
    names = []
    for key, value in directives:
        if key == "LoadCredential":
            credential = value.split(":", 1)[0]
            if credential == "config.toml":  # the config itself, its roster beside it
                text = config.read_text(encoding="utf-8")
                (credentials / credential).write_text(
                    text.replace('file = "examples/pemento-2021/roster.csv"', 'file = "roster.csv"')
                )
                config = credentials / credential
            elif credential == "roster.csv":
                shutil.copy(ROOT / "examples" / "pemento-2021" / "roster.csv", credentials)
            else:
                names.append(credential)
                (credentials / credential).write_text(f"pw-{credential}\n")  # files end in newline
        if key == "Environment" and value.startswith("MENTORMAIL_STATE__PATH="):
            state = value.split("=", 1)[1].replace("%S", str(tmp_path / "var-lib"))
            monkeypatch.setenv("MENTORMAIL_STATE__PATH", state.replace("%i", "pemento"))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    deployment = load_deployment(config)
    settings = deployment.settings
    smtp, imap, secret = (
        settings.smtp.password,
        settings.imap.password,
        settings.oauth.client_secret,
    )
    assert smtp is not None and imap is not None and secret is not None
    read = {smtp.get_secret_value(), imap.get_secret_value(), secret.get_secret_value()}
    assert read == {f"pw-{n}" for n in names}
    defaults = [v.split(":", 1)[0] for k, v in directives if k == "SetCredential"]
    assert defaults == ["MENTORMAIL_OAUTH__CLIENT_SECRET"]  # optional; the passwords are not
    instance = "pemento" if "@" in name else ""
    assert settings.state.path == tmp_path / "var-lib" / "mentormail" / instance
    assert len(deployment.program.participants) > 0  # the roster was read from beside it
