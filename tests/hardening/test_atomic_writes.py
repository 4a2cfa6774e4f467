"""Killing fwlint while it writes a report or a baseline leaves the old file whole.

Real SIGKILLs on a real ``python -m fwlint`` over an input large enough for a report of
hundreds of kilobytes: some from outside at random moments of the run, and some that the
process sends itself at the moments that matter, through a wrapper that wraps file writes
and ``os.replace``: halfway through writing the new content, and after writing it but
before the rename.  After each kill the target holds either exactly the old content or
the whole new one, never a part.
"""

from __future__ import annotations

import json
import os
import random
import stat
import threading
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import TIMEOUT

RULES = 1200
KILLS_AT_RANDOM = 3
#: ``python -c KILLER MOMENT ARGS…`` runs fwlint and SIGKILLs itself at MOMENT
KILLER = """
import builtins, os, runpy, signal, sys

moment = sys.argv.pop(1)
sys.argv[0] = "fwlint"


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class HalfWriter:
    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)

    def write(self, text):
        self.handle.write(text[:len(text) // 2])
        self.handle.flush()
        die()


def writing(opener):
    def open_(*args, **kwargs):
        handle = opener(*args, **kwargs)
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
        return HalfWriter(handle) if "w" in mode else handle
    return open_


if moment == "mid-write":
    os.fdopen = writing(os.fdopen)
    builtins.open = writing(builtins.open)
elif moment == "before-rename":
    os.replace = lambda *args, **kwargs: die()
    os.rename = os.replace
runpy.run_module("fwlint", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def big_ruleset(tmp_path_factory) -> Path:
    """Many rules, each with findings (host bits, open ports): a SARIF of megabytes."""
    path = tmp_path_factory.mktemp("atomic") / "big.rules"
    rules = [f"-A INPUT -s 10.{i // 256}.{i % 256}.7/8 -p tcp --dport {1000 + i} -j ACCEPT"
             for i in range(RULES)]
    path.write_text("*filter\n:INPUT DROP [0:0]\n" + "\n".join(rules) + "\nCOMMIT\n",
                    encoding="utf-8")
    return path


def start(args: list[str], cwd: Path, moment: str = "") -> subprocess.Popen:
    command = [sys.executable, "-c", KILLER, moment] if moment else [sys.executable, "-m", "fwlint"]
    return subprocess.Popen(command + args, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def kill_at(proc: subprocess.Popen, seconds: float) -> None:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def full_run_seconds(args: list[str], cwd: Path) -> float:
    """How long an undisturbed run takes (it writes the 'new' content)."""
    began = time.monotonic()
    proc = start(args, cwd)
    proc.wait(timeout=TIMEOUT)
    return time.monotonic() - began


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sarif", "baseline"])
def test_sigkill_leaves_the_old_file_whole(tmp_path, big_ruleset, kind):
    rules = tmp_path / "big.rules"
    rules.write_bytes(big_ruleset.read_bytes())
    target = tmp_path / ("report.sarif" if kind == "sarif" else "baseline.json")
    args = (["check", "--isolated", "-q", "-o", "report.txt", "--sarif-file", target.name,
             rules.name] if kind == "sarif"
            else ["baseline", "create", target.name, "--isolated", rules.name])

    seconds = full_run_seconds(args, tmp_path)
    new = target.read_bytes()
    assert len(new) > 100_000 and json.loads(new)
    old = json.dumps({"old": "content that must survive", "pad": "x" * 1000}).encode()
    rng = random.Random(8)
    moments = [""] * KILLS_AT_RANDOM + ["mid-write", "before-rename"]
    for attempt, moment in enumerate(moments):
        target.write_bytes(old)
        proc = start(args, tmp_path, moment)
        if moment:
            assert proc.wait(timeout=TIMEOUT) == -signal.SIGKILL, f"{moment}: no write to kill"
        else:
            kill_at(proc, rng.uniform(0.2, seconds))
        content = target.read_bytes()
        assert content in (old, new), f"attempt {attempt}: a partial file of {len(content)} bytes"
        if moment:
            assert content == old, moment


def test_a_fifo_target_is_written_in_place_not_replaced(tmp_path):
    """``-o /dev/null`` or a FIFO must stay what it is: a rename over it would replace the
    device or pipe with a regular file."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    rules = tmp_path / "r.rules"
    rules.write_text("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "fwlint", "check", "--isolated",
                           "--sarif-file", str(fifo), str(rules)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    reader.join(timeout=TIMEOUT)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["runs"][0]["results"]
    assert not list(tmp_path.glob(".fwlint-*"))
