"""The pure core: program model, schedule and roster loading, planner.

No network and no wall clock; the only I/O is reading the program's own files.
"""
