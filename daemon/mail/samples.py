"""Sample contents for the mail that mentormail writes at run time (an alert, an answer, the
weekly digest): `validate` renders each template with them, and `preview` shows the digest."""

from __future__ import annotations

from typing import Any

SAMPLE_FAILURE: dict[str, Any] = {
    "title": "Week 1",
    "recipients": ["someone@example.org"],
    "state": "unknown",
    "error": "connection lost after the final dot",
    "message_id": "<x@example.org>",
    "attempts": 1,
}


# every kind of answer, as the reply handling fills them: validate renders each one
SAMPLE_ANSWERS: tuple[dict[str, Any], ...] = (
    {"kind": "recorded", "subject": "Recorded: Meeting 1", "recorded": ["Meeting 1"],
     "fields": ["Progress made"], "private": ["Key learnings"]},
    {"kind": "negative", "subject": "Noted: Meeting 1", "recorded": ["Meeting 1"], "answer": "no"},
    {"kind": "noted", "subject": "Received", "note": "The organizers will read it."},
    {"kind": "help", "subject": "How to use the program's email"},
    {"kind": "status", "subject": "Your status", "as_of": "Monday 4 May 2026",
     "open": [{"title": "Meeting 1", "due": "Sunday 10 May 2026"}], "done": ["Agreement"],
     "events": [{"title": "Call", "when": "Tuesday 5 May 2026, 12:00 PM CDT"}],
     "paused_until": ""},
    {"kind": "paused", "subject": "Paused", "until": "1 June 2026"},
    {"kind": "resumed", "subject": "Resumed"},
    {"kind": "withdrawn", "subject": "You have left the program"},
    {"kind": "meeting", "subject": "Meeting set", "when": "Monday 4 May 2026, 2:00 PM CDT",
     "unit": "pair"},
    {"kind": "not-understood", "subject": "Not understood", "problem": "no date after PAUSE"},
    {"kind": "notice", "subject": "Sam Sample left the program", "lines": ["Sent WITHDRAW."]},
    {"kind": "relay", "subject": "From Sam Sample: a message for the organizers",
     "name": "Sam Sample", "email": "sam@example.org", "reply_to": "sam@example.org",
     "subject_was": "Re: Week 1", "lines": ["Can I still opt in?", "", "Sam"], "cut": False,
     "verified": False},
    {"kind": "confirm", "subject": "Please confirm: leave the program", "what": "leave the program",
     "command": "WITHDRAW", "until": "Monday 11 May 2026"},
)  # fmt: skip

# what a digest says (decide/digest.py), for validate to render the digest template with
SAMPLE_DIGEST: dict[str, Any] = {
    "week": 2,
    "units": [
        {
            "name": "Group owls",
            "met": 1,
            "pending": 1,
            "overdue": 1,
            "excused": 0,
            "owing": [
                {
                    "title": "Small Group Meeting 1",
                    "who": "Sam Sample",
                    "id": "small-group-meeting-1",
                    "excuse": "EXCUSE sam@example.org small-group-meeting-1",
                    "extend": "EXTEND sam@example.org small-group-meeting-1 2026-05-11",
                    "excuse_link": "mailto:program@example.org?subject=EXCUSE%20sam%40example"
                    ".org%20small-group-meeting-1",
                    "extend_link": "mailto:program@example.org?subject=EXTEND%20sam%40example"
                    ".org%20small-group-meeting-1%202026-05-11",
                }
            ],
        }
    ],
    "rsvps": {"accepted": 3, "declined": 1},
    "next_event": {
        "title": "Community call",
        "starts_at": "2026-05-04T19:00:00Z",
        "accepted": 3,
        "declined": 1,
        "tentative": 0,
        "no_answer": 2,
    },
    "bouncing": ["Sam Sample <sam@example.org>"],
    "paused": ["Sam Sample"],
    "withdrawn": [],
    "unmatched": 2,
    "refused": 1,
    "checkins": 5,
    "untracked": 1,
}
