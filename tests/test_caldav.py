"""Our invites, stored the way a calendar client stores them, are accepted by a real CalDAV server.

Starts Radicale (PyPI) on 127.0.0.1 with no authentication and a throwaway storage folder. A client
that accepts an iMIP invite stores the VCALENDAR without METHOD (RFC 4791 §4.1), so the test does
the same, PUTs it, and reads it back. Requests go through http.client only.
"""

from __future__ import annotations

import dataclasses
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest

from daemon.mail.invites import Invite, build_calendar
from tests.test_invites import BERLIN_DST, CALL, CANCEL, SAO_PAULO_CALL, UPDATE

STARTUP_TIMEOUT = 8.0
REQUEST_TIMEOUT = 5.0
ICS = {"Content-Type": "text/calendar; charset=utf-8"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def started(port: int, process: subprocess.Popen[bytes], log: Path) -> bool:
    """Wait for radicale to say it listens on `port` (a connection that succeeds could be to
    another process's listener): True once it does, False if it exited because the port was
    taken (free_port() lets it go before radicale binds it, and another process's listener or
    outgoing connection can take it meanwhile); any other exit fails the test."""
    listening = f"Listening on '127.0.0.1:{port}'"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text()
        if process.poll() is not None:
            if "Address already in use" in text:
                return False
            pytest.fail(f"radicale exited with {process.returncode}:\n{text}")
        if listening in text and "Radicale server ready" in text:
            return True
        time.sleep(0.05)
    pytest.fail(f"radicale did not listen on {port} within {STARTUP_TIMEOUT} s:\n{log.read_text()}")


def start_radicale(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Radicale on a free port, started again on another if the port was taken meanwhile."""
    log = folder / "radicale.log"
    for _ in range(3):
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "radicale",
            "--config",  # no config files: not /etc/radicale, not ~/.config
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--storage-filesystem-folder",
            str(folder / "collections"),
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            if started(port, process, log):
                return process, port
        except BaseException:
            stop(process)
            raise
    pytest.fail(f"radicale found its port taken three times:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    process, port = start_radicale(tmp_path_factory.mktemp("radicale"))
    try:
        status, _ = request(port, "MKCOL", "/mentormail/")
        assert status == 201
        status, _ = request(port, "MKCALENDAR", "/mentormail/calendar/")
        assert status == 201
        yield port
    finally:
        stop(process)


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=ICS if body is not None else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def as_stored(invite: Invite) -> icalendar.Calendar:
    """The calendar object a client keeps after accepting the invite: the same, without METHOD."""
    calendar = icalendar.Calendar.from_ical(build_calendar(invite))
    del calendar["METHOD"]
    return calendar


def the_event(calendar: icalendar.Calendar) -> icalendar.Event:
    (event,) = (c for c in calendar.subcomponents if c.name == "VEVENT")
    return event


@pytest.mark.parametrize(
    ("name", "invite"),
    [("pemento-call", CALL), ("berlin-dst", BERLIN_DST), ("sao-paulo", SAO_PAULO_CALL)],
)
def test_the_stored_invite_is_accepted_and_reads_back(
    radicale: int, name: str, invite: Invite
) -> None:
    path = f"/mentormail/calendar/{name}.ics"
    status, body = request(radicale, "PUT", path, as_stored(invite).to_ical())
    assert status == 201, body
    status, body = request(radicale, "GET", path)
    assert status == 200
    event = the_event(icalendar.Calendar.from_ical(body))
    assert str(event["UID"]) == invite.uid
    assert event.decoded("DTSTART") == invite.starts_at
    assert event.decoded("DTEND") == invite.ends_at
    assert event["SEQUENCE"] == invite.sequence


def test_an_update_replaces_the_stored_object(radicale: int) -> None:
    path = "/mentormail/calendar/update.ics"
    first = dataclasses.replace(CALL, uid="update@example.org")
    assert request(radicale, "PUT", path, as_stored(first).to_ical())[0] == 201
    for later in (UPDATE, CANCEL):
        changed = dataclasses.replace(later, uid="update@example.org")
        assert request(radicale, "PUT", path, as_stored(changed).to_ical())[0] == 204
    event = the_event(icalendar.Calendar.from_ical(request(radicale, "GET", path)[1]))
    assert event["SEQUENCE"] == 2
    assert event["STATUS"] == "CANCELLED"
    assert event.decoded("DTSTART") == UPDATE.starts_at


def test_a_broken_event_is_refused(radicale: int) -> None:
    no_uid = as_stored(dataclasses.replace(CALL, uid="no-uid@example.org"))
    del the_event(no_uid)["UID"]
    status, _ = request(radicale, "PUT", "/mentormail/calendar/no-uid.ics", no_uid.to_ical())
    assert status == 400
    assert request(radicale, "GET", "/mentormail/calendar/no-uid.ics")[0] == 404

    garbled = build_calendar(dataclasses.replace(CALL, uid="garbled@example.org")).replace(
        b"DTSTART;TZID=America/Los_Angeles:20210712T120000", b"DTSTART:noon"
    )
    status, _ = request(radicale, "PUT", "/mentormail/calendar/garbled.ics", garbled)
    assert status == 400


def test_the_same_uid_under_another_name_is_a_conflict(radicale: int) -> None:
    invite = dataclasses.replace(CALL, uid="twice@example.org")
    assert (
        request(radicale, "PUT", "/mentormail/calendar/a.ics", as_stored(invite).to_ical())[0]
        == 201
    )
    status, _ = request(radicale, "PUT", "/mentormail/calendar/b.ics", as_stored(invite).to_ical())
    assert status == 409
