"""Which of fwlint's modules run compiled (mypyc), and the sources when the build is stale.

The build (``hatch_build.py``) compiles the hot modules and writes ``compiled.txt``: each
compiled module's source path and the CRC-32 of the source it was compiled from.  Python
imports an extension module before a source file of the same name, so an edited checkout
would silently run the code of the last install.  :class:`_SourcesWhenStale`, first on
``sys.meta_path``, prevents that: when any listed source has changed, or when
``FWLINT_PURE_PYTHON`` is set, every listed module is loaded from its source instead (all or
none: compiled modules of one group call each other directly).  The sources are read only
when the first listed module is imported, so a run that never analyses pays nothing.
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import Optional, Sequence

PURE_ENV = "FWLINT_PURE_PYTHON"
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MANIFEST = os.path.join(_PACKAGE_PARENT, "fwlint", "compiled.txt")


def read_manifest(path: str = _MANIFEST) -> dict[str, tuple[str, int]]:
    """{module name: (source path, CRC-32 it was compiled from)}; empty when not compiled."""
    try:
        with open(path, encoding="utf-8") as manifest:
            lines = manifest.read().splitlines()
    except OSError:
        return {}
    root = os.path.dirname(os.path.dirname(path))
    out: dict[str, tuple[str, int]] = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        relative, crc = line.rsplit(" ", 1)
        name = relative[:-len(".py")].replace("/", ".")
        out[name] = (os.path.join(root, relative), int(crc))
    return out


def stale_sources(modules: dict[str, tuple[str, int]]) -> list[str]:
    """The listed sources that differ from what was compiled (or are gone)."""
    changed = []
    for source, crc in modules.values():
        try:
            with open(source, "rb") as text:
                if zlib.crc32(text.read()) != crc:
                    changed.append(source)
        except OSError:
            changed.append(source)
    return changed


class _SourcesWhenStale:
    """A meta path finder (``find_spec``) for the compiled modules only."""

    def __init__(self, modules: dict[str, tuple[str, int]]) -> None:
        self.modules = modules
        self.reason: Optional[str] = None
        self._decided = False

    def decide(self) -> Optional[str]:
        """Why the sources are used instead of the compiled modules (None: they are not)."""
        if not self._decided:
            self._decided = True
            if os.environ.get(PURE_ENV):
                self.reason = f"{PURE_ENV} is set"
            elif stale_sources(self.modules):
                self.reason = "sources changed since the build; reinstall to compile them"
        return self.reason

    def find_spec(self, name: str, path: Optional[Sequence[str]] = None, target=None):
        if name not in self.modules or self.decide() is None:
            return None
        import importlib.machinery
        import importlib.util

        source = self.modules[name][0]
        return importlib.util.spec_from_file_location(
            name, source, loader=importlib.machinery.SourceFileLoader(name, source))


_finder: Optional[_SourcesWhenStale] = None


def install() -> None:
    """Put the finder first on ``sys.meta_path`` when this installation has compiled modules."""
    global _finder
    modules = read_manifest()
    if modules and _finder is None:
        _finder = _SourcesWhenStale(modules)
        sys.meta_path.insert(0, _finder)


def status() -> str:
    """How this installation runs, for ``fwlint --version`` and the benchmark."""
    if _finder is None:
        return "pure Python (not compiled at install)"
    reason = _finder.decide()
    if reason is not None:
        return f"pure Python ({reason})"
    return f"compiled with mypyc: {len(_finder.modules)} modules"


def compiled_modules() -> list[str]:
    """The modules that run compiled in this process."""
    if _finder is None or _finder.decide() is not None:
        return []
    return sorted(_finder.modules)
