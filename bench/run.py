"""Time fwlint against the kernel tools on generated files, phase by phase (issue 7).

For every benchmark in BENCHMARKS and every size, the generator writes a file into
bench/out/, then these commands run on that same file, each in its own process:

- ``reference``: the kernel tool in a private network namespace (``unshare -n
  iptables-restore --test FILE`` / ``unshare -n nft -c -f FILE``), which parses and
  validates the whole ruleset;
- ``parse``: fwlint's front end alone (``parse_text``: parse + model);
- ``structural``: ``fwlint check`` with only the structural checks of issue 2;
- ``check``: ``fwlint check`` with every check, as a user runs it;
- ``phases``: fwlint's own phases inside one ``check`` (read, parse and model, structural
  checks, analysis, policy, suppressions, report), by ``bench/phases.py``.

Each command's CPU seconds (user + system), wall seconds and peak RSS come from
``os.wait4`` on that one child.  Ratios are given by CPU time (the machines are shared:
wall time there measures the neighbours as much as the program) and by wall time, with
the load average beside them.  Then the growth from 10k to 100k rules, and the
small-file latency: a 50-rule file checked end to end against ``yamllint`` on a 50-item
YAML file (only when yamllint is installed).  Everything goes to bench/out/results.json.

    python bench/run.py                      # 1k, 10k, 100k rules, every benchmark
    python bench/run.py --sizes 1000 10000 --only iptables --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_iptables  # noqa: E402  (bench/ is not a package)
import gen_nft  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")

#: the structural checks of issue 2 (parse errors, jumps, ports, addresses, duplicates, …)
STRUCTURAL = ("FW001,FW101,FW203,FW204,FW206,FW207,FW208,FW301,FW302,FW303,FW304,FW305")
PHASES = ("reference", "parse", "structural", "check")


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
    rss_mb: float  # peak resident set size of the child
    returncode: int  # -1: killed after the timeout (the times are then lower bounds)


def _python_env() -> dict[str, str]:
    """The environment for fwlint's processes: bytecode cached (in bench/out/pycache, never
    in the source tree), as after ``pip install``, which compiles it.  Without it every run
    compiles fwlint's sources again, which a small file's latency would measure."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(OUT, "pycache")
    return env


def timed(command: list[str], timeout: float) -> Timing:
    """Run a command once: its wall seconds, CPU seconds and peak RSS (from wait4)."""
    env = _python_env() if command[0] == sys.executable else None
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    returncode = -1 if killed.is_set() else proc.returncode
    if returncode not in (0, 1):
        sys.stderr.write(f"{' '.join(command)}: exit {returncode}: "
                         f"{stderr.decode(errors='replace')[-500:]}\n")
    return Timing(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, returncode)


def best(command: list[str], repeat: int, timeout: float, warm: bool = False) -> Timing:
    """The run with the least CPU time; ``warm``: one run first, not counted (it writes the
    bytecode cache)."""
    if warm:
        timed(command, timeout)
    runs = [timed(command, timeout) for _ in range(repeat)]
    return min(runs, key=lambda t: t.cpu)


def interleaved(commands: dict[str, list[str]], repeat: int, timeout: float
                ) -> dict[str, Timing]:
    """The best run of each command, the commands taking turns (reference, parse, ...,
    then again): a machine whose speed drifts during the benchmark (shared cores; seen
    here: the reference's CPU time doubled within an hour) then slows every command of a
    round alike, so the ratios stay fair."""
    runs: dict[str, list[Timing]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, command in commands.items():
            runs[label].append(timed(command, timeout))
    return {label: min(timings, key=lambda t: t.cpu) for label, timings in runs.items()}


def _fwlint_check(fmt: str, path: str, *select: str) -> list[str]:
    return [sys.executable, "-m", "fwlint", "check", "--isolated", "--format", fmt,
            "--exit-zero", "--output-format", "concise", *select, path]


def commands_for(bench: Benchmark, path: str, can_unshare: bool) -> dict[str, list[str]]:
    commands = {}
    if can_unshare and shutil.which(bench.reference[0]):
        commands["reference"] = ["unshare", "-n", *bench.reference, path]
    commands["parse"] = [sys.executable, "-c", _PARSE_ONLY, bench.format, path]
    commands["structural"] = _fwlint_check(bench.format, path, "--select", STRUCTURAL)
    commands["check"] = _fwlint_check(bench.format, path)
    return commands


def write_generated(bench: Benchmark, size: int, path: str) -> None:
    """Generate the file in a child process.  A child's peak RSS starts from what its
    parent held when it forked, so the runner itself stays small: a 100k-rule text held
    here would become the floor of every later measurement."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(bench.generate(size))
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"generating {path} failed")


def _count_lines(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def run(benchmarks: list[Benchmark], sizes: list[int], repeat: int, timeout: float
        ) -> list[dict]:
    os.makedirs(OUT, exist_ok=True)
    can_unshare = os.geteuid() == 0 and shutil.which("unshare") is not None
    results = []
    for bench in benchmarks:
        for size in sizes:
            path = os.path.join(OUT, f"{bench.name}-{size}{bench.suffix}")
            write_generated(bench, size, path)
            row = {"benchmark": bench.name, "size": size, "bytes": os.path.getsize(path),
                   "lines": _count_lines(path)}
            for label, timing in interleaved(commands_for(bench, path, can_unshare), repeat,
                                             timeout).items():
                row[label] = {"wall": round(timing.wall, 3), "cpu": round(timing.cpu, 3),
                              "rss_mb": round(timing.rss_mb, 1),
                              "returncode": timing.returncode,
                              "load": round(os.getloadavg()[0], 2)}
            row["phases"] = own_phases(bench, path, timeout, repeat)
            ref = row.get("reference")
            for label in PHASES[1:]:
                row[label]["ratio"] = ratios(row[label], ref)
            results.append(row)
            print_row(row)
    return results


#: fwlint's phases inside one check (bench/phases.py), in the order they run
OWN_PHASES = ("read", "parse", "structural", "analysis", "policy", "suppress", "report")


def own_phases(bench: Benchmark, path: str, timeout: float, repeat: int = 1) -> dict:
    """CPU seconds of each of fwlint's phases on ``path``, each run in one child process;
    with ``repeat``, the least of each phase over that many runs (as the commands keep
    their best run: a single run's phase of 0.02 s is mostly noise in the growth)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "phases.py")
    best_phases: dict = {}
    for _ in range(max(1, repeat)):
        try:
            done = subprocess.run([sys.executable, script, "--format", bench.format, path],
                                  capture_output=True, text=True, timeout=timeout,
                                  env=_python_env(), check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            sys.stderr.write(f"phases of {path}: {exc}\n")
            return {}
        for name, value in json.loads(done.stdout).items():
            if name not in best_phases or (isinstance(value, (int, float))
                                           and value < best_phases[name]):
                best_phases[name] = value
    return best_phases


def ratios(timing: dict, reference: dict | None) -> dict:
    """fwlint / reference by CPU time, by wall time and by peak RSS."""
    if not reference:
        return {}
    return {key: round(timing[key] / reference[key], 2)
            for key in ("cpu", "wall", "rss_mb") if reference[key] > 0}


def print_header() -> None:
    print(f"{'benchmark':<9} {'rules':>6} {'MB':>5} {'phase':<10} | {'wall s':>7} "
          f"{'cpu s':>7} {'RSS MB':>7} | {'ratio cpu':>9} {'wall':>6} {'RSS':>6} | load")


def _late(timing: dict) -> str:
    return ">" if timing["returncode"] == -1 else ""


def print_row(row: dict) -> None:
    for label in PHASES:
        timing = row.get(label)
        if timing is None:
            print(f"{row['benchmark']:<9} {row['size']:>6} {row['bytes'] / 1e6:>5.1f} "
                  f"{label:<10} | n/a (needs root and unshare)")
            continue
        ratio = timing.get("ratio", {})
        late = _late(timing)
        shown = [f"{late}{ratio[k]:.2f}x" if k in ratio else "-"
                 for k in ("cpu", "wall", "rss_mb")]
        print(f"{row['benchmark']:<9} {row['size']:>6} {row['bytes'] / 1e6:>5.1f} "
              f"{label:<10} | {late}{timing['wall']:>6.2f} {late}{timing['cpu']:>6.2f} "
              f"{timing['rss_mb']:>7.1f} | {shown[0]:>9} {shown[1]:>6} {shown[2]:>6} | "
              f"{timing['load']:.1f}", flush=True)
    phases = row.get("phases")
    if phases:
        print(f"{row['benchmark']:<9} {row['size']:>6} {'':>5} {'phases':<10} | cpu s: "
              + ", ".join(f"{name} {phases[name]:.2f}" for name in OWN_PHASES if name in phases)
              + f"; total {phases['total']:.2f}", flush=True)


def growth(results: list[dict], low: int = 10_000, high: int = 100_000) -> list[dict]:
    """CPU time at ``high`` rules divided by CPU time at ``low`` rules, per phase."""
    rows = []
    for name in sorted({r["benchmark"] for r in results}):
        by_size = {r["size"]: r for r in results if r["benchmark"] == name}
        if low in by_size and high in by_size:
            entry = {"benchmark": name}
            for label in PHASES:
                a, b = by_size[low].get(label), by_size[high].get(label)
                if a and b and a["cpu"] > 0 and a["returncode"] != -1:
                    entry[label] = round(b["cpu"] / a["cpu"], 2)
                    if b["returncode"] == -1:
                        entry[label + "_lower_bound"] = True
            low_phases = by_size[low].get("phases") or {}
            high_phases = by_size[high].get("phases") or {}
            # phases under 10 ms at the low size are left out: their ratio is clock noise
            entry["phases"] = {phase: round(high_phases[phase] / low_phases[phase], 2)
                               for phase in OWN_PHASES
                               if low_phases.get(phase, 0) >= 0.01 and phase in high_phases}
            rows.append(entry)
            print(f"growth {low // 1000}k->{high // 1000}k {name} (cpu): " + ", ".join(
                f"{label} {'>' if entry.get(label + '_lower_bound') else ''}{entry[label]}x"
                for label in PHASES if label in entry))
            if entry["phases"]:
                print(f"growth {low // 1000}k->{high // 1000}k {name} phases (cpu): " + ", ".join(
                    f"{phase} {ratio}x" for phase, ratio in entry["phases"].items()))
    return rows


def _yaml_items(count: int) -> str:
    """A YAML file of ``count`` items that yamllint's default rules accept."""
    lines = ["---", "rules:"]
    lines += [f"  - name: rule-{i}\n    port: {1000 + i}" for i in range(count)]
    return "\n".join(lines) + "\n"


def small_file(repeat: int, timeout: float, count: int = 50) -> dict:
    """End-to-end latency (process start to exit) on a ``count``-rule file, against
    yamllint on a ``count``-item YAML file."""
    rules_path = os.path.join(OUT, f"small-{count}.rules")
    write_generated(BENCHMARKS[0], count, rules_path)
    fwlint = best(_fwlint_check("iptables-save", rules_path), repeat, timeout, warm=True)
    entry = {"rules": count, "fwlint": {"wall": round(fwlint.wall, 3),
                                        "cpu": round(fwlint.cpu, 3)}}
    # through this interpreter: a version manager's shim in front of the console script
    # (pyenv's is a shell script) would add its own start-up to yamllint's
    yamllint = ([sys.executable, "-m", "yamllint"] if importlib.util.find_spec("yamllint")
                else [shutil.which("yamllint")] if shutil.which("yamllint") else None)
    if yamllint is None:
        entry["yamllint"] = None
        print(f"small file ({count} rules): fwlint {fwlint.wall:.3f} s wall, "
              f"{fwlint.cpu:.3f} s cpu; yamllint is not installed (pip install yamllint)")
        return entry
    yaml_path = os.path.join(OUT, f"small-{count}.yaml")
    with open(yaml_path, "w", encoding="utf-8") as handle:
        handle.write(_yaml_items(count))
    reference = best([*yamllint, yaml_path], repeat, timeout, warm=True)
    entry["yamllint"] = {"wall": round(reference.wall, 3), "cpu": round(reference.cpu, 3)}
    entry["ratio"] = {key: round(getattr(fwlint, key) / getattr(reference, key), 2)
                      for key in ("cpu", "wall") if getattr(reference, key) > 0}
    print(f"small file ({count} rules, best of {repeat}): fwlint {fwlint.wall:.3f} s wall "
          f"{fwlint.cpu:.3f} s cpu; yamllint {reference.wall:.3f} s wall {reference.cpu:.3f} s "
          f"cpu; ratio cpu {entry['ratio'].get('cpu', 'n/a')}x "
          f"wall {entry['ratio'].get('wall', 'n/a')}x")
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="benchmarks to run: " + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (best kept)")
    parser.add_argument("--small-repeat", type=int, default=10,
                        help="runs of each small-file command (best kept)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    build = subprocess.run([sys.executable, "-m", "fwlint", "--version"], capture_output=True,
                           text=True).stdout.strip()
    print(build)  # compiled or pure Python: the numbers differ about twofold
    print_header()
    results = run(chosen, args.sizes, args.repeat, args.timeout)
    summary = {"fwlint": build, "results": results, "growth": growth(results),
               "small_file": small_file(args.small_repeat, args.timeout),
               "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with open(os.path.join(OUT, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"results in {os.path.relpath(os.path.join(OUT, 'results.json'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
