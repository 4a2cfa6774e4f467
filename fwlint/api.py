"""The Python API: lint text or files and ask what a ruleset exposes, without the CLI.

    from fwlint import api

    findings = api.check_text(open("rules.v4").read(), path="rules.v4", select=["FW2"])
    findings = api.check_paths(["etc/"], baseline=".fwlint-baseline.json")
    for exposure in api.exposure("/etc/nftables.conf"):
        print(exposure.protocol, exposure.ports, exposure.any_source)

Findings are :class:`fwlint.findings.Finding` values (suppressed ones included, with
``suppressed`` set); exposures are :class:`fwlint.analysis.Exposure` values.  Bad input is
reported as findings (FW001); bad arguments or configuration raise
:class:`fwlint.errors.UsageError`.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Sequence

from .findings import Finding

__all__ = ["check_text", "check_paths", "exposure"]

#: ``policy`` argument meaning "whatever the settings/configuration say"
DEFAULT = "default"


def _overrides(select, ignore, policy, format, config, isolated):
    from .config import Overrides

    return Overrides(
        select=tuple(select) if select is not None else None,
        ignore=tuple(ignore or ()),
        policy=None if policy == DEFAULT else (policy or "none"),
        format=format,
        config=config,
        isolated=isolated,
    )


def check_text(text: str, path: str = "<string>", format: Optional[str] = None,
               policy: Optional[str] = DEFAULT, select: Optional[Iterable[str]] = None,
               ignore: Optional[Iterable[str]] = None) -> list[Finding]:
    """Lint rule text (no configuration files are read).

    ``format`` is one of :data:`fwlint.parsing.FORMATS` (default: detected); ``policy`` is a
    built-in policy name or a YAML path, None for no policy; ``select``/``ignore`` take
    codes, names, prefixes or ``ALL``.
    """
    from .config import build_settings
    from .engine import lint_text

    settings = build_settings(None, _overrides(select, ignore, policy, format, None, True))
    return lint_text(text, path, settings).findings


def check_paths(paths: Sequence[str], *, format: Optional[str] = None,
                policy: Optional[str] = DEFAULT, select: Optional[Iterable[str]] = None,
                ignore: Optional[Iterable[str]] = None, config: Optional[str] = None,
                isolated: bool = False, baseline: Optional[str] = None,
                jobs: int = 1) -> list[Finding]:
    """Lint files and folders as ``fwlint check`` does (configuration files found by walking
    up from each file unless ``config`` or ``isolated``), sorted by path and position."""
    from .commands.check import lint_paths
    from .config import Resolver

    resolver = Resolver(_overrides(select, ignore, policy, format, config, isolated))
    results = lint_paths(list(paths), resolver, jobs)
    baseline = baseline or resolver.run_settings().baseline
    if baseline:
        from . import baseline as baselines

        loaded = baselines.load(baseline)
        stale = baselines.apply(results, loaded)
        baselines.report_stale(results, stale, loaded, resolver.run_settings())
    return sorted((f for r in results for f in r.findings), key=Finding.sort_key)


def exposure(text_or_path: str, format: Optional[str] = None) -> tuple:
    """What the ruleset accepts from outside: a tuple of :class:`fwlint.analysis.Exposure`.

    ``text_or_path`` is a path to an existing file, or else rule text.  Only what parses is
    analysed: use :func:`check_text` to see parse errors (FW001).
    """
    from .analysis import analyze
    from .engine import decode
    from .errors import UsageError
    from .parsing import parse_text

    if "\n" not in text_or_path and os.path.isfile(text_or_path):
        path = text_or_path
        try:
            with open(path, "rb") as handle:
                text, _errors = decode(handle.read(), path)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    else:
        path, text = "<string>", text_or_path
    parsed = parse_text(text, path, format)
    return analyze(parsed.ruleset).exposure()
