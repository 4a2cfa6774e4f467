"""A long fuzz campaign: corpus-seeded mutations and generated rule files through the whole
``check`` pipeline, looking for uncaught exceptions, hangs and silently lost input.

Hypothesis drives the short campaign in CI (tests/hardening/test_fuzz.py); this runner is a
plain mutation loop, much faster per input, for runs of 100,000 inputs and more.  Each input
is bytes: it goes through ``engine.decode`` and ``engine.lint_text`` (every check, the
built-in baseline policy), then every reporter.  An input fails when

- anything raises (the traceback and the input are saved under --crash-dir),
- one input takes longer than --timeout seconds (a hang; saved the same way),
- a parse error of the front end does not come out as an FW001 finding,
- a finding has no usable position (line or column below 1).

    python bench/fuzz.py --examples 100000            # the documented campaign
    python bench/fuzz.py --examples 2000 --seed 7     # a quick one

It prints one progress line every --report inputs and a summary; the exit code is 1 when
any input failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CORPUS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       "..", "..", "shared", "corpus"))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "fuzz")
#: seeds larger than this are skipped: mutations of huge files find nothing new, slowly
MAX_SEED_BYTES = 64 * 1024
FORMATS = (None, None, None, "iptables-save", "ip6tables-save", "iptables-script", "nft")
REPORTERS = ("concise", "json", "sarif", "junit", "github", "gitlab")

TOKENS = (
    "*filter", "*nat", "*mangle", "*raw", "COMMIT", ":INPUT ACCEPT [0:0]", ":FOO - [0:0]",
    "-A", "-I", "-N", "-P", "-X", "-F", "-j", "-g", "-p", "-s", "-d", "-i", "-o", "!", "-m",
    "--dport", "--sport", "--dports", "--ports", "multiport", "conntrack", "--ctstate", "state",
    "--state", "NEW,ESTABLISHED", "tcp", "udp", "icmp", "icmpv6", "sctp", "all", "0",
    "ACCEPT", "DROP", "REJECT", "RETURN", "DNAT", "SNAT", "REDIRECT", "MASQUERADE", "LOG",
    "--to-destination", "--to-ports", "--to-source", "10.0.0.0/8", "0.0.0.0/0", "::/0",
    "fe80::1/64", "1.2.3.4-1.2.3.9", "22", "80:90", "65535", "65536", "0:0", "-1",
    "99999999999999999999", "--tcp-flags", "SYN,ACK", "SYN", "--syn", "--icmp-type",
    "echo-request", "-m comment --comment", '"x"', '"', "'", "\\", "iptables", "ip6tables",
    "$IPT", "table", "inet", "ip", "ip6", "arp", "bridge", "netdev", "chain", "set", "map",
    "type", "filter", "nat", "route", "hook", "input", "forward", "output", "prerouting",
    "postrouting", "ingress", "priority", "-150", "dstnat", "policy", "drop", "accept",
    "reject", "jump", "goto", "return", "continue", "counter", "log", "prefix", "limit",
    "rate", "5/second", "ct", "state", "established,related", "new", "invalid", "status",
    "dnat", "to", "redirect", "masquerade", "snat", "meta", "l4proto", "nfproto", "ipv4",
    "ipv6", "iif", "oif", "iifname", "oifname", '"eth*"', "lo", "saddr", "daddr", "dport",
    "sport", "th", "flags", "syn", "{", "}", "{ 22, 80 }", "@blocked", "$var", "define",
    "redefine", "undefine", "var", "=", "include", '"x.nft"', "elements", "ipv4_addr",
    "inet_service", "interval", "vmap", ":", ";", ",", ".", "-", "add", "insert", "delete",
    "flush", "ruleset", "rule", "handle", "position", "index", "comment", "#", "# fwlint: ignore[FW101]",
    "# fwlint: disable-file", "\t", "\r", "\x00", "\x7f", "\u00e9", "\u202e", "\ufeff",
)
EDGE_NUMBERS = ("0", "1", "-1", "255", "256", "1023", "1024", "65535", "65536", "4294967295",
                "4294967296", "18446744073709551616", "0x", "0x10", "1e9", "00000000022",
                "9" * 40)


def corpus_seeds() -> list[bytes]:
    """Rule files of the shared corpus, small enough to mutate quickly (empty if absent)."""
    seeds = []
    if not os.path.isdir(CORPUS):
        return seeds
    for root, dirs, files in os.walk(CORPUS):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".md", ".tsv")):
                continue
            path = os.path.join(root, name)
            if os.path.getsize(path) <= MAX_SEED_BYTES:
                with open(path, "rb") as handle:
                    seeds.append(handle.read())
    return seeds


def generated(rng: random.Random) -> bytes:
    """A rule file made of plausible lines: random tokens under a random skeleton."""
    def words(n: int) -> str:
        return " ".join(rng.choice(TOKENS + EDGE_NUMBERS) for _ in range(n))

    if rng.random() < 0.5:
        lines = ["*" + rng.choice(("filter", "nat", "mangle", "raw")),
                 f":{rng.choice(('INPUT', 'FORWARD', 'OUTPUT', 'C1'))} "
                 f"{rng.choice(('ACCEPT', 'DROP', '-'))} [0:0]"]
        lines += [f"-A {rng.choice(('INPUT', 'C1', 'PREROUTING'))} {words(rng.randint(0, 10))}"
                  for _ in range(rng.randint(0, 12))]
        lines.append("COMMIT")
    else:
        rules = "\n".join(f"    {words(rng.randint(0, 10))}" for _ in range(rng.randint(0, 12)))
        lines = [f"table {rng.choice(('inet', 'ip', 'ip6', 'bridge'))} t {{",
                 f"  chain {rng.choice(('input', 'c1'))} {{",
                 f"    type {rng.choice(('filter', 'nat'))} hook "
                 f"{rng.choice(('input', 'prerouting', 'forward'))} priority 0; policy drop;",
                 rules, "  }", "}"]
    return "\n".join(lines).encode()


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """One to four random edits: line, token, number and byte level, and crossover."""
    for _ in range(rng.randint(1, 4)):
        lines = data.split(b"\n")
        op = rng.randrange(11)
        i = rng.randrange(len(lines))
        if op == 0 and len(lines) > 1:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            words = lines[i].split(b" ")
            words.insert(rng.randint(0, len(words)),
                         rng.choice(TOKENS + EDGE_NUMBERS).encode("utf-8"))
            lines[i] = b" ".join(words)
        elif op == 4:
            words = lines[i].split(b" ")
            if len(words) > 1:
                del words[rng.randrange(len(words))]
            lines[i] = b" ".join(words)
        elif op == 5:
            words = lines[i].split(b" ")
            k = rng.randrange(len(words))
            if any(c.isdigit() for c in words[k].decode("latin-1")):
                words[k] = rng.choice(EDGE_NUMBERS).encode()
            else:
                words[k] = rng.choice(lines).split(b" ")[0]
            lines[i] = b" ".join(words)
        elif op == 6:
            data = b"\n".join(lines)
            at = rng.randint(0, len(data))
            return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) \
                + data[at:]
        elif op == 7:
            data = b"\n".join(lines)
            return data[:rng.randint(0, len(data))]
        elif op == 8:
            other = rng.choice(seeds).split(b"\n") if seeds else lines
            cut = rng.randint(0, len(lines))
            lines = lines[:cut] + other[rng.randint(0, len(other)):]
        elif op == 9:
            lines[i:i + 1] = [lines[i]] * rng.randint(2, 50)
        else:
            piece = rng.choice(TOKENS).encode("utf-8")
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        data = b"\n".join(lines)
    return data


class Hang(Exception):
    """Raised by the alarm when one input runs longer than --timeout."""


def _alarm(signum, frame):
    raise Hang()


def run_one(data: bytes, fmt, reporters) -> str:
    """Lint one input and render it; return a description of what went wrong, or ''."""
    from fwlint.engine import decode, lint_text
    from fwlint.parsing import parse_text
    from fwlint.settings import Settings

    path = "fuzz.nft" if fmt == "nft" else "fuzz.rules"
    text, decode_errors = decode(data, path)
    result = lint_text(text, path, Settings(format=fmt), extra_errors=decode_errors)
    errors = decode_errors + parse_text(text, path, result.format).errors
    reported = {(f.span.line, f.span.column) for f in result.findings if f.code == "FW001"}
    lost = [e for e in errors if (e.span.line, e.span.column) not in reported]
    if lost:
        return f"parse error not reported as FW001: {lost[0]}"
    for finding in result.findings:
        if finding.span.line < 1 or finding.span.column < 1:
            return f"finding without a position: {finding}"
    from fwlint.checks import registry
    from fwlint.reporters import get_reporter
    for name in reporters:
        get_reporter(name)([result], checks=registry(), version="fuzz", colour=False,
                           quiet=False)
    return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds one input may take before it counts as a hang")
    parser.add_argument("--crash-dir", default=OUT)
    parser.add_argument("--report", type=int, default=5000,
                        help="print progress every N inputs")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = corpus_seeds()
    signal.signal(signal.SIGALRM, _alarm)
    failures = 0
    start = time.monotonic()
    print(f"fuzz: {len(seeds)} corpus seeds, {args.examples} inputs, seed {args.seed}",
          flush=True)
    for count in range(1, args.examples + 1):
        if seeds and rng.random() < 0.8:
            data = mutate(rng.choice(seeds), rng, seeds)
        else:
            data = mutate(generated(rng), rng, seeds) if rng.random() < 0.5 else generated(rng)
        fmt = rng.choice(FORMATS)
        reporters = REPORTERS if count % 50 == 0 else ("json",)
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            problem = run_one(data, fmt, reporters)
        except Hang:
            problem = f"hang: more than {args.timeout} s"
        except Exception:  # the point of the campaign: record any exception with its input
            problem = traceback.format_exc()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if problem:
            failures += 1
            _save(args.crash_dir, data, fmt, problem)
        if count % args.report == 0 or count == args.examples:
            print(f"fuzz: {count} inputs, {failures} failing, "
                  f"{time.monotonic() - start:.0f} s", flush=True)
    print(f"fuzz: done: {args.examples} inputs, {failures} failing"
          + (f" (inputs and tracebacks in {args.crash_dir})" if failures else ""), flush=True)
    return 1 if failures else 0


def _save(folder: str, data: bytes, fmt, problem: str) -> None:
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(folder, name + ".input"), "wb") as handle:
        handle.write(data)
    with open(os.path.join(folder, name + ".txt"), "w", encoding="utf-8") as handle:
        handle.write(f"format: {fmt}\n{problem}\n")
    print(f"fuzz: FAILURE {name}: {problem.strip().splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
