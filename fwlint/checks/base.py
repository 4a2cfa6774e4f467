"""What every check module provides, and the context the engine hands to checks.

A check module has, at the top: a docstring in the fixed sections (``## What it does``,
``## Why is this bad``, ``## Example``, ``## Use instead``, optionally ``## Options``),
then ``CODE``, ``NAME``, ``SEVERITY`` (a severity name), ``TARGET`` and ``OPTIONS``, and a
``check`` function that yields :class:`fwlint.findings.Problem` (or returns an iterable of
them: a rule check called for 100,000 rules returns ``()`` faster than a generator ends):

- ``TARGET = "rule"``: ``check(ctx, table, chain, rule)`` is called for every rule, or,
  when the module sets ``MATCHES`` (a tuple of match classes), for every rule holding one;
- ``TARGET = "ruleset"``: ``check(ctx)`` once per file (structure: chains, jumps, …);
- ``TARGET = "analysis"``: ``check(ctx)`` once per file, using ``ctx.analysis``;
- ``TARGET = "policy"``: ``check(ctx)`` once per file, using ``ctx.analysis`` and
  ``ctx.policy`` (skipped when no policy applies).
- ``TARGET = "suppression"``: ``check(ctx, report)`` once per file after the others, with
  the :class:`fwlint.suppress.Report` of its inline directives;
- ``TARGET = "baseline"``: ``check(ctx, baseline, entries)`` once per run with
  ``--baseline``, with the stale :class:`fwlint.baseline.Entry` values of one file.

Checks never read CLI flags or configuration: only ``ctx`` and their ``ctx.options``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from ..findings import Problem, Severity
from ..model import ParseError, Ruleset, Table

if TYPE_CHECKING:
    from .jumps import JumpGraph

TARGETS = ("parse", "rule", "ruleset", "analysis", "policy", "suppression", "baseline")
DOC_SECTIONS = ("What it does", "Why is this bad", "Example", "Use instead")
CODE_RE = re.compile(r"^FW[0-4]\d\d$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass
class CheckContext:
    """Everything a check may look at for one file."""

    ruleset: Ruleset
    errors: tuple[ParseError, ...] = ()
    policy: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    _analysis: Any = None
    _analyze: Optional[Callable[[Ruleset], Any]] = None
    _jump_graphs: dict = field(default_factory=dict, repr=False)

    def jump_graph(self, table: Table) -> "JumpGraph":
        """The jump graph of one of the ruleset's tables, built once per file (FW203, FW204,
        FW301 and the jump-depth limit all read it)."""
        entry = self._jump_graphs.get(id(table))
        if entry is None or entry.table is not table:
            from .jumps import JumpGraph

            entry = self._jump_graphs[id(table)] = JumpGraph(table)
        return entry

    @property
    def analysis(self) -> Any:
        """The packet-space analysis of the ruleset, computed once on first use."""
        if self._analysis is None:
            if self._analyze is None:
                from ..analysis import analyze
                self._analyze = analyze
            self._analysis = self._analyze(self.ruleset)
        return self._analysis


@dataclass(frozen=True)
class CheckInfo:
    """A registered check: its metadata and its ``check`` function."""

    code: str
    name: str
    severity: Severity
    target: str
    options: dict[str, Any]
    aliases: tuple[str, ...]
    doc: str
    check: Callable[..., Iterable[Problem]]
    module: str
    #: rule checks only: the match classes the check reads (None: it reads every rule)
    matches: Optional[tuple[type, ...]] = None

    @classmethod
    def from_module(cls, module: ModuleType) -> "CheckInfo":
        return cls(
            code=module.CODE,
            name=module.NAME,
            severity=Severity.parse(module.SEVERITY),
            target=module.TARGET,
            options=dict(getattr(module, "OPTIONS", {})),
            aliases=tuple(getattr(module, "ALIASES", ())),
            doc=(module_doc(module) or "").strip(),
            check=module.check,
            module=module.__name__,
            matches=getattr(module, "MATCHES", None),
        )

    @property
    def summary(self) -> str:
        """The first sentence of "What it does"."""
        section = doc_sections(self.doc).get("What it does", "")
        return " ".join(section.split()).split(". ")[0].rstrip(".")


def module_doc(module: ModuleType) -> Optional[str]:
    """A check module's docstring, also when the module is compiled.

    A module compiled with mypyc (fwlint/checks/fw206, fw207, fw302 when the build compiles
    them) has no ``__doc__``; its source sits beside it, and a check module's docstring is
    the first thing in it (this header's convention), so it is read from there: a literal
    up to the first closing quotes, not a parse of the whole file.
    """
    if module.__doc__ is not None or not getattr(module, "__file__", None):
        return module.__doc__
    import ast
    import os

    source = os.path.join(os.path.dirname(module.__file__ or ""),
                          module.__name__.rpartition(".")[2] + ".py")
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None
    quote = text[:3]
    end = text.find(quote, 3) if quote in ('"""', "'''") else -1
    try:
        doc = ast.literal_eval(text[:end + 3]) if end > 0 else None
    except (SyntaxError, ValueError):  # quotes escaped inside: parse the whole file
        doc = None
    return doc if isinstance(doc, str) else ast.get_docstring(ast.parse(text), clean=False)


def doc_sections(doc: str) -> dict[str, str]:
    """Split a check docstring into its ``## Section`` parts."""
    sections: dict[str, str] = {}
    current = None
    for line in doc.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return {k: v.strip("\n") for k, v in sections.items()}
