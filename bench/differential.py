"""Kernel differential at scale: N random rulesets × M packets, fwlint against Linux.

    sudo python bench/differential.py                 # 1000 rulesets × 1000 packets
    sudo python bench/differential.py -n 50 -m 200 --formats nft --show 3
    sudo python bench/differential.py --corpus        # every corpus file the kernel loads

Needs root (private network namespaces; nothing leaves them).  Prints agreement counts per
format and the first disagreements in full (ruleset, packet, both answers); exit status 1
when there is any disagreement, 2 when the machine cannot run it.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from kernel.compare import disagreements, report  # noqa: E402
from kernel.corpus import compare_file, eligible_rows  # noqa: E402
from kernel.gen_rulesets import generate, probes_for  # noqa: E402
from kernel.oracle import Oracle, OracleError  # noqa: E402
from netns import CORPUS, corpus_available, corpus_inventory, netns_unavailable_reason  # noqa: E402


def run_corpus(show: int) -> int:
    """Issue 4 acceptance 3 on every eligible corpus file; prints agreement counts."""
    if not corpus_available():
        print(f"differential: corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    started = time.monotonic()
    statuses = collections.Counter()
    agreed = reachable = uncertain = disagreeing = 0
    failing = []
    for row in eligible_rows(corpus_inventory()):
        result = compare_file(row["path"], row["format"], corpus_root=CORPUS)
        statuses[result.status] += 1
        agreed += result.agreed
        reachable += result.reachable
        uncertain += result.uncertain
        disagreeing += len(result.disagreements)
        if result.disagreements or result.status == "fwlint raised":
            failing.append(result)
    for result in failing[:show]:
        print(f"--- {result.path}: {result.status} {result.detail}")
        for line in result.disagreements[:4]:
            print(f"  {line}")
    compared = statuses["compared"]
    print(f"corpus: {compared} files compared, {compared - len(failing)} fully agree; "
          f"not compared: {dict((k, v) for k, v in statuses.items() if k != 'compared')}")
    print(f"samples: {agreed} agree ({reachable} of them reachable), {disagreeing} disagree, "
          f"{uncertain} left uncertain (possible or forward classes); "
          f"{time.monotonic() - started:.1f} s")
    return 0 if not failing else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rulesets", type=int, default=1000)
    parser.add_argument("-m", "--packets", type=int, default=1000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--formats", default="save,nft",
                        help="comma list of 'save' (iptables-save/ip6tables-save) and 'nft'")
    parser.add_argument("--show", type=int, default=5, help="disagreeing rulesets to print")
    parser.add_argument("--corpus", action="store_true",
                        help="compare fwlint's exposure with the kernel on the corpus instead")
    args = parser.parse_args(argv)
    reason = netns_unavailable_reason()
    if reason:
        print(f"differential: {reason}", file=sys.stderr)
        return 2
    if args.corpus:
        return run_corpus(args.show)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    packets = collections.Counter()
    agreed = collections.Counter()
    failed_rulesets = collections.Counter()
    errors = collections.Counter()
    shown = 0
    started = time.monotonic()
    with Oracle(router=True) as oracle:
        for seed in range(args.first_seed, args.first_seed + args.rulesets):
            ruleset = generate(seed)
            probes = probes_for(ruleset, args.packets, seed)
            for kind in formats:
                format = ruleset.save_format if kind == "save" else "nft"
                text = ruleset.render(format)
                try:
                    found, _kernel = disagreements(oracle, text, format, probes)
                except (AssertionError, OracleError) as error:
                    errors[kind] += 1
                    if shown < args.show:
                        shown += 1
                        print(f"--- seed {seed} ({format}) not compared:\n{error}\n")
                    continue
                except Exception as error:  # fwlint crashed: count it, keep measuring
                    errors[kind] += 1
                    if shown < args.show:
                        shown += 1
                        print(f"--- seed {seed} ({format}) fwlint raised {error!r}\n")
                    continue
                packets[kind] += len(probes)
                agreed[kind] += len(probes) - len(found)
                if found:
                    failed_rulesets[kind] += 1
                    if shown < args.show:
                        shown += 1
                        print(f"--- seed {seed}\n{report(text, format, found, limit=4)}\n")
    elapsed = time.monotonic() - started
    for kind in formats:
        compared = args.rulesets - errors[kind]
        print(f"{kind}: {agreed[kind]}/{packets[kind]} packets agree; "
              f"{compared - failed_rulesets[kind]}/{args.rulesets} rulesets fully agree; "
              f"{errors[kind]} rulesets not compared (parse error or crash)")
    print(f"{args.rulesets} rulesets × {args.packets} packets in {elapsed:.1f} s")
    clean = all(agreed[k] == packets[k] and not errors[k] for k in formats)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
