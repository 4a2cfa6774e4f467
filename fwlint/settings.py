"""The settings one lint run uses (after configuration files and the command line merged).

Loading configuration files lives in ``fwlint.config``; this module only holds the values
and answers "is this code selected?" and "what severity does it get?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .findings import Severity


@dataclass
class Settings:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: Optional[Severity] = Severity.INFO  # None: never fail
    policy: Optional[str] = "baseline"  # a built-in name, a path, or None for no policy
    format: Optional[str] = None  # input format override
    include_dirs: tuple[str, ...] = ()
    options: dict[str, dict] = field(default_factory=dict)  # per-check options by code

    def selects(self, code: str, name: str) -> bool:
        """True when ``code`` is selected: the most specific matching selector wins."""
        chosen = _best(self.select + self.extend_select, code, name)
        dropped = _best(self.ignore, code, name)
        if chosen < 0:
            return False
        return dropped < chosen or dropped < 0


def _best(selectors: tuple[str, ...], code: str, name: str) -> int:
    """Length of the most specific selector matching the check; -1 when none matches."""
    best = -1
    for selector in selectors:
        s = selector.strip()
        if s == "ALL":
            best = max(best, 0)
        elif s == name or s.upper() == code:
            best = max(best, 100)
        elif s.upper().startswith("FW") and code.startswith(s.upper()):
            best = max(best, len(s))
    return best
