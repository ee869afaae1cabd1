"""mentormail: runs mentoring programs by email and calendar."""

# The one place the version is written (pyproject reads it: [tool.hatch.version]); a constant,
# not importlib.metadata, whose import alone took a third of `mentormail --version`'s budget
__version__ = "0.1.0"
