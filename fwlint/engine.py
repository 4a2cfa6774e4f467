"""The linter: read a file, parse it, run the selected checks, stamp findings."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Sequence

from .checks import registry
from .checks.base import CheckContext, CheckInfo
from .findings import Finding, Problem, Severity, fingerprint
from .model import ParseError, Ruleset, Span
from .parsing import detect_format, parse_text
from .settings import Settings, specificity
from .errors import UsageError
from .limits import Limits, jump_depth_errors, oversized_file

#: line and column references in messages, left out of fingerprints
_POSITION_RE = re.compile(r"(\blines? \d+(\s*(-|and|,)\s*\d+)*|:\d+(:\d+)?\b)")
#: check targets that look at other findings, run by the engine after the rest
RESULT_TARGETS = ("suppression", "baseline")


@dataclass
class FileResult:
    """What linting one file gave: its findings, and the model when the run keeps it."""

    path: str
    format: str = ""
    findings: list[Finding] = field(default_factory=list)
    ruleset: Optional[Ruleset] = None


def decode(data: bytes, path: str) -> tuple[str, tuple[ParseError, ...]]:
    """Bytes -> text; a binary or non-UTF-8 file gives a ParseError, never an exception."""
    if b"\x00" in data[:8192]:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        return "", (ParseError(Span(path, line, 1, line, 1),
                               "binary file (contains NUL bytes), not a firewall rule file"),)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        text = data.decode("utf-8", errors="replace")
        return text, (ParseError(Span(path, line, column, line, column),
                                 f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
                                 "the undecodable bytes were replaced"),)


def lint_text(text: str, path: str = "<stdin>", settings: Optional[Settings] = None,
              extra_errors: Sequence[ParseError] = ()) -> FileResult:
    """Lint one file's text: parse, run the selected checks, apply inline suppressions."""
    return _lint([text], path, settings, extra_errors)


def _lint(source: list[str], path: str, settings: Optional[Settings],
          extra_errors: Sequence[ParseError]) -> FileResult:
    """lint_text of the one text in ``source``, which is taken out of the list.

    The suppression directives are read before the checks run, and the text is let go
    then: when the caller keeps no other reference (lint_file), the checks run without it.
    On bench/out/iptables-100000.rules that is 16 MB less at the peak of the check.
    """
    text = source.pop()
    settings = settings or Settings()
    fmt = settings.format or detect_format(text, path)
    limits = Limits.from_options(settings.options.get("FW010"))
    parsed = parse_text(text, path, fmt, include_dirs=settings.include_dirs, limits=limits)
    ctx = CheckContext(ruleset=parsed.ruleset)
    ctx.errors = (tuple(extra_errors) + parsed.errors
                  + tuple(jump_depth_errors(parsed.ruleset, limits, ctx.jump_graph)))
    directives = _find_directives(ctx, text)
    del text
    ctx.policy = _load_policy(settings) if settings.policy else None
    checks = selected_checks(settings, path)
    findings = run_checks(ctx, checks, settings)
    findings = _apply_directives(ctx, directives, findings, checks, settings)
    return FileResult(path=path, format=fmt, findings=findings, ruleset=parsed.ruleset)


def lint_file(path: str, settings: Optional[Settings] = None) -> FileResult:
    """Lint one file on disk (``-`` reads standard input)."""
    path, text, errors = read_source(path, Limits.from_options(
        (settings or Settings()).options.get("FW010")))
    source = [text]
    del text  # _lint lets the text go before the checks
    return _lint(source, path, settings, extra_errors=errors)


def read_source(path: str, limits: Limits) -> tuple[str, str, tuple[ParseError, ...]]:
    """(path as shown, text, errors) of a file or ``-``: bounded by ``limits``, FIFO-safe.

    Content problems (too large, binary, not UTF-8) are errors, not exceptions; a path that
    cannot be opened at all raises UsageError.  Every command reads its input through here.
    """
    import sys
    if path == "-":
        data = sys.stdin.buffer.read(limits.max_file_bytes + 1)
        size = len(data)
        path = "<stdin>"
    else:
        try:
            data, size = _read_bounded(path, limits.max_file_bytes)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    too_large = oversized_file(path, max(size, len(data)), limits)
    if too_large is not None:
        return path, "", (too_large,)
    text, errors = decode(data, path)
    return path, text, errors


def _read_bounded(path: str, max_bytes: int) -> tuple[bytes, int]:
    """At most ``max_bytes + 1`` bytes of a file, and its size when it is a regular file.

    Opened non-blocking so a FIFO nobody writes to reads as empty instead of hanging.
    """
    import fcntl
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as handle:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        info = os.fstat(fd)
        size = info.st_size if stat.S_ISREG(info.st_mode) else 0
        if size > max_bytes:
            return b"", size
        return handle.read(max_bytes + 1), size


def selected_checks(settings: Settings, path: str = "") -> list[CheckInfo]:
    """The checks to run (on ``path``, when per-file ignores apply)."""
    return [info for info in registry().values()
            if settings.selects(info.code, info.name, path)]


def run_checks(ctx: CheckContext, checks: Iterable[CheckInfo], settings: Settings) -> list[Finding]:
    """Run checks against one context and stamp their problems into findings."""
    findings: list[Finding] = []
    rule_checks: list[CheckInfo] = []
    path = ctx.ruleset.path
    rule_keys = _RuleKeys(ctx.ruleset)
    for info in checks:
        if info.target == "rule":
            rule_checks.append(info)
            continue
        if info.target in RESULT_TARGETS:
            continue
        if _skipped(info, ctx):
            continue
        ctx.options = settings.options.get(info.code, {})
        findings.extend(stamp(info, problem, path, settings, rule_keys)
                        for problem in info.check(ctx))
    if rule_checks:
        findings.extend(_run_rule_checks(ctx, rule_checks, settings, rule_keys))
    if ctx.policy is not None:
        findings = ctx.policy.regrade(findings, settings.severity)
    findings.sort(key=Finding.sort_key)
    return findings


def _run_rule_checks(ctx: CheckContext, rule_checks: list[CheckInfo], settings: Settings,
                     rule_keys: _RuleKeys) -> Iterator[Finding]:
    """Every rule through the rule checks that look at it.

    A check that declares ``MATCHES`` (the match classes it reads) is called only for rules
    holding one of them; the checks to call are looked up once per distinct sequence of match
    classes.  On bench/out/iptables-100000.rules the four rule checks took 0.48 s CPU when
    called for every rule, 0.19 s so (with their own fast paths for the common values).

    FW206, FW207 and FW302 (called for 24,692, 24,692 and 46,181 rules there) are compiled
    with mypyc where the build can: this pass 0.110 s CPU pure, 0.093 s so.  This loop is
    not: compiled code reads the model's attributes (plain Python classes) no faster than
    CPython 3.11's specialised bytecode, and compiling the engine gained nothing measurable.
    """
    path = ctx.ruleset.path
    options = [settings.options.get(info.code, {}) for info in rule_checks]
    plans: dict[tuple, list[tuple[CheckInfo, dict]]] = {}

    def plan_for(classes: tuple) -> list[tuple[CheckInfo, dict]]:
        plan = [(info, opts) for info, opts in zip(rule_checks, options)
                if info.matches is None or any(issubclass(c, info.matches) for c in classes)]
        plans[classes] = plan
        return plan

    for table in ctx.ruleset.tables:
        for chain in table.chains:
            for rule in chain.rules:
                matches = rule.matches
                # a rule of one match (two thirds of a kube-proxy dump) is looked up by that
                # match's class (a tuple of classes built and hashed per rule: 0.07 s a pass)
                classes = (matches[0].__class__,) if len(matches) == 1 else \
                    tuple(map(type, matches))
                plan = plans.get(classes)
                if plan is None:
                    plan = plan_for(classes)
                for info, opts in plan:
                    ctx.options = opts
                    problems = info.check(ctx, table, chain, rule)
                    if problems:  # an empty tuple: nothing to iterate
                        for problem in problems:
                            yield stamp(info, problem, path, settings, rule_keys)


def _skipped(info: CheckInfo, ctx: CheckContext) -> bool:
    """Checks that cannot run on this file: policy checks without a policy, analysis on a
    file that did not parse at all."""
    if info.target == "policy" and ctx.policy is None:
        return True
    if info.target in ("analysis", "policy") and any(e.limit == "max-jump-depth"
                                                     for e in ctx.errors):
        return True
    return info.target in ("analysis", "policy") and bool(ctx.errors) and not ctx.ruleset.tables


def _find_directives(ctx: CheckContext, text: str) -> list:
    """The suppression directives of the file (``text``), of the files it includes and of
    its rules' comments."""
    from . import suppress

    path = ctx.ruleset.path
    texts = {path: text}
    for source in ctx.ruleset.sources:
        if source not in texts:
            try:
                with open(source, encoding="utf-8", errors="replace") as handle:
                    texts[source] = handle.read()
            except OSError:
                continue
    return suppress.find_directives(ctx.ruleset, texts)


def _apply_directives(ctx: CheckContext, directives: list, findings: list[Finding],
                      checks: Sequence[CheckInfo], settings: Settings) -> list[Finding]:
    """Mark findings that ``directives`` suppress, then run the checks about directives."""
    from . import suppress

    path = ctx.ruleset.path
    if not directives:
        return findings
    ran = [info for info in checks
           if info.target not in RESULT_TARGETS and not _skipped(info, ctx)]

    def selected(selector: str) -> bool:
        """Whether "unused" can be said: only of checks that ran on a file that parsed."""
        known = [info for info in registry().values()
                 if specificity((selector,), info.code, info.name) >= 0]
        if not known:
            return True
        return not ctx.errors and any(info in ran for info in known)

    findings, report = suppress.apply(findings, directives, selected)
    for info in checks:
        if info.target == "suppression":
            ctx.options = settings.options.get(info.code, {})
            findings.extend(stamp(info, problem, path, settings)
                            for problem in info.check(ctx, report))
    findings.sort(key=Finding.sort_key)
    return findings


def stamp(info: CheckInfo, problem: Problem, path: str, settings: Settings,
           rule_keys: Optional[_RuleKeys] = None) -> Finding:
    # the first set of: configured, the problem's own, the check's (tested in order, not
    # with next() over a generator: 1 us of the 4.6 us a stamp cost, 6,080 stamps a run on
    # bench/out/iptables-100000.rules)
    severity = settings.severity.get(info.code)
    if severity is None:
        severity = problem.severity if problem.severity is not None else info.severity
    key = problem.key
    if not key:
        rule_key = rule_keys(problem.span) if rule_keys else ""
        key = f"{rule_key}|{_POSITION_RE.sub('', problem.message)}"
    return Finding(code=info.code, name=info.name, severity=severity, message=problem.message,
                   span=problem.span, related=problem.related, certainty=problem.certainty,
                   fingerprint=fingerprint(info.code, os.path.basename(path), key, ""))


class _RuleKeys:
    """table/chain/rule text of the rule a problem points into: a key without line numbers,
    for checks that give none (built on first use, once per file)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._by_line: Optional[dict[tuple[str, int], str]] = None

    def __call__(self, span: Span) -> str:
        if self._by_line is None:
            self._by_line = {}
            for table, chain, rule in self.ruleset.iter_rules():
                key = f"{table.family} {table.name}/{chain.name}/{' '.join(rule.text.split())}"
                for line in range(rule.span.line, max(rule.span.end_line, rule.span.line) + 1):
                    self._by_line.setdefault((rule.span.path, line), key)
        return self._by_line.get((span.path, span.line), "")


def _load_policy(settings: Settings):
    try:
        from .policy import load_policy
    except ImportError:
        return None
    return load_policy(settings.policy)


def exit_code(results: Iterable[FileResult], fail_on: Optional[Severity]) -> int:
    """0 when no unsuppressed finding reaches ``fail_on``; 1 otherwise."""
    if fail_on is None:
        return 0
    for result in results:
        for finding in result.findings:
            if finding.suppressed is None and finding.severity >= fail_on:
                return 1
    return 0
