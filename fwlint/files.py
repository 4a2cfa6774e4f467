"""Which files a path names: a file as given, a directory walked for rule files."""

from __future__ import annotations

import os
import re
from typing import Iterable, Iterator

from .errors import UsageError

#: names of files in a directory that are taken as rule files
RULE_FILE_RE = re.compile(
    r"(\.nft$|^nftables\.conf$|^rules\.v[46]$|^ip6?tables(\.rules|\.save|-save|\.conf)?$"
    r"|\.ip6?tables$|^ip6?tables[-_.].*\.(rules|save|txt)$)")


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Yield files to lint, sorted within each directory; a missing path is a usage error."""
    for path in paths:
        if path == "-":
            yield path
        elif os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in files if RULE_FILE_RE.search(f))
            yield from sorted(found)
        elif os.path.exists(path) or os.path.islink(path):
            yield path
        else:
            raise UsageError(f"{path}: no such file or directory")
