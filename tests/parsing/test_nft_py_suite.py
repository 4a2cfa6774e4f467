"""Acceptance 2 of issue 3: nftables' own rule tests (tests/py/**/*.t in the corpus).

A .t file declares chains (``:input;type filter hook input priority 0``), tables
(``*inet;test-inet;input``), sets (``!set1 type ipv4_addr;ok``) and elements
(``?set1 10.0.0.1;ok``) and stateful objects (``%cnt1 type counter;ok``), then one rule per line ending in ``;ok`` or ``;fail``; a line
starting with ``-`` is a test nftables itself has switched off.  Each rule is
placed in every chain of every table declared above it, with the sets declared so far; an
``;ok`` rule must parse in all of them, a ``;fail`` rule must give a ParseError in all of
them.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import pytest

from fwlint.parsing.nft import parse_nft
from netns import CORPUS, corpus_available


@dataclass
class _Case:
    path: str
    line: int
    rule: str
    expect_ok: bool
    places: list  # [(family, table, chain name, chain declaration)]
    sets: list = field(default_factory=list)  # set, map and object blocks declared so far


def _set_block(spec: str) -> str:
    name, _, rest = spec.partition(" ")
    kind = "map" if " : " in rest else "set"
    for key in (" flags ", " timeout ", " size ", " policy "):
        rest = rest.replace(key, ";" + key)
    return f"{kind} {name} {{ {rest}; }}"


def _object_block(spec: str) -> str:
    """``cnt1 type counter`` -> ``counter cnt1 { }``; ``h type ct helper { … }`` too."""
    name, _, rest = spec.partition(" type ")
    kind_words = rest.split()
    kind = " ".join(kind_words[:2]) if kind_words[0] == "ct" else kind_words[0]
    body = rest[len(kind):].strip()
    if not body.startswith("{"):
        body = "{ " + body + " }"
    return f"{kind} {name} {body}"


def _cases() -> list[_Case]:
    cases: list[_Case] = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "nft-py", "**", "*.t"), recursive=True)):
        chains: dict[str, str] = {}
        tables: list[tuple[str, str, list[str]]] = []
        sets: dict[str, list[str]] = {}
        last_was_table = False
        with open(path, encoding="utf-8") as handle:
            for number, raw in enumerate(handle, 1):
                line = raw.rstrip("\n")
                if not line.strip() or line[0] in "#-":
                    continue
                if line.startswith(":"):
                    name, _, declaration = line[1:].partition(";")
                    chains[name] = declaration
                    continue
                if line.startswith("*"):
                    family, table, names = line[1:].split(";")
                    if not last_was_table:
                        tables = []
                    tables.append((family, table, names.split(",")))
                    last_was_table = True
                    continue
                last_was_table = False
                body, _, outcome = line.partition(";")
                outcome = outcome.split(";")[0]
                if line.startswith("!"):
                    if outcome == "ok":
                        for family, table, _names in tables:
                            sets.setdefault(f"{family} {table}", []).append(_set_block(body[1:]))
                    continue
                if line.startswith("%"):
                    if outcome == "ok":
                        for family, table, _names in tables:
                            sets.setdefault(f"{family} {table}", []).append(_object_block(body[1:]))
                    continue
                if line.startswith("?"):
                    continue
                if outcome not in ("ok", "fail"):
                    continue
                places = [(family, table, name, chains.get(name, ""))
                          for family, table, names in tables for name in names]
                cases.append(_Case(path, number, body, outcome == "ok", places,
                                   [list(sets.get(f"{f} {t}", ())) for f, t, _n, _d in places]))
    return cases


def _errors(case: _Case) -> list:
    """ParseErrors of the rule in each place it is tested (one list per place)."""
    results = []
    for (family, table, chain, declaration), sets in zip(case.places, case.sets):
        text = (f"table {family} {table} {{\n" + "".join(f"{s}\n" for s in sets)
                + f"chain {chain} {{\n{declaration}\n{case.rule}\n}}\n}}\n")
        results.append(parse_nft(text, f"{case.path}:{case.line}").errors)
    return results


def test_nftables_rule_tests_ok_lines_parse_and_fail_lines_are_rejected():
    if not corpus_available():
        pytest.skip(f"corpus not found at {CORPUS}")
    cases = _cases()
    ok_cases = [c for c in cases if c.expect_ok and c.places]
    fail_cases = [c for c in cases if not c.expect_ok and c.places]
    assert ok_cases and fail_cases
    ok_failures = []
    for case in ok_cases:
        errors = [e for per_place in _errors(case) for e in per_place]
        if errors:
            ok_failures.append(f"{os.path.relpath(case.path, CORPUS)}:{case.line}: "
                               f"{case.rule!r}: {errors[0].message}")
    accepted = []
    for case in fail_cases:
        if not all(_errors(case)):
            accepted.append(f"{os.path.relpath(case.path, CORPUS)}:{case.line}: {case.rule!r}")
    ok_rate = 100.0 * (len(ok_cases) - len(ok_failures)) / len(ok_cases)
    fail_rate = 100.0 * (len(fail_cases) - len(accepted)) / len(fail_cases)
    print(f"\nnft-py .t rules: {len(ok_cases)} ;ok lines, {ok_rate:.1f}% parse; "
          f"{len(fail_cases)} ;fail lines, {fail_rate:.1f}% rejected")
    for failure in ok_failures:
        print("  ok line refused: " + failure)
    for failure in accepted:
        print("  fail line accepted: " + failure)
    assert ok_rate >= 98.0
    assert fail_rate >= 90.0
