"""Baselines: adopt fwlint in a repository that already has findings.

``fwlint baseline create FILE PATHS…`` records every current finding as an entry keyed by
path (relative to the baseline file), code and fingerprint; ``fwlint check --baseline FILE``
then marks findings that match an entry as suppressed (kind "baseline").  Fingerprints are
made from table, chain and normalised rule text, never line numbers, so inserting or moving
rules does not churn the baseline.  Entries for files that were checked but that match
nothing any more are stale (FW004).  The file is JSON with one entry per line, so diffs
stay readable and FW004 can point at the entry's line.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from .errors import UsageError
from .findings import Suppression
from .model import Span

VERSION = 1
#: findings never recorded in a baseline (they are about the baseline itself)
_NOT_RECORDED = ("FW004",)
_FINGERPRINT_RE = re.compile(r'"fingerprint"\s*:\s*"([^"]*)"')


@dataclass(frozen=True)
class Entry:
    path: str
    code: str
    fingerprint: str
    message: str = ""
    line: int = 0  # where the entry is written in the baseline file


@dataclass(frozen=True)
class Baseline:
    path: str
    entries: tuple[Entry, ...]

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))


def relative_path(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` with forward slashes (stdin stays ``<stdin>``)."""
    if path.startswith("<"):
        return path
    return os.path.relpath(os.path.abspath(path), folder).replace(os.sep, "/")


def render(results: Iterable, baseline_path: str) -> str:
    """The text of a baseline recording every unsuppressed finding of ``results``."""
    folder = os.path.dirname(os.path.abspath(baseline_path))
    entries = sorted(
        (relative_path(result.path, folder), f.code, f.fingerprint, f.message)
        for result in results for f in result.findings
        if f.suppressed is None and f.code not in _NOT_RECORDED)
    lines = [json.dumps({"path": p, "code": c, "fingerprint": fp, "message": m})
             for p, c, fp, m in entries]
    body = ",\n    ".join(lines)
    entries_text = f"[\n    {body}\n  ]" if lines else "[]"
    return (f'{{\n  "version": {VERSION},\n  "tool": "fwlint",\n'
            f'  "entries": {entries_text}\n}}\n')


def load(path: str) -> Baseline:
    """Read a baseline file; a missing or malformed one is a usage error (exit 2)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: baseline is not valid JSON: "
                         f"{exc.msg}") from None
    if not isinstance(document, dict) or document.get("version") != VERSION \
            or not isinstance(document.get("entries"), list):
        raise UsageError(f"{path}: not a fwlint baseline (version {VERSION}); "
                         "make one with 'fwlint baseline create'")
    lines_of: dict[str, list[int]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), 1):
        for raw in _FINGERPRINT_RE.findall(line):
            lines_of[raw].append(number)
    entries = []
    for raw in document["entries"]:
        try:
            entry = Entry(path=str(raw["path"]), code=str(raw["code"]),
                          fingerprint=str(raw["fingerprint"]), message=str(raw.get("message", "")))
        except (KeyError, TypeError):
            raise UsageError(f"{path}: baseline entry {raw!r} needs path, code and "
                             "fingerprint") from None
        found = lines_of.get(entry.fingerprint)
        line = found.pop(0) if found else 0
        entries.append(Entry(entry.path, entry.code, entry.fingerprint, entry.message, line))
    return Baseline(path=path, entries=tuple(entries))


def apply(results: Sequence, baseline: Baseline) -> dict[str, list[Entry]]:
    """Mark findings that match an entry as suppressed (in place, per result); return the
    stale entries of the files that were checked, by the path of their result."""
    available: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for entry in baseline.entries:
        available[(entry.path, entry.code, entry.fingerprint)].append(entry)
    checked = {}
    reason = f"in baseline {os.path.basename(baseline.path)}"
    for result in results:
        relative = relative_path(result.path, baseline.folder)
        checked[relative] = result.path
        marked = []
        for finding in result.findings:
            pool = available.get((relative, finding.code, finding.fingerprint))
            if finding.suppressed is None and pool:
                entry = pool.pop(0)
                finding = finding.with_suppression(Suppression(
                    kind="baseline", reason=reason, span=entry_span(baseline, entry)))
            marked.append(finding)
        result.findings = marked
    stale: dict[str, list[Entry]] = defaultdict(list)
    for (relative, _code, _fp), pool in available.items():
        if relative in checked:
            stale[checked[relative]].extend(pool)
    return dict(stale)


def entry_span(baseline: Baseline, entry: Entry) -> Span:
    """Where an entry is written in the baseline file."""
    return Span(baseline.path, entry.line, 1, entry.line, 1)


def report_stale(results: Sequence, stale: dict[str, list[Entry]], baseline: Baseline,
                 settings) -> None:
    """Add FW004 findings for stale entries to the results of the files they name."""
    from .checks import registry
    from .checks.base import CheckContext
    from .engine import stamp
    from .model import Ruleset

    ctx = CheckContext(ruleset=Ruleset(path=baseline.path, format="baseline"))
    for info in registry().values():
        if info.target != "baseline" or not settings.selects(info.code, info.name):
            continue
        for result in results:
            entries = stale.get(result.path)
            if entries:
                result.findings.extend(stamp(info, problem, baseline.path, settings)
                                       for problem in info.check(ctx, baseline, entries))
                result.findings.sort(key=lambda f: f.sort_key())
