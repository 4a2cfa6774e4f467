"""Running the kernel's own tools in a private network namespace, for tests and bench.

``unshare -n`` gives a fresh network namespace in which ``nft -f`` and
``iptables-restore`` load rulesets for real without touching the host.  Tests that need
it call ``require_netns()`` which skips with the reason when the machine cannot.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

import pytest

CORPUS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus"))


@functools.lru_cache(maxsize=None)
def netns_unavailable_reason() -> str:
    """Empty when namespaces and the kernel tools work here, else why not."""
    if os.geteuid() != 0:
        return "kernel tests need root for unshare -n (network namespaces)"
    for tool in ("unshare", "nft", "iptables-restore", "iptables-save", "ip"):
        if shutil.which(tool) is None:
            return f"kernel tests need {tool} (Debian packages nftables, iptables, iproute2)"
    probe = subprocess.run(["unshare", "-n", "nft", "list", "ruleset"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "network namespaces unavailable here: " + (probe.stderr.strip() or "unshare -n failed")
    return ""


def require_netns() -> None:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)


def in_netns(script: str, *, input: str | None = None, cwd: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a shell script inside a fresh private network namespace."""
    return subprocess.run(["unshare", "-n", "sh", "-c", script], input=input, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def corpus_available() -> bool:
    return os.path.isfile(os.path.join(CORPUS, "INVENTORY.tsv"))


def corpus_inventory() -> list[dict[str, str]]:
    """Rows of ../shared/corpus/INVENTORY.tsv as dicts (skips the test if absent)."""
    if not corpus_available():
        pytest.skip(f"corpus not found at {CORPUS}")
    with open(os.path.join(CORPUS, "INVENTORY.tsv"), encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in handle if line.strip()]


def iptables_t_files() -> list[str]:
    """The iptables ``extensions/*.t`` files of the corpus (ebtables and arptables ones left
    out), in name order; none when the corpus is absent."""
    import glob

    pattern = os.path.join(CORPUS, "ipt-tests", "extensions", "*.t")
    return [path for path in sorted(glob.glob(pattern))
            if not os.path.basename(path).startswith(("libebt_", "libarpt_"))]


def t_file_rules(path: str):
    """(line number, table, chains, fields) for every rule line of a ``.t`` file: its
    ``*table`` and ``:CHAIN,CHAIN`` sections applied, ``fields`` the line split at ``;``
    (rule spec, saved form, OK/FAIL where given)."""
    table, chains = "filter", ["INPUT"]
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if line.startswith(":"):
                chains = line[1:].split(",")
            elif line.startswith("*"):
                table = line[1:].strip()
            elif line and line[0] not in "#@%":
                yield number, table, chains, line.split(";")
