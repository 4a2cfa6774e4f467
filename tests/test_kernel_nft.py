"""Acceptance 3 of issue 3: the kernel agrees with fwlint on what an nft file means.

Each corpus nft file is loaded with ``nft -f`` in a private network namespace and listed
back with ``nft list ruleset``; the model of the file and the model of the listing must be
equal.  nft lists a rule in its own spelling (``ip saddr 10.0.0.1`` for ``10.0.0.1/32``,
``priority filter`` for 0, counters with their packet counts, dependencies such as ``meta
l4proto tcp`` left out): every such normalisation lives in the front end, not here.
"""

from __future__ import annotations

import os

from fwlint.parsing.nft import parse_nft
from netns import CORPUS, corpus_inventory, in_netns, require_netns

#: files whose listing differs for reasons outside fwlint, with the reason
KNOWN_DIFFERENCES = {
    "nft-dumps/maps/dumps/typeof_maps_add_delete.nft":
        "nft 1.0.6 lists the dynamic map element as '0xa020304 [invalid type]'",
}


def _first_difference(file_tables, listed_tables) -> str:
    if len(file_tables) != len(listed_tables):
        return f"{len(file_tables)} tables in the file, {len(listed_tables)} listed"
    for mine, theirs in zip(file_tables, listed_tables):
        if (mine.family, mine.name) != (theirs.family, theirs.name):
            return f"table {mine.family} {mine.name} vs {theirs.family} {theirs.name}"
        if mine.sets != theirs.sets:
            return f"sets of {mine.name}: {mine.sets} vs {theirs.sets}"
        for chain, listed in zip(mine.chains, theirs.chains):
            if chain == listed:
                continue
            for rule, listed_rule in zip(chain.rules, listed.rules):
                if rule != listed_rule:
                    return f"chain {chain.name}: {rule} vs {listed_rule}"
            return f"chain {chain.name}: {chain} vs {listed}"
        return f"chains of {mine.name}: {[c.name for c in mine.chains]} vs " \
               f"{[c.name for c in theirs.chains]}"
    return "?"


def test_file_and_kernel_listing_give_equal_models():
    require_netns()
    rows = [row for row in corpus_inventory() if row["format"] == "nft"]
    compared = equal = not_loaded = 0
    differences = []
    for row in rows:
        path = os.path.join(CORPUS, row["path"])
        loaded = in_netns(f"nft -f '{os.path.basename(path)}' && nft list ruleset",
                          cwd=os.path.dirname(path))
        if loaded.returncode != 0:
            not_loaded += 1
            continue
        compared += 1
        with open(path, encoding="utf-8") as handle:
            from_file = parse_nft(handle.read(), path)
        listed = parse_nft(loaded.stdout, "<nft list ruleset>")
        assert not listed.errors, (row["path"], listed.errors[0])
        if from_file.ruleset.tables == listed.ruleset.tables:
            equal += 1
        elif row["path"] not in KNOWN_DIFFERENCES:
            differences.append(f"{row['path']}: "
                               f"{_first_difference(from_file.ruleset.tables, listed.ruleset.tables)}")
    print(f"\nnft files loaded by the kernel and compared: {compared} (not loadable here: "
          f"{not_loaded}); equal models: {equal}; known differences: "
          f"{compared - equal - len(differences)}")
    assert compared > 0
    assert not differences, "\n".join(differences)
