"""``fwlint exposure`` and ``fwlint dump`` read input as ``check`` does: bounded, FIFO-safe,
and a jump nest too deep to analyse is an error message, never a traceback."""

import os
import subprocess
import sys

import pytest


def fwlint(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "fwlint", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def jump_ring(tmp_path):
    lines = ["table ip t {"]
    lines += [f"  chain c{i} {{ jump c{(i + 1) % 1000} }}" for i in range(1000)]
    lines += ["  chain input { type filter hook input priority 0; jump c0 }", "}"]
    path = tmp_path / "ring.nft"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_exposure_of_a_jump_ring_is_an_error_not_a_traceback(jump_ring):
    proc = fwlint("exposure", jump_ring)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "exposure not computed" in proc.stderr and "ring.nft:" in proc.stderr


@pytest.mark.parametrize("command", ["exposure", "dump"])
def test_a_fifo_nobody_writes_does_not_hang(tmp_path, command):
    fifo = tmp_path / "pipe.rules"
    os.mkfifo(fifo)
    proc = fwlint(command, str(fifo), timeout=30)
    assert proc.returncode in (0, 1)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["exposure", "dump"])
def test_binary_input_is_reported_not_raised(tmp_path, command):
    path = tmp_path / "blob.rules"
    path.write_bytes(b"\x00\x01\x02" * 1000)
    proc = fwlint(command, str(path))
    assert "Traceback" not in proc.stderr
    assert "binary" in proc.stderr + proc.stdout
