"""``fwlint baseline create FILE PATHS…``: record today's findings so only new ones fail."""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    from .check import add_selection_arguments

    p = subparsers.add_parser("baseline", help="record current findings to adopt fwlint gradually")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="write a baseline of every current finding")
    create.add_argument("file", metavar="FILE", help="baseline file to write (JSON)")
    create.add_argument("paths", nargs="+", metavar="PATH")
    add_selection_arguments(create)
    create.set_defaults(run=run_create)


def run_create(args) -> int:
    from .. import baseline
    from ..config import Resolver
    from ..errors import UsageError
    from ..reporters import write_atomic
    from .check import lint_paths, overrides_from_args

    resolver = Resolver(overrides_from_args(args))
    results = lint_paths(args.paths, resolver, args.jobs)
    text = baseline.render(results, args.file)
    try:
        write_atomic(args.file, text)
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot write: {exc.strerror or exc}") from None
    count = text.count('"fingerprint"')
    print(f"fwlint: wrote {count} baseline entr{'y' if count == 1 else 'ies'} "
          f"for {len(results)} file{'s' * (len(results) != 1)} to {args.file}", file=sys.stderr)
    return 0
