"""mentormail: runs mentoring programs by email and calendar."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mentormail")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"
