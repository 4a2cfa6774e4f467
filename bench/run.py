"""Time ``fwlint check`` (and parsing alone) against the kernel tools on generated files.

For every benchmark in BENCHMARKS and every size, the generator writes a file into
bench/out/, then three commands run on that same file, each in its own process:

- the reference tool in a private network namespace (``unshare -n iptables-restore
  --test FILE``), which parses and validates the whole ruleset;
- ``fwlint check FILE`` as a user runs it;
- fwlint's front end alone (``parse_text``: parse + model).

It prints a table of wall-clock and CPU seconds with the ratios to the reference, then
the growth from 10k to 100k rules, and writes bench/out/results.json.  The ratios use
CPU seconds (user + system of the child process): the machines this runs on are shared,
and wall time there measures the neighbours as much as the program.

    python bench/run.py                      # 1k, 10k, 100k rules, every benchmark
    python bench/run.py --sizes 1000 10000 --only iptables --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_iptables  # noqa: E402  (bench/ is not a package)
import gen_nft  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


@dataclass(frozen=True)
class Benchmark:
    """One input format: how to generate a file and which tool to compare with."""

    name: str
    generate: Callable[[int], str]  # rules -> file text
    reference: tuple[str, ...]  # command run as ``unshare -n *reference FILE``
    format: str  # fwlint --format
    suffix: str


BENCHMARKS: list[Benchmark] = [
    Benchmark("iptables", partial(gen_iptables.generate, seed=1),
              ("iptables-restore", "--test"), "iptables-save", ".rules"),
    Benchmark("nft", gen_nft.generate, ("nft", "-c", "-f"), "nft", ".nft"),
]

_PARSE_ONLY = ("import sys; from fwlint.parsing import parse_text; "
               "parse_text(open(sys.argv[2], encoding='utf-8').read(), sys.argv[2], sys.argv[1])")


@dataclass
class Timing:
    wall: float
    cpu: float
    returncode: int  # -1: killed after the timeout (the times are then lower bounds)


def timed(command: list[str], timeout: float) -> Timing:
    """Run a command once; wall seconds and the child's CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout)
        returncode = proc.returncode
        stderr = proc.stderr
    except subprocess.TimeoutExpired:
        returncode, stderr = -1, b"timed out"
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if returncode not in (0, 1):
        sys.stderr.write(f"{' '.join(command)}: exit {returncode}: "
                         f"{stderr.decode(errors='replace')[-500:]}\n")
    return Timing(wall, cpu, returncode)


def best(command: list[str], repeat: int, timeout: float) -> Timing:
    runs = [timed(command, timeout) for _ in range(repeat)]
    return min(runs, key=lambda t: t.cpu)


def run(benchmarks: list[Benchmark], sizes: list[int], repeat: int, timeout: float
        ) -> list[dict]:
    os.makedirs(OUT, exist_ok=True)
    can_unshare = os.geteuid() == 0 and shutil.which("unshare") is not None
    results = []
    for bench in benchmarks:
        for size in sizes:
            path = os.path.join(OUT, f"{bench.name}-{size}{bench.suffix}")
            text = bench.generate(size)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            row = {"benchmark": bench.name, "size": size, "bytes": len(text.encode()),
                   "lines": text.count("\n")}
            commands = {}
            if can_unshare and shutil.which(bench.reference[0]):
                commands["reference"] = ["unshare", "-n", *bench.reference, path]
            commands["parse"] = [sys.executable, "-c", _PARSE_ONLY, bench.format, path]
            commands["check"] = [sys.executable, "-m", "fwlint", "check", "--isolated",
                                 "--format", bench.format, "--exit-zero", "--output-format",
                                 "concise", path]
            for label, command in commands.items():
                timing = best(command, repeat, timeout)
                row[label] = {"wall": round(timing.wall, 3), "cpu": round(timing.cpu, 3),
                              "returncode": timing.returncode}
            results.append(row)
            print_row(row)
    return results


def print_header() -> None:
    print(f"{'benchmark':<10} {'rules':>7} {'MB':>6} | {'reference':>15} | {'fwlint check':>15}"
          f" {'ratio':>6} | {'parse only':>15} {'ratio':>6}")
    print(f"{'':<10} {'':>7} {'':>6} | {'wall/cpu s':>15} | {'wall/cpu s':>15} {'cpu':>6} |"
          f" {'wall/cpu s':>15} {'cpu':>6}")


def _pair(timing: dict | None) -> str:
    if not timing:
        return "n/a"
    late = ">" if timing["returncode"] == -1 else ""
    return f"{late}{timing['wall']:.2f}/{late}{timing['cpu']:.2f}"


def _ratio(timing: dict, reference: dict | None) -> str:
    if not reference or reference["cpu"] <= 0:
        return "n/a"
    return f"{timing['cpu'] / reference['cpu']:.2f}x"


def print_row(row: dict) -> None:
    ref = row.get("reference")
    print(f"{row['benchmark']:<10} {row['size']:>7} {row['bytes'] / 1e6:>6.1f} | "
          f"{_pair(ref):>15} | {_pair(row['check']):>15} {_ratio(row['check'], ref):>6} | "
          f"{_pair(row['parse']):>15} {_ratio(row['parse'], ref):>6}", flush=True)


def growth(results: list[dict], low: int = 10_000, high: int = 100_000) -> list[dict]:
    """CPU time at ``high`` rules divided by CPU time at ``low`` rules."""
    rows = []
    for name in sorted({r["benchmark"] for r in results}):
        by_size = {r["size"]: r for r in results if r["benchmark"] == name}
        if low in by_size and high in by_size:
            entry = {"benchmark": name}
            for label in ("reference", "check", "parse"):
                a, b = by_size[low].get(label), by_size[high].get(label)
                if a and b and a["cpu"] > 0:
                    entry[label] = round(b["cpu"] / a["cpu"], 2)
            rows.append(entry)
            print(f"growth {low // 1000}k->{high // 1000}k {name}: " + ", ".join(
                f"{label} {value}x" for label, value in entry.items() if label != "benchmark"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="benchmarks to run: " + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (best kept)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    print_header()
    results = run(chosen, args.sizes, args.repeat, args.timeout)
    summary = {"results": results, "growth": growth(results),
               "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with open(os.path.join(OUT, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"results in {os.path.relpath(os.path.join(OUT, 'results.json'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
