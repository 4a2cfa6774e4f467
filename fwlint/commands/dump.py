"""``fwlint dump FILE``: print the model of a file as JSON."""

from __future__ import annotations

import dataclasses
import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dump", help="print the parsed model of a file as JSON")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--format", default=None, help="input format (default: detect)")
    p.add_argument("--spans", action="store_true", help="include source positions")
    p.set_defaults(run=run)


def model_to_data(value, spans: bool = False):
    """A model value as JSON-ready data: dataclasses become dicts with their type name."""
    if dataclasses.is_dataclass(value):
        data = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name == "span" and not spans:
                continue
            if f.name in ("sources",):
                continue
            data[f.name] = model_to_data(getattr(value, f.name), spans)
        return data
    if isinstance(value, (tuple, list)):
        return [model_to_data(v, spans) for v in value]
    if isinstance(value, frozenset):
        return sorted(model_to_data(v, spans) for v in value)
    return value


def run(args) -> int:
    from ..engine import read_source
    from ..limits import Limits
    from ..parsing import parse_text

    limits = Limits.from_options(None)
    path, text, errors = read_source(args.path, limits)
    result = parse_text(text, path, args.format, limits=limits)
    document = {"ruleset": model_to_data(result.ruleset, args.spans),
                "errors": [model_to_data(e, True) for e in errors + result.errors]}
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if document["errors"] else 0
