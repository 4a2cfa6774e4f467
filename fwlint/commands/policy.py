"""``fwlint policy validate|show|list``: check policy files, print a policy after
``extends``, list the built-in policies."""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("policy", help="validate, show or list YAML policies")
    actions = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="check policy files (exit 2 if any is invalid)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=run_validate)
    show = actions.add_parser("show", help="print a policy after extends, as YAML")
    show.add_argument("name", metavar="NAME|FILE")
    show.set_defaults(run=run_show)
    listing = actions.add_parser("list", help="list the built-in policies")
    listing.set_defaults(run=run_list)


def run_validate(args) -> int:
    from ..errors import UsageError
    from ..policy import load_policy

    failed = []
    for path in args.files:
        try:
            policy = load_policy(path, strict=True)
        except UsageError as exc:
            failed.append(str(exc))
            continue
        print(f"{path}: ok (policy {policy.name!r}: {len(policy.services)} services, "
              f"{len(policy.forbidden)} forbidden entries)")
    if failed:
        raise UsageError("\n".join(failed))
    return 0


def run_show(args) -> int:
    import yaml

    from ..policy import load_policy

    policy = load_policy(args.name)
    sys.stdout.write(f"# policy {policy.name} from {', '.join(policy.files)}\n")
    sys.stdout.write(yaml.safe_dump(policy.to_data(), sort_keys=False, default_flow_style=None))
    return 0


def run_list(args) -> int:
    from ..policy import builtin_policies, load_policy

    for name in builtin_policies():
        print(f"{name:<14} {load_policy(name).description}")
    return 0
