"""``fwlint check PATHS…``: lint files and report findings."""

from __future__ import annotations

import os
import sys

from ..files import expand_paths
from ..findings import Severity
from ..parsing import FORMATS
from ..reporters import REPORTERS, get_reporter


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="lint rule files (files, directories or - for stdin)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=FORMATS, help="input format (default: detect from content)")
    p.add_argument("--output-format", choices=tuple(REPORTERS), default="full",
                   help="how findings are printed (default: full)")
    p.add_argument("--select", action="append", default=None, metavar="CODES",
                   help="comma-separated codes, prefixes (FW2) or names to enable")
    p.add_argument("--ignore", action="append", default=[], metavar="CODES",
                   help="comma-separated codes, prefixes or names to disable")
    p.add_argument("--fail-on", default="info",
                   choices=("critical", "high", "medium", "low", "info", "never"),
                   help="lowest severity that makes the exit code 1 (default: info)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    p.add_argument("--policy", default=None, metavar="FILE|NAME",
                   help="policy to check against (default: baseline); 'none' for no policy")
    p.add_argument("-I", "--include-dir", action="append", default=[], dest="include_dirs",
                   help="extra directory for nft include files")
    p.set_defaults(run=run)


def _codes(values) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def settings_from_args(args):
    from ..settings import Settings

    settings = Settings()
    if args.select:
        settings.select = _codes(args.select)
    settings.ignore = _codes(args.ignore)
    settings.fail_on = None if args.fail_on == "never" else Severity.parse(args.fail_on)
    if args.policy:
        settings.policy = None if args.policy == "none" else args.policy
    settings.format = args.format
    settings.include_dirs = tuple(args.include_dirs)
    return settings


def run(args) -> int:
    from .. import __version__
    from ..engine import exit_code, lint_file

    settings = settings_from_args(args)
    results = [lint_file(path, settings) for path in expand_paths(args.paths)]
    reporter = get_reporter(args.output_format)
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sys.stdout.write(reporter(results, colour=colour, version=__version__))
    return 0 if args.exit_zero else exit_code(results, settings.fail_on)
