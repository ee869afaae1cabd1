"""The pure core: the schedule model, people, the Program, and its timeline (`timeline.plan`).

No I/O and no clock: the program's files were read by `daemon.config`.
"""
