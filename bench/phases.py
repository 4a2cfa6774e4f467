"""fwlint's own phases on one file, in one process: CPU seconds of each (issue 7).

    python bench/phases.py bench/out/iptables-100000.rules [--format iptables-save]

Prints one JSON object: ``read`` (bytes -> text), ``parse`` (front end: parse and build the
model; the iptables-save fast path builds model values as it reads, so parse and model are
one phase), ``structural`` (rule and ruleset checks), ``analysis`` (the packet-space checks),
``policy`` (the baseline policy: loading it and its checks), ``suppress`` (inline
suppressions, regrading and sorting) and ``report`` (the full text reporter), plus
``total`` and the peak RSS in MB.  It runs the engine's own functions in the engine's order,
so the phases add up to what ``fwlint check`` costs without process start-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def measure(path: str, fmt: str | None) -> dict:
    from fwlint import engine
    from fwlint.checks import registry
    from fwlint.checks.base import CheckContext
    from fwlint.limits import Limits, jump_depth_errors
    from fwlint.parsing import detect_format, parse_text
    from fwlint.reporters import get_reporter
    from fwlint.settings import Settings

    phases: dict[str, float] = {}
    clock = time.process_time
    start = last = clock()

    def lap(name: str) -> None:
        nonlocal last
        now = clock()
        phases[name] = round(now - last, 3)
        last = now

    settings = Settings()
    limits = Limits.from_options(settings.options.get("FW010"))
    path, text, errors = engine.read_source(path, limits)
    lap("read")
    fmt = fmt or detect_format(text, path)
    parsed = parse_text(text, path, fmt, limits=limits)
    lap("parse")
    ctx = CheckContext(ruleset=parsed.ruleset)
    ctx.errors = (errors + parsed.errors
                  + tuple(jump_depth_errors(parsed.ruleset, limits, ctx.jump_graph)))
    directives = engine._find_directives(ctx, text)  # as the engine: before the checks
    del text
    suppress_seconds = clock() - last
    checks = engine.selected_checks(settings, path)
    by_target: dict[str, list] = {"structural": [], "analysis": [], "policy": []}
    for info in checks:
        if info.target in ("analysis", "policy"):
            by_target[info.target].append(info)
        elif info.target not in engine.RESULT_TARGETS:
            by_target["structural"].append(info)
    last = clock()
    findings = engine.run_checks(ctx, by_target["structural"], settings)
    lap("structural")
    findings += engine.run_checks(ctx, by_target["analysis"], settings)
    lap("analysis")
    ctx.policy = engine._load_policy(settings)
    policy_findings = engine.run_checks(ctx, by_target["policy"], settings)  # regraded there
    lap("policy")
    if ctx.policy is not None:
        findings = ctx.policy.regrade(findings, settings.severity)
    findings += policy_findings
    findings.sort(key=lambda finding: finding.sort_key())
    findings = engine._apply_directives(ctx, directives, findings, checks, settings)
    lap("suppress")
    phases["suppress"] = round(phases["suppress"] + suppress_seconds, 3)
    result = engine.FileResult(path=path, format=fmt, findings=findings,
                               ruleset=parsed.ruleset)
    get_reporter("full")([result], colour=False, version="bench", checks=registry(),
                         quiet=False)
    lap("report")
    phases["total"] = round(clock() - start, 3)
    phases["findings"] = len(findings)
    phases["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--format", default=None)
    args = parser.parse_args(argv)
    json.dump(measure(args.path, args.format), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
