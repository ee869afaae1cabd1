"""`mentormail doctor`: will this deployment work? (checks.py; the OAuth2 sign-in: grants.py)"""

from daemon.doctor.checks import diagnose, state_check
from daemon.doctor.result import Check, report

__all__ = ["Check", "diagnose", "report", "state_check"]
