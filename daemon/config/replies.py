"""Whether answers can be read: a schedule with obligations needs the mailbox replies arrive in.

Without `[imap] host` nobody's check-in is ever read, so every obligation becomes overdue and
everyone is flagged to the organizers. One pure rule, `unread_obligations`, says so; `validate`
refuses a config file that leaves the host out (`check_replies_readable`), while emptying it
from the environment (`MENTORMAIL_IMAP__HOST=`, a rehearsal against a local sink) is a choice
that passes, and that `doctor` warns about with the same words.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.config.deployment import Deployment
from daemon.errors import Problem

HINT = (
    "set [imap] host (with username and password) to the mailbox replies arrive in, see "
    "README 'Configuration reference'; only a schedule without obligations can do without"
)


def unread_obligations(deployment: Deployment) -> Problem | None:
    """The problem when the schedule has obligations but no mailbox is read, else None. It
    names the line of `[imap] host` (or, with no `[imap]` table, of `[program] schedule`,
    which brings the obligations), or the environment variable that emptied the host."""
    obligations = deployment.program.schedule.obligations
    if not obligations or deployment.settings.imap.host.strip():
        return None
    count = len(obligations)
    message = (
        f"the schedule has {count} obligation{'s' if count != 1 else ''}, but [imap] host is "
        "empty: answers are not read, so every obligation would become overdue and everyone "
        "would be flagged to the organizers"
    )
    problem = deployment.config_problem(("imap", "host"), message, HINT)
    source = deployment.config_source
    if problem.file == source.name and not problem.line:
        problem = replace(problem, line=source.line(("program", "schedule")))
    return problem


def chosen(deployment: Deployment, problem: Problem) -> bool:
    """Whether `problem` comes from the environment (a deliberate choice), not the file."""
    return problem.file != deployment.config_source.name


def check_replies_readable(deployment: Deployment) -> list[Problem]:
    """`validate`'s part: the problem when the config file leaves the host out."""
    problem = unread_obligations(deployment)
    return [problem] if problem and not chosen(deployment, problem) else []
