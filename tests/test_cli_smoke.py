import subprocess
import sys

from fwlint.checks import registry


def test_rules_lists_every_check():
    out = subprocess.run([sys.executable, "-m", "fwlint", "rules"], capture_output=True,
                         text=True, check=True).stdout
    for code in registry():
        assert code in out


def test_rule_unknown_code_is_usage_error():
    proc = subprocess.run([sys.executable, "-m", "fwlint", "rule", "FW999"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "FW999" in proc.stderr
