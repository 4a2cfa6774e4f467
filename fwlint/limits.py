"""Resource bounds: how much fwlint reads and how deep it follows, so hostile input ends in a
finding (FW010 resource-limit) instead of a hang, a crash or an exhausted machine.

The defaults sit far above real rulesets (the largest Kubernetes and Docker hosts write a
few megabytes; the kernel itself refuses jumps nested deeper than 16 chains) and far below
what would hurt a CI runner.  They are the options of FW010 and can be changed in the
configuration (``[tool.fwlint.options.FW010]``).

Includes are read only inside the include root (the repository the file lives in: the
nearest folder above it holding ``.git``, else the file's own folder) or inside a folder
given with ``-I``/``--include-dir``: a repository must not make fwlint read
``/etc/shadow`` or ``/proc/kcore`` into a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence

from .model import ParseError, Ruleset, Span, Table

if TYPE_CHECKING:
    from .checks.jumps import JumpGraph

#: option name -> default; FW010's OPTIONS
DEFAULTS: dict[str, int] = {
    "max-file-bytes": 64 * 1024 * 1024,
    "max-include-depth": 16,
    "max-includes": 512,
    "max-jump-depth": 64,
}
#: the ``ParseError.limit`` of an include that points outside the include root
OUTSIDE_ROOT = "include-outside-root"


@dataclass(frozen=True)
class Limits:
    """The resource bounds of one run (FW010's options)."""

    max_file_bytes: int = DEFAULTS["max-file-bytes"]
    max_include_depth: int = DEFAULTS["max-include-depth"]
    max_includes: int = DEFAULTS["max-includes"]
    max_jump_depth: int = DEFAULTS["max-jump-depth"]
    #: tokens nft variables may add to one file (not an option: real files stay far below)
    max_expanded_tokens: int = 1_000_000

    @classmethod
    def from_options(cls, options: Optional[Mapping[str, int]]) -> "Limits":
        """Limits from FW010's configured options (missing ones keep their default)."""
        values = {**DEFAULTS, **(options or {})}
        return cls(*(int(values[name]) for name in DEFAULTS))


def limit_error(span: Span, limit: str, message: str, source_line: str = "") -> ParseError:
    """A ParseError that FW010 reports (FW001 leaves errors with a ``limit`` alone)."""
    return ParseError(span, message, source_line=source_line, limit=limit)


def oversized_file(path: str, size: int, limits: Limits) -> Optional[ParseError]:
    """The error for a file too large to read, or None when it fits."""
    if size <= limits.max_file_bytes:
        return None
    return limit_error(Span(path, 1, 1, 1, 1), "max-file-bytes",
                       f"file is {size} bytes, more than the limit of {limits.max_file_bytes}: "
                       "not read (raise FW010 option max-file-bytes to read it)")


def include_root(path: str) -> str:
    """The folder includes of ``path`` must stay in: its repository, else its own folder."""
    if path in ("", "-", "<stdin>"):
        return os.path.realpath(os.getcwd())
    folder = os.path.dirname(os.path.realpath(path))
    probe = folder
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return folder
        probe = parent


def inside(candidate: str, roots: Sequence[str]) -> bool:
    """True when ``candidate`` (symlinks resolved) lies in one of ``roots``."""
    real = os.path.realpath(candidate)
    for root in roots:
        root = os.path.realpath(root)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def jump_depth_errors(ruleset: Ruleset, limits: Limits,
                      jump_graph: Optional[Callable[[Table], "JumpGraph"]] = None
                      ) -> list[ParseError]:
    """One error per table whose jumps nest deeper than the limit.

    Depth is the number of chains on the longest jump/goto path, a cycle counting all its
    chains: that bounds how deep anything that follows jumps may go (cycles themselves are
    FW204's).  ``jump_graph``: where to get a table's graph (the engine's CheckContext, which
    shares it with the checks); built afresh without it.
    """
    if jump_graph is None:
        from .checks.jumps import JumpGraph
        jump_graph = JumpGraph
    errors = []
    for table in ruleset.tables:
        graph = jump_graph(table)
        if graph.depth() > limits.max_jump_depth:
            depth, start = graph.deepest()
            chain = table.chain(start)
            errors.append(limit_error(
                chain.span if chain is not None else table.span, "max-jump-depth",
                f"jumps from chain {start} of table {table.family} {table.name} nest "
                f"{depth} chains deep, more than the limit of {limits.max_jump_depth}: "
                "analysis and policy checks skipped for this file"))
    return errors
