"""Command-line entry point.  Each subcommand lives in ``fwlint/commands/<name>.py`` with
``add_parser(subparsers)`` and ``run(args) -> int``; this module only wires them up."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from . import __version__, _native

#: subcommand modules, in the order ``fwlint --help`` lists them
_COMMANDS = ("check", "baseline", "rules", "rule", "dump", "policy", "exposure")


class _Version(argparse.Action):
    """``--version``: the version and whether this installation runs compiled (read only
    when asked: it checks the compiled modules against their sources)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS,
                 help: str = "show the version, and whether fwlint runs compiled, and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"fwlint {__version__} ({_native.status()})")
        parser.exit()


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; ``only``: build just that subcommand's parser (what a run of it
    needs: the others' modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog="fwlint",
        description="Lint iptables and nftables rule files and check them against policy.")
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS if only is None else (only,):
        module = importlib.import_module(f"fwlint.commands.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .errors import UsageError

    arguments = sys.argv[1:] if argv is None else list(argv)
    # ``fwlint check …`` (the command first, as every run but --help/--version has it)
    # builds only the check parser: building all seven costs 5 ms more
    parser = build_parser(arguments[0] if arguments and arguments[0] in _COMMANDS else None)
    args = parser.parse_args(arguments)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"fwlint: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
