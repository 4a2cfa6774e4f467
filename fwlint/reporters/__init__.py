"""Reporters: pure functions from lint results to text.  One module per family of formats.

Each reporter is ``render(results, **context) -> str``; ``context`` may carry the checks
registry and the tool version but never parser or configuration objects.
"""

from __future__ import annotations

import importlib
from typing import Callable

#: format name -> "module:function" (imported only when that format is asked for)
REPORTERS = {
    "full": "fwlint.reporters.text:render_full",
    "concise": "fwlint.reporters.text:render_concise",
    "json": "fwlint.reporters.json:render",
    "sarif": "fwlint.reporters.sarif:render",
    "junit": "fwlint.reporters.junit:render",
    "github": "fwlint.reporters.ci:render_github",
    "gitlab": "fwlint.reporters.ci:render_gitlab",
}


def get_reporter(name: str) -> Callable[..., str]:
    try:
        target = REPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; expected one of "
                         + ", ".join(REPORTERS)) from None
    module_name, function = target.split(":")
    return getattr(importlib.import_module(module_name), function)


def write_atomic(path: str, text: str) -> None:
    """Write a report so readers never see half a file: a temporary file in the same
    folder, then ``os.replace``."""
    import os
    import tempfile

    if os.path.exists(path) and not os.path.isfile(path):
        # /dev/null, /dev/stdout, a FIFO: written in place, never replaced by a regular file
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".fwlint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
