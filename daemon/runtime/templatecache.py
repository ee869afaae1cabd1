"""Compiled templates kept between runs: Jinja's bytecode cache, on disk.

Every command that renders (validate, tick, run, preview, demo, doctor) would otherwise compile
each template again, which is most of its time. An entry is found by the template's name and
path and checked against the checksum of its source, so an edited template is compiled afresh;
text and HTML templates compile to different code (HTML autoescapes), so each kind has files
of its own, and so has each version of mentormail and of the code it compiles templates to. The
folder is Jinja's private one (0700, its ownership checked) in the temporary folder — a service
with PrivateTmp= keeps it for the run. Where nothing can be written, nothing is kept and nothing
fails.
"""

from __future__ import annotations

import contextlib

import jinja2
from jinja2.bccache import Bucket

from daemon import __version__
from daemon.mail import outside, shape


class TemplateCache(jinja2.FileSystemBytecodeCache):
    def __init__(self, kind: str) -> None:
        code = f"u{shape.VERSION}c{outside.CODE_VERSION}"  # what the compiled code holds and calls
        super().__init__(pattern=f"__mentormail_{__version__}_{kind}_{code}_%s.cache")

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError, ValueError, EOFError):
            super().load_bytecode(bucket)


def template_cache(kind: str) -> TemplateCache | None:
    """The cache for one kind of template environment ("text" or "html"), if one can be had."""
    try:
        return TemplateCache(kind)
    except (OSError, RuntimeError):  # no private folder to be had
        return None
