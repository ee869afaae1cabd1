"""The pure core: program model, schedule and roster loading, planner. No I/O beyond reading files."""
