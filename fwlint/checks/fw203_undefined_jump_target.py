"""
## What it does
Reports a rule that jumps to (or goes to) a chain that is not defined in the same table.

## Why is this bad
`iptables-restore` and `nft -f` refuse the whole file when a jump target does not exist, so
none of the rules are loaded.  In a shell script the one command fails and the script goes
on: every packet that should have been handed to the missing chain simply falls through to
the next rule, usually not what the author meant.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j SSH_IN
COMMIT
```
```
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 jump ssh_in
  }
}
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:SSH_IN - [0:0]
-A INPUT -p tcp --dport 22 -j SSH_IN
-A SSH_IN -s 10.0.0.0/8 -j ACCEPT
COMMIT
```
```
table inet filter {
  chain ssh_in {
    ip saddr 10.0.0.0/8 accept
  }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 22 jump ssh_in
  }
}
```
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

from ..findings import Problem, Related
from ..model import Rule, Span, Table

CODE = "FW203"
NAME = "undefined-jump-target"
SEVERITY = "high"
TARGET = "ruleset"
OPTIONS: dict = {}

_JUMP_KINDS = ("jump", "goto")


class JumpReference(NamedTuple):
    """One place in a table that sends packets to a chain by name.

    ``rule`` is None for a reference from a named verdict map's element.  A named tuple,
    not a dataclass: kube-proxy dumps hold tens of thousands of jumps.
    """

    source: str  # the chain the jump is in, or "@map" for a named verdict map
    target: str
    kind: str  # "jump" | "goto"
    span: Span
    rule: Optional[Rule] = None


def jump_references(table: Table) -> Iterator[JumpReference]:
    """Every jump/goto in a table: rule verdicts and verdict-map elements, in file order.

    FW204 (jump-cycle) and FW301 (unused-chain) build on this, so all three agree on what
    counts as a reference to a chain.
    """
    for chain in table.chains:
        for rule in chain.rules:
            verdict = rule.verdict
            if verdict is not None and verdict.kind in _JUMP_KINDS and verdict.target:
                yield JumpReference(chain.name, verdict.target, verdict.kind, rule.span, rule)
    for named in table.sets:
        if not named.is_map:
            continue
        for element in named.elements:
            words = (element.value or "").split()
            if len(words) == 2 and words[0] in _JUMP_KINDS:
                yield JumpReference("@" + named.name, words[1], words[0], element.span)


def check(ctx) -> Iterator[Problem]:
    for table in ctx.ruleset.tables:
        if not ctx.jump_graph(table).has_missing_target():
            continue
        defined = {chain.name for chain in table.chains}
        missing = [ref for ref in jump_references(table) if ref.target not in defined]
        from_maps = [ref for ref in missing if ref.rule is None]
        users: dict[tuple[str, str], list[JumpReference]] = {}
        for ref in missing:
            if ref.rule is None:
                continue
            named_map = _map_used_by(ref, from_maps)
            if named_map:
                users.setdefault((named_map, ref.target), []).append(ref)
                continue
            yield Problem(
                span=ref.span,
                message=f"{ref.kind} to chain {ref.target!r}, which is not defined in table "
                        f"{table.family} {table.name}",
                key=f"{table.family}/{table.name}/{ref.source}/{ref.rule.text}",
            )
        for ref in from_maps:
            yield Problem(
                span=ref.span,
                message=f"verdict map {ref.source} has {ref.kind} to chain {ref.target!r}, "
                        f"which is not defined in table {table.family} {table.name}",
                related=tuple(Related(user.span, f"rule using {ref.source}")
                              for user in users.get((ref.source, ref.target), ())),
                key=f"{table.family}/{table.name}/{ref.source}/{ref.kind} {ref.target}",
            )


def _map_used_by(ref: JumpReference, from_maps: list[JumpReference]) -> str:
    """The named map (``@name``) a rule's jump came from, when the front end unfolded one."""
    words = ref.rule.text.split()
    for map_ref in from_maps:
        if map_ref.target == ref.target and map_ref.source in words:
            return map_ref.source
    return ""
