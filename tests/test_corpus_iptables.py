"""The iptables front end against real files: iptables' own test inputs and dumps.

- every iptables-save / ip6tables-save file the real ``iptables-restore --test`` accepts
  (INVENTORY.tsv real_tool ok) parses without a ParseError;
- iptables' ``extensions/*.t`` rule specs: at least 99% of ``;OK`` lines parse as one rule
  with no error, and at least 90% of ``;FAIL`` lines are rejected (a high or critical
  finding).  The ebtables/arptables files (libebt_*, libarpt_*) are another syntax and are
  excluded.
"""

from __future__ import annotations

import os

import pytest

from netns import CORPUS, corpus_available, corpus_inventory, iptables_t_files, t_file_rules

from fwlint.engine import lint_text
from fwlint.findings import Severity
from fwlint.model import IPTABLES_BUILTIN_CHAINS
from fwlint.parsing import parse_text
from fwlint.settings import Settings

SAVE_FORMATS = ("iptables-save", "ip6tables-save")


def _save_files() -> list[dict[str, str]]:
    if not corpus_available():
        return []
    return [row for row in corpus_inventory()
            if row["format"] in SAVE_FORMATS and row["real_tool"] == "ok"]


@pytest.mark.parametrize("row", _save_files(), ids=lambda row: row["path"])
def test_accepted_save_file_parses_without_error(row):
    path = os.path.join(CORPUS, row["path"])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    result = parse_text(text, path, row["format"])
    assert not result.errors, "\n".join(f"{e.span}: {e.message}" for e in result.errors)
    assert result.ruleset.tables


def _listing_files() -> list[dict[str, str]]:
    if not corpus_available():
        return []
    return [row for row in corpus_inventory() if row["format"] == "iptables-S"]


@pytest.mark.parametrize("row", _listing_files(), ids=lambda row: row["path"])
def test_iptables_listing_parses_without_error(row):
    """``iptables -S`` output (no *table lines, no COMMIT) is read as its table's rules."""
    path = os.path.join(CORPUS, row["path"])
    with open(path, encoding="utf-8") as handle:
        result = parse_text(handle.read(), path)
    assert not result.errors, [e.message for e in result.errors]
    assert sum(1 for _ in result.ruleset.iter_rules()) > 0


def t_file_cases() -> list[tuple[str, str, str, str, str, int]]:
    """(file, table, chain, rule, expected OK/FAIL, line) for every rule line of the
    iptables extensions/*.t files (ebtables/arptables files excluded)."""
    cases = []
    for path in iptables_t_files():
        name = os.path.basename(path)
        for number, table, chains, fields in t_file_rules(path):
            if len(fields) >= 3 and fields[2] in ("OK", "FAIL"):
                chain = next((c for c in chains
                              if c in IPTABLES_BUILTIN_CHAINS.get(table, {})), chains[0])
                cases.append((name, table, chain, fields[0], fields[2], number))
    return cases


def _document(table: str, chain: str, rule: str) -> str:
    return f"*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {rule}\nCOMMIT\n"


def _rejected(table: str, chain: str, rule: str, file_name: str) -> bool:
    settings = Settings(format=_format(file_name), policy=None, select=("FW0", "FW2"))
    result = lint_text(_document(table, chain, rule), file_name, settings)
    return any(f.severity >= Severity.HIGH for f in result.findings)


def _format(file_name: str) -> str:
    return "ip6tables-save" if file_name.startswith("libip6t_") else "iptables-save"


def test_extension_t_files_ok_parse_and_fail_rejected():
    if not corpus_available():
        pytest.skip(f"corpus not found at {CORPUS}")
    cases = t_file_cases()
    ok = [c for c in cases if c[4] == "OK"]
    fail = [c for c in cases if c[4] == "FAIL"]
    ok_misses, fail_misses = [], []
    for name, table, chain, rule, _, number in ok:
        result = parse_text(_document(table, chain, rule), name, _format(name))
        rules = list(result.ruleset.iter_rules())
        if result.errors or len(rules) != 1:
            ok_misses.append(f"{name}:{number}: {rule} -> "
                             + "; ".join(e.message for e in result.errors))
    for name, table, chain, rule, _, number in fail:
        if not _rejected(table, chain, rule, name):
            fail_misses.append(f"{name}:{number}: {rule}")
    ok_rejected = sum(_rejected(table, chain, rule, name) for name, table, chain, rule, _, _
                      in ok)
    ok_rate = 1 - len(ok_misses) / len(ok)
    fail_rate = 1 - len(fail_misses) / len(fail)
    print(f"\n.t OK lines parsed: {len(ok) - len(ok_misses)}/{len(ok)} ({ok_rate:.1%}); "
          f"FAIL lines rejected: {len(fail) - len(fail_misses)}/{len(fail)} ({fail_rate:.1%})")
    print(f"OK lines with a high finding all the same: {ok_rejected}/{len(ok)}")
    print("OK lines not parsed:\n  " + "\n  ".join(ok_misses))
    print("FAIL lines accepted:\n  " + "\n  ".join(fail_misses))
    assert ok_rate >= 0.99
    assert fail_rate >= 0.90


def test_extension_t_files_rule_equals_its_saved_form():
    """Each ``;OK`` line names how iptables-save prints the rule back: both must give
    the same model (normalisation: defaults, ranges, names for numbers, option order).
    Unmodelled modules whose defaults fwlint does not know (owner names, TOS/DSCP class
    names, connlimit defaults, …) may differ: at least 90% must agree."""
    if not corpus_available():
        pytest.skip(f"corpus not found at {CORPUS}")
    compared, differ = 0, []
    for name, table, chain, rule, result, number in t_file_cases():
        if result != "OK":
            continue
        path = os.path.join(CORPUS, "ipt-tests", "extensions", name)
        with open(path, encoding="utf-8") as handle:
            saved = handle.read().split("\n")[number - 1].split(";")[1]
        if saved == "=":
            continue
        fmt = _format(name)
        mine = parse_text(_document(table, chain, rule), name, fmt)
        theirs = parse_text(_document(table, chain, saved), name, fmt)
        compared += 1
        if [r for _, _, r in mine.ruleset.iter_rules()] != \
                [r for _, _, r in theirs.ruleset.iter_rules()] or theirs.errors:
            differ.append(f"{name}:{number}: {rule}  vs  {saved}")
    print(f"\n.t rules equal to their saved form: {compared - len(differ)}/{compared}")
    print("differ:\n  " + "\n  ".join(differ))
    assert compared > 100
    assert len(differ) <= compared * 0.10
