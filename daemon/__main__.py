"""`python -m daemon` is the same as the `mentormail` command."""

from daemon.cli import main

raise SystemExit(main())
