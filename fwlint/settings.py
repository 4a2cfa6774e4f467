"""The settings one lint run uses (after configuration files and the command line merged).

Loading configuration files lives in ``fwlint.config``; this module only holds the values
and answers "is this code selected?" and "what severity does it get?".

Selection is layered like ruff's: the defaults, then each inherited configuration file,
then the closest one, then the command line.  A layer with ``select`` starts over; a
layer with only ``extend-select``/``ignore`` adjusts what the layers below chose.  Within
one layer the most specific selector wins (a code beats a prefix, a longer prefix beats a
shorter one, an ignore beats a select of the same specificity).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Optional

from .findings import Severity


@dataclass(frozen=True)
class Selection:
    """One layer of ``select``/``extend-select``/``ignore`` (``select`` None: keep the lower)."""

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def decide(self, code: str, name: str, below: bool) -> bool:
        """Whether this layer selects the check, given what the layers below decided."""
        chosen = specificity((self.select or ()) + self.extend_select, code, name)
        dropped = specificity(self.ignore, code, name)
        if self.select is not None:
            return chosen >= 0 and dropped < chosen
        if chosen >= 0 and chosen > dropped:
            return True
        if dropped >= 0:
            return False
        return below


@dataclass(frozen=True)
class PerFileIgnore:
    """``per-file-ignores``: a glob (relative to the configuration's folder) and its codes."""

    pattern: str
    codes: tuple[str, ...]
    base_dir: str = ""

    def matches(self, path: str) -> bool:
        return path_matches(self.pattern, path, self.base_dir)


@dataclass
class Settings:
    """Everything that decides how one file is linted (the configuration and command line
    resolved for it)."""

    select: Optional[tuple[str, ...]] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: Optional[Severity] = Severity.INFO  # None: never fail
    policy: Optional[str] = "baseline"  # a built-in name, a path, or None for no policy
    format: Optional[str] = None  # input format override
    include_dirs: tuple[str, ...] = ()
    options: dict[str, dict] = field(default_factory=dict)  # per-check options by code
    #: selection layers below select/extend_select/ignore (inherited configuration files)
    layers: tuple[Selection, ...] = ()
    per_file_ignores: tuple[PerFileIgnore, ...] = ()
    #: globs of files not to lint, each with the folder it is relative to
    exclude: tuple[tuple[str, str], ...] = ()
    #: run-wide choices a configuration file may make (the command line wins)
    output_format: Optional[str] = None
    baseline: Optional[str] = None

    def selects(self, code: str, name: str, path: str = "") -> bool:
        """True when ``code`` is selected (for ``path``, when per-file ignores apply)."""
        chosen = False
        for layer in self.layers + (Selection(self.select, self.extend_select, self.ignore),):
            chosen = layer.decide(code, name, chosen)
        if chosen and path:
            for entry in self.per_file_ignores:
                if specificity(entry.codes, code, name) >= 0 and entry.matches(path):
                    return False
        return chosen

    def excludes(self, path: str) -> bool:
        """True when ``path`` matches an ``exclude`` glob."""
        return any(path_matches(pattern, path, base) for pattern, base in self.exclude)


def path_matches(pattern: str, path: str, base_dir: str = "") -> bool:
    """Glob match on the path relative to ``base_dir``, or on the file name alone when the
    pattern has no slash (so ``*.nft`` works in any folder)."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, base_dir or os.getcwd()).replace(os.sep, "/")
    if "/" not in pattern.rstrip("/"):
        parts = relative.split("/")
        return any(fnmatch.fnmatchcase(part, pattern.rstrip("/")) for part in parts)
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    return fnmatch.fnmatchcase(relative, pattern.rstrip("/") + "/*")


def specificity(selectors: tuple[str, ...], code: str, name: str) -> int:
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
