"""The real pre-commit runs this repository's hook (issue 6, item 2).

``pre-commit try-repo`` on a clone of HEAD builds a virtual environment and pip-installs
fwlint into it (build dependencies come from PyPI), then runs the hook on the files given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
COMMIT
"""
BAD = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACEPT\nCOMIT\n"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    if shutil.which("pre-commit") is None or shutil.which("git") is None:
        pytest.skip("needs the pre-commit and git executables")
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git checkout: try-repo needs one")
    clone = tmp_path_factory.mktemp("hook") / "fwlint"
    git("clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone), cwd=clone.parent)
    return clone


@pytest.fixture
def user_repo(tmp_path) -> Path:
    repo = tmp_path / "infra"
    (repo / "hosts" / "web").mkdir(parents=True)
    (repo / "hosts" / "db").mkdir(parents=True)
    (repo / "hosts" / "web" / "rules.v4").write_text(BAD, encoding="utf-8")
    (repo / "hosts" / "db" / "rules.v4").write_text(GOOD, encoding="utf-8")
    (repo / "hosts" / "udev.rules").write_text(BAD, encoding="utf-8")
    (repo / ".fwlint.toml").write_text('select = ["FW0", "FW3"]\npolicy = "none"\n',
                                       encoding="utf-8")
    git("init", "--quiet", cwd=repo)
    git("add", ".", cwd=repo)
    return repo


def try_repo(hook_repo: Path, user_repo: Path, *files: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(user_repo.parent),
           "PRE_COMMIT_HOME": str(hook_repo.parent / "pre-commit-home")}
    return subprocess.run(["pre-commit", "try-repo", str(hook_repo), "fwlint", "--files", *files],
                          cwd=user_repo, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_hook_fails_on_a_bad_rule_file_and_passes_on_a_good_one(hook_repo, user_repo):
    bad = try_repo(hook_repo, user_repo, "hosts/web/rules.v4", "hosts/db/rules.v4")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "hosts/web/rules.v4:4:1: FW001" in bad.stdout
    assert "hosts/db/rules.v4" not in bad.stdout.split("Failed", 1)[-1]

    good = try_repo(hook_repo, user_repo, "hosts/db/rules.v4")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    unrelated = try_repo(hook_repo, user_repo, "hosts/udev.rules")
    assert unrelated.returncode == 0, "*.rules in general is not a firewall file"
    assert "no files to check" in unrelated.stdout
