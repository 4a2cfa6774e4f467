"""Inline suppressions, found by scanning the source lines (the parsers need not know them).

Forms (``CODES`` is a comma-separated list of codes, names or prefixes):

- ``# fwlint: ignore[CODES]`` on a line of its own: the next rule (iptables-restore only
  accepts ``#`` at the start of a line);
- ``… # fwlint: ignore[CODES]`` after a rule (nft, shell scripts): that rule;
- ``fwlint: ignore[CODES]`` inside the rule's own comment (``-m comment --comment``, nft
  ``comment``), which survives ``iptables-save`` and ``nft list ruleset``;
- ``# fwlint: file-ignore[CODES]``: the whole file.

Each may carry ``reason="…"`` (or free text) and ``until=YYYY-MM-DD``; after that day the
directive no longer suppresses and is itself reported (FW003).  A directive that suppresses
nothing among the selected checks is reported (FW002).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from .findings import Finding, Suppression
from .model import Ruleset, Span
from .settings import specificity

_MARK_RE = re.compile(r"#\s*(fwlint\s*:.*)$")
#: what every line _MARK_RE matches holds: a text without it has no directive line
_MARK_START_RE = re.compile(r"#\s*fwlint\s*:")
_DIRECTIVE_RE = re.compile(
    r"fwlint\s*:\s*(?P<kind>file-ignore|ignore)\b\s*(?:\[(?P<codes>[^\]]*)\])?(?P<rest>.*)")
_REASON_RE = re.compile(r"""reason\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))""")
_UNTIL_RE = re.compile(r"until\s*=\s*(?P<date>\S+)")
_WHOLE_FILE = (1, 1 << 62)


@dataclass(frozen=True)
class Directive:
    """One suppression as written: where it is and which lines of which file it covers."""

    kind: str  # "inline" | "comment" | "file"
    selectors: tuple[str, ...]
    span: Span
    covers: tuple[int, int]
    reason: str = ""
    until: Optional[_dt.date] = None
    #: why the directive cannot be used (no codes, bad date), empty when it is well formed
    invalid: str = ""

    def expired(self, today: _dt.date) -> bool:
        return self.until is not None and today > self.until

    def applies(self, finding: Finding) -> bool:
        return (finding.span.path == self.span.path
                and self.covers[0] <= finding.span.line <= self.covers[1]
                and specificity(self.selectors, finding.code, finding.name) >= 0)


@dataclass
class Report:
    """What applying the directives of one file found, for checks FW002 and FW003."""

    #: (directive, selector) pairs that suppressed nothing
    unused: list[tuple[Directive, str]] = field(default_factory=list)
    expired: list[Directive] = field(default_factory=list)
    invalid: list[Directive] = field(default_factory=list)


def parse_directive(text: str, kind: str, span: Span, covers: tuple[int, int]) -> Optional[Directive]:
    """A Directive from text containing ``fwlint: ignore[…]``, None when there is none."""
    match = _DIRECTIVE_RE.search(text)
    if match is None:
        return None
    if match.group("kind") == "file-ignore":
        kind, covers = "file", _WHOLE_FILE
    rest = match.group("rest")
    from .config import canonical

    selectors = canonical(c for c in (match.group("codes") or "").split(",") if c.strip())
    invalid = "" if selectors else "names no check; write fwlint: ignore[CODE]"
    until = None
    until_match = _UNTIL_RE.search(rest)
    if until_match:
        try:
            until = _dt.date.fromisoformat(until_match.group("date"))
        except ValueError:
            invalid = f"has an invalid date until={until_match.group('date')} (use YYYY-MM-DD)"
        rest = rest[:until_match.start()] + rest[until_match.end():]
    reason_match = _REASON_RE.search(rest)
    if reason_match:
        reason = next(g for g in reason_match.group("dq", "sq", "bare") if g is not None)
    else:
        reason = rest.strip(" \t:-—\"'")
    return Directive(kind=kind, selectors=selectors, span=span, covers=covers,
                     reason=reason.strip(), until=until, invalid=invalid)


def find_directives(ruleset: Ruleset, texts: dict[str, str]) -> list[Directive]:
    """Every directive in the source files (``texts``: path -> text) and rule comments."""
    directives: list[Directive] = []
    for table in ruleset.tables:
        for chain in table.chains:
            for rule in chain.rules:
                if rule.comment and "fwlint" in rule.comment:
                    found = parse_directive(rule.comment, "comment", rule.span,
                                            (rule.span.line, rule.span.end_line))
                    if found is not None:
                        directives.append(found)
    rules_by_path: Optional[dict[str, list[Span]]] = None
    for path, text in texts.items():
        if "fwlint" not in text or not _MARK_START_RE.search(text):
            continue  # splitting 100,000 lines to look at each costs 0.02 s
        lines = text.splitlines()
        for index, line in enumerate(lines):
            mark = _MARK_RE.search(line) if "fwlint" in line else None
            if mark is None:
                continue
            if rules_by_path is None:
                # only once a directive is found: reading every rule's span costs 0.08 s
                # CPU on 100,000 rules (spans are built when first read)
                rules_by_path = {}
                for _table, _chain, rule in ruleset.iter_rules():
                    rules_by_path.setdefault(rule.span.path, []).append(rule.span)
            number = index + 1
            span = Span(path, number, mark.start() + 1, number, len(line))
            if line.lstrip().startswith("#"):
                target = _next_code_line(lines, index + 1)
            else:
                target = number
            found = parse_directive(mark.group(1), "inline", span,
                                    _rule_lines(rules_by_path.get(path, []), target))
            if found is not None:
                directives.append(found)
    return directives


def _next_code_line(lines: Sequence[str], start: int) -> int:
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            return index + 1
    return len(lines) + 1


def _rule_lines(rule_spans: Iterable[Span], line: int) -> tuple[int, int]:
    """The lines of the rule written on ``line`` (a rule may span several), else that line."""
    for span in rule_spans:
        if span.line <= line <= max(span.end_line, span.line):
            return span.line, max(span.end_line, span.line)
    return line, line


def apply(findings: list[Finding], directives: list[Directive], selected,
          today: Optional[_dt.date] = None) -> tuple[list[Finding], Report]:
    """Mark the findings that directives suppress; report unused, expired and invalid ones.

    ``selected(selector) -> bool`` says whether a selector names any check that ran, so a
    directive for a check that is switched off is not called unused.
    """
    today = today or _dt.date.today()
    report = Report()
    usable = []
    for directive in directives:
        if directive.invalid:
            report.invalid.append(directive)
        elif directive.expired(today):
            report.expired.append(directive)
        else:
            usable.append(directive)
    order = {"comment": 0, "inline": 1, "file": 2}
    usable.sort(key=lambda d: order[d.kind])
    used: set[tuple[int, str]] = set()
    out = []
    for finding in findings:
        for directive in usable:
            if finding.suppressed is None and directive.applies(finding):
                for selector in directive.selectors:
                    if specificity((selector,), finding.code, finding.name) >= 0:
                        used.add((id(directive), selector))
                finding = finding.with_suppression(
                    Suppression(kind=directive.kind, reason=directive.reason, span=directive.span))
                break
        out.append(finding)
    for directive in usable:
        for selector in directive.selectors:
            if (id(directive), selector) not in used and selected(selector):
                report.unused.append((directive, selector))
    return out, report
