"""CPU time and memory of fwlint's front end alone on one file (issues 2 and 7).

    python bench/profile_parse.py bench/out/iptables-100000.rules
    python bench/profile_parse.py --tracemalloc 15 bench/out/iptables-10000.rules

Prints the CPU seconds of ``parse_text`` (``time.process_time``, not wall time: the
machines are shared), the process's peak RSS, and with ``--tracemalloc N`` the N source
lines that hold most of the memory of the model left alive after parsing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--format", default=None)
    parser.add_argument("--repeat", type=int, default=1, help="parses (best CPU time kept)")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                        help="show the N lines holding most memory after parsing")
    args = parser.parse_args(argv)

    from fwlint.parsing import parse_text

    with open(args.path, encoding="utf-8") as handle:
        text = handle.read()
    if args.tracemalloc:
        import tracemalloc
        tracemalloc.start(1)
    best = None
    result = None
    for _ in range(args.repeat):
        result = None
        start = time.process_time()
        result = parse_text(text, args.path, args.format)
        elapsed = time.process_time() - start
        best = elapsed if best is None else min(best, elapsed)
    rules = sum(1 for _ in result.ruleset.iter_rules())
    print(f"parse_text: {best:.3f} s CPU, {rules} rules, {len(result.errors)} errors")
    if args.tracemalloc:
        import tracemalloc
        snapshot = tracemalloc.take_snapshot()
        total = sum(stat.size for stat in snapshot.statistics("filename"))
        print(f"traced after parse: {total / 1e6:.1f} MB")
        for stat in snapshot.statistics("lineno")[:args.tracemalloc]:
            print(f"  {stat.size / 1e6:8.1f} MB {stat.count:9d}  {stat.traceback[0]}")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {peak_kb / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
