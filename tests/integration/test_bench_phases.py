"""bench/phases.py times the engine's phases one by one: it must do what ``check`` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
PHASES = ("read", "parse", "structural", "analysis", "policy", "suppress", "report")


@pytest.mark.parametrize("name, fmt", [("gen_iptables", "iptables-save"), ("gen_nft", "nft")])
def test_phases_find_what_check_finds(tmp_path, name, fmt):
    sys.path.insert(0, BENCH)
    try:
        generator = __import__(name)
    finally:
        sys.path.remove(BENCH)
    text = generator.generate(300)
    path = tmp_path / ("rules" + (".nft" if fmt == "nft" else ".rules"))
    path.write_text(text, encoding="utf-8")

    from fwlint import api

    findings = api.check_text(text, path=str(path), format=fmt)
    done = subprocess.run([sys.executable, os.path.join(BENCH, "phases.py"), "--format", fmt,
                           str(path)], capture_output=True, text=True, check=True)
    phases = json.loads(done.stdout)
    assert findings, "the generated file should give findings"
    assert phases["findings"] == len(findings)
    assert all(phases[phase] >= 0 for phase in PHASES)
    assert phases["total"] >= phases["parse"] + phases["analysis"] - 0.002
