"""Issue 4, acceptance 3: on corpus rulesets the kernel loads, ``exposure()`` finishes and its
open classes agree with the kernel on sampled packets (see kernel/corpus.py for how).

CI runs every ``STRIDE``-th eligible file (at least 20 must be compared);
``bench/differential.py --corpus`` runs all of them.
"""

from __future__ import annotations

import functools

import pytest

from netns import CORPUS, corpus_available, corpus_inventory, require_netns

from .corpus import CorpusResult, compare_file, eligible_rows

pytestmark = pytest.mark.kernel

STRIDE = 4
MINIMUM_COMPARED = 20


def _selected() -> list[dict[str, str]]:
    if not corpus_available():
        return []
    return eligible_rows(corpus_inventory())[::STRIDE]


SELECTED = _selected()


@functools.lru_cache(maxsize=None)
def _result(path: str, format: str) -> CorpusResult:
    return compare_file(path, format, corpus_root=CORPUS)


@pytest.mark.parametrize("row", SELECTED, ids=[row["path"] for row in SELECTED])
def test_exposure_agrees_with_kernel(row: dict[str, str]) -> None:
    require_netns()
    result = _result(row["path"], row["format"])
    assert result.status != "fwlint raised", result.detail
    assert not result.disagreements, (
        f"{row['path']} ({row['format']}): {len(result.disagreements)} sampled packets where "
        f"fwlint's exposure and the kernel disagree ({result.agreed} agree):\n  "
        + "\n  ".join(result.disagreements[:10]))


def test_enough_corpus_files_compared() -> None:
    require_netns()
    if not SELECTED:
        pytest.skip(f"corpus not found at {CORPUS}")
    results = [_result(row["path"], row["format"]) for row in SELECTED]
    compared = [r for r in results if r.status == "compared"]
    assert len(compared) >= MINIMUM_COMPARED, {r.path: (r.status, r.detail) for r in results}
    assert sum(r.reachable for r in compared) > 0, "no sample reached the receiver at all"
