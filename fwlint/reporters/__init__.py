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
}


def get_reporter(name: str) -> Callable[..., str]:
    try:
        target = REPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; expected one of "
                         + ", ".join(REPORTERS)) from None
    module_name, function = target.split(":")
    return getattr(importlib.import_module(module_name), function)
