"""The README's checks table lists every registered check, and its set-up commands are the
ones .ci/run runs."""

import os
import re

from fwlint.checks import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
        return handle.read()


def test_checks_table_lists_every_check():
    readme = read("README.md")
    rows = dict(re.findall(r"^\| (FW\d{3}) \| ([a-z0-9-]+) \|", readme, re.M))
    assert rows == {code: info.name for code, info in registry().items()}


def test_ci_runs_the_readme_test_command():
    readme = read("README.md")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    ci_command = test_command.split(" && ", 2)[2]
    assert ci_command in read(".ci/run")


def test_sample_output_is_what_fwlint_prints():
    import subprocess
    import sys

    readme = read("README.md")
    sample = re.search(r"Findings look like this.*?```\n(.*?)\n```", readme, re.S).group(1)
    out = subprocess.run([sys.executable, "-m", "fwlint", "check", "--isolated", "--policy",
                          "none", "--select", "FW201", "examples/workstation.rules"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    assert sample in out
