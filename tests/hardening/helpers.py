"""Running ``python -m fwlint`` as a user does, and reading what it said."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

#: generous: every run here ends in seconds; a hang fails the test instead of the suite
TIMEOUT = 180
#: ``path:line:column: CODE [severity] message`` (the concise format)
FINDING_RE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>FW\d{3}) "
                        r"\[(?P<severity>[a-z]+)\] (?P<message>.*)$")
#: prints the peak resident memory of the run (KiB) as the last line of stderr
MEASURED = ("import resource, runpy, sys\n"
            "sys.argv = ['fwlint'] + sys.argv[1:]\n"
            "try:\n"
            "    runpy.run_module('fwlint', run_name='__main__', alter_sys=True)\n"
            "finally:\n"
            "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " file=sys.stderr)\n")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    code: str
    message: str


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[Finding]:
        out = []
        for line in self.stdout.splitlines():
            found = FINDING_RE.match(line)
            if found:
                out.append(Finding(found["path"], int(found["line"]), int(found["column"]),
                                   found["code"], found["message"]))
        return out

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def of(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]


def fwlint(*args: str, cwd: str | None = None, measure: bool = False,
           stdin: str | None = None) -> Run:
    """``python -m fwlint ARGS`` in a subprocess, bounded by TIMEOUT (a hang raises)."""
    command = [sys.executable, "-c", MEASURED, *args] if measure \
        else [sys.executable, "-m", "fwlint", *args]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=TIMEOUT, input=stdin, errors="replace")
    return Run(proc.returncode, proc.stdout, proc.stderr)


def check(*args: str, cwd: str | None = None, measure: bool = False,
          isolated: bool = True) -> Run:
    """``fwlint check --output-format concise [--isolated] ARGS`` and the invariants every
    run must keep: no traceback, exit 0/1 with findings, or 2 with a one-line message."""
    run = fwlint("check", "--output-format", "concise", *(("--isolated",) if isolated else ()),
                 *args, cwd=cwd, measure=measure)
    assert_no_traceback(run)
    return run


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr[-3000:]
    assert run.returncode in (0, 1, 2), (run.returncode, run.stderr[-2000:])
    if run.returncode == 2:
        assert_usage_error(run)


def assert_usage_error(run: Run, *words: str) -> str:
    """Exit 2 and one line ``fwlint: error: …`` on stderr holding ``words``; returns it."""
    assert run.returncode == 2, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
    lines = [line for line in run.stderr.splitlines() if not line.startswith("maxrss ")]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("fwlint: error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def max_rss_kib(run: Run) -> int:
    """Peak memory of a run made with ``measure=True``."""
    for line in reversed(run.stderr.splitlines()):
        if line.startswith("maxrss "):
            return int(line.split()[1])
    raise AssertionError(f"no maxrss line in {run.stderr[-500:]!r}")
