"""Loading a deployment: config.toml, the environment and systemd credentials, the schedule,
the roster, templates and resource files — every problem reported at once with file and line."""
