"""``fwlint rule CODE``: print a check's documentation."""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("rule", help="explain one check (by code or name)")
    p.add_argument("code", metavar="CODE")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..checks import lookup

    info = lookup(args.code)
    if info is None:
        print(f"fwlint: error: no check named {args.code!r} (see 'fwlint rules')", file=sys.stderr)
        return 2
    print(f"# {info.name} ({info.code})\n")
    print(f"Default severity: {info.severity}\n")
    print(info.doc)
    return 0
