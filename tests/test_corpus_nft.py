"""Acceptance 1 of issue 3: the nft files of the shared corpus, against what nft 1.0.6 said.

Files that ``nft -c`` accepted must parse with no ParseError; files it refused must not
crash the front end, and where nft reported a syntax error, fwlint should report one on
the same line -- unless the inventory says the file uses syntax newer than nft 1.0.6
(the nftables 1.1 test suite), which fwlint may accept.
"""

from __future__ import annotations

import os
import re

from fwlint.parsing.nft import parse_nft
from netns import CORPUS, corpus_inventory

#: nft 1.1 spellings fwlint accepts although nft 1.0.6 reports a syntax error for them
NEWER_SYNTAX = (re.compile(r"\bfib\b.*\bcheck (missing|exists)\b"),)

_NFT_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):\d+(-\d+)?: Error: (?P<what>.*)$")


def _nft_rows(real_tool: str) -> list[dict[str, str]]:
    return [row for row in corpus_inventory()
            if row["format"] == "nft" and row["real_tool"] == real_tool]


def _parse(row: dict[str, str]):
    path = os.path.join(CORPUS, row["path"])
    with open(path, encoding="utf-8", errors="replace") as handle:
        return path, parse_nft(handle.read(), path)


def test_files_nft_accepts_parse_without_errors():
    rows = _nft_rows("ok")
    assert rows, "no nft files with real_tool ok in the inventory"
    failures = []
    for row in rows:
        path, result = _parse(row)
        if result.errors:
            first = result.errors[0]
            failures.append(f"{row['path']}:{first.span.line}:{first.span.column}: "
                            f"{first.message}")
        assert result.ruleset.format == "nft"
        hash(result.ruleset.tables)  # checks hash rules: every model value must be hashable
    print(f"\nnft files nft -c accepts: {len(rows)}, parsed cleanly: "
          f"{len(rows) - len(failures)}")
    assert not failures, "\n".join(failures)


def test_files_nft_refuses_never_crash_and_syntax_errors_land_on_the_line():
    rows = _nft_rows("fail")
    assert rows
    parsed = errored = syntax_total = same_line = 0
    mismatches = []
    for row in rows:
        path, result = _parse(row)
        if result.errors:
            errored += 1
        else:
            parsed += 1
        reported = _NFT_ERROR.match(row["first_error"])
        if not reported or not reported.group("what").startswith("syntax error"):
            continue
        if os.path.basename(path) != reported.group("file") or "older than" in row["likely_cause"] \
                or any(p.search(row["first_error"]) for p in NEWER_SYNTAX):
            continue
        syntax_total += 1
        lines = {e.span.line for e in result.errors if e.span.path == path}
        if int(reported.group("line")) in lines:
            same_line += 1
        else:
            mismatches.append(f"{row['path']}: nft line {reported.group('line')}, fwlint "
                              f"{sorted(lines) or 'no error'}")
    print(f"\nnft files nft -c refuses: {len(rows)}; fwlint parses {parsed}, reports an "
          f"error for {errored}; nft 1.0.6 syntax errors (not newer syntax): {syntax_total}, "
          f"fwlint on the same line: {same_line}")
    assert syntax_total
    assert not mismatches, "\n".join(mismatches)
