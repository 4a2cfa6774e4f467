"""``fwlint rules``: list every check with its code, name and default severity."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("rules", help="list all checks")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..checks import registry

    for info in registry().values():
        print(f"{info.code}  {info.name:<32} {str(info.severity):<8} {info.summary}")
    return 0
