"""Locate the data shipped with fwlint: grammars/ and policies/.

In a wheel they live inside the package (``fwlint/grammars``, ``fwlint/policies``, see
pyproject's force-include); in a source checkout or an editable install they are the
top-level folders beside ``fwlint/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """The folder ``grammars`` or ``policies`` wherever this installation keeps it."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fwlint installation is missing its {name}/ folder "
                            f"(looked in {_PACKAGE_DIR} and {_PACKAGE_DIR.parent})")


def grammar_path(name: str) -> Path:
    return data_dir("grammars") / name


def policies_dir() -> Path:
    return data_dir("policies")
