"""The kernel as the reference for meaning: a corpus file and what ``iptables-save`` prints
after ``iptables-restore`` loaded it (inside a private network namespace) must give equal
models, rule for rule.  iptables-save rewrites rules into its canonical form (``-m tcp``
added, ``/32`` added, ports and marks normalised, option order changed), so equality shows
the front end normalises the way the kernel does.
"""

from __future__ import annotations

import os

import pytest

from netns import CORPUS, corpus_available, corpus_inventory, in_netns, require_netns

from fwlint.model import Ruleset
from fwlint.parsing import parse_text

SAVE_FORMATS = ("iptables-save", "ip6tables-save")


def _rows() -> list[dict[str, str]]:
    if not corpus_available():
        return []
    return [row for row in corpus_inventory()
            if row["format"] in SAVE_FORMATS and row["real_tool"] == "ok"]


def kernel_round_trip(text: str, ipv6: bool) -> str | None:
    """What iptables-save prints after iptables-restore loads ``text`` in a fresh
    namespace; None when the kernel refuses the file."""
    tool = "ip6tables" if ipv6 else "iptables"
    proc = in_netns(f"{tool}-restore && {tool}-save", input=text)
    if proc.returncode != 0:
        return None
    return proc.stdout


def chains_by_table(ruleset: Ruleset, declared: set[tuple[str, str, str]] | None = None
                    ) -> dict:
    """{(family, table): {chain: (policy, rules)}}, without the empty built-in chains
    iptables-save adds that the input did not declare."""
    result = {}
    for table in ruleset.tables:
        chains = {}
        for chain in table.chains:
            key = (table.family, table.name, chain.name)
            if declared is not None and key not in declared and chain.is_base \
                    and not chain.rules and chain.policy == "accept":
                continue
            chains[chain.name] = (chain.policy, chain.rules)
        if chains or declared is None:
            result[(table.family, table.name)] = chains
    return result


def compare(original: Ruleset, saved: Ruleset) -> list[str]:
    """Differences between the two models, as readable lines (empty: equal)."""
    declared = {(t.family, t.name, c.name) for t in original.tables for c in t.chains}
    want = {k: v for k, v in chains_by_table(original).items() if v}
    got = chains_by_table(saved, declared)
    problems = []
    for key in sorted(set(want) | set(got)):
        if key not in got or key not in want:
            problems.append(f"table {key} only in {'input' if key in want else 'saved'}")
            continue
        for name in sorted(set(want[key]) | set(got[key])):
            a, b = want[key].get(name), got[key].get(name)
            if a is None or b is None:
                problems.append(f"chain {key}/{name} only in {'input' if a else 'saved'}")
            elif a[0] != b[0]:
                problems.append(f"chain {key}/{name}: policy {a[0]} != {b[0]}")
            elif len(a[1]) != len(b[1]):
                problems.append(f"chain {key}/{name}: {len(a[1])} rules != {len(b[1])}")
            else:
                for mine, theirs in zip(a[1], b[1]):
                    if mine != theirs:
                        problems.append(f"{key}/{name}:\n  input: {mine.text}\n    {mine}\n"
                                        f"  saved: {theirs.text}\n    {theirs}")
    return problems


def test_models_of_file_and_kernel_listing_are_equal():
    require_netns()
    rows = _rows()
    if not rows:
        pytest.skip(f"corpus not found at {CORPUS}")
    compared, refused, failures = 0, [], []
    for row in rows:
        path = os.path.join(CORPUS, row["path"])
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        ipv6 = row["format"] == "ip6tables-save"
        saved = kernel_round_trip(text, ipv6)
        if saved is None:
            refused.append(row["path"])
            continue
        original = parse_text(text, path, row["format"])
        listing = parse_text(saved, "iptables-save output", row["format"])
        assert not original.errors and not listing.errors
        compared += 1
        problems = compare(original.ruleset, listing.ruleset)
        if problems:
            failures.append(row["path"] + "\n" + "\n".join(problems))
    print(f"\nkernel round trip: {compared} files compared, {len(failures)} differ, "
          f"{len(refused)} not loadable here (e.g. --noflush fragments): "
          + ", ".join(os.path.basename(p) for p in refused))
    assert compared > 0
    assert not failures, "\n\n".join(failures)
