"""``fwlint check PATHS…``: lint files and report findings."""

from __future__ import annotations

import os
import sys
import time

from ..parsing import FORMATS
from ..reporters import REPORTERS, get_reporter, write_atomic

#: below this much input a process pool costs more than it saves
PARALLEL_MIN_BYTES = 1 << 20
#: ... or this many files: 80 small files (4 ms each) took 0.54 s wall serially and 0.48 s
#: with two processes (best of 7, load 2 on 2 CPUs); 20 gained nothing
PARALLEL_MIN_FILES = 64
PROGRESS_AFTER_SECONDS = 1.0
_TEXT_FORMATS = ("full", "concise")


def add_selection_arguments(p) -> None:
    """Options shared by every command that lints (check, baseline create)."""
    p.add_argument("--format", choices=FORMATS, help="input format (default: detect from content)")
    p.add_argument("--select", action="append", default=None, metavar="CODES",
                   help="comma-separated codes, prefixes (FW2), names or ALL to enable "
                        "(replaces the configuration's select)")
    p.add_argument("--extend-select", action="append", default=[], metavar="CODES",
                   help="codes to enable in addition to the configuration's")
    p.add_argument("--ignore", action="append", default=[], metavar="CODES",
                   help="comma-separated codes, prefixes or names to disable")
    p.add_argument("--policy", default=None, metavar="FILE|NAME",
                   help="policy to check against (default: baseline); 'none' for no policy")
    p.add_argument("-I", "--include-dir", action="append", default=[], dest="include_dirs",
                   help="extra directory for nft include files")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOBS",
                   help="comma-separated globs of files not to lint")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="use this configuration file for every path (no discovery)")
    p.add_argument("--isolated", action="store_true",
                   help="ignore all configuration files")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="parallel processes (default: one per CPU for large runs)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="lint rule files (files, directories or - for stdin)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_selection_arguments(p)
    p.add_argument("--output-format", choices=tuple(REPORTERS), default=None,
                   help="how findings are printed (default: full)")
    p.add_argument("-o", "--output-file", default=None, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    p.add_argument("--sarif-file", default=None, metavar="FILE",
                   help="also write a SARIF report to FILE")
    p.add_argument("--fail-on", default=None,
                   choices=("critical", "high", "medium", "low", "info", "never"),
                   help="lowest severity that makes the exit code 1 (default: info)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    p.add_argument("--baseline", default=None, metavar="FILE",
                   help="suppress findings recorded in FILE (see 'fwlint baseline create')")
    p.add_argument("--statistics", action="store_true",
                   help="print how many findings each check has instead of the findings")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print findings only, no summary")
    p.set_defaults(run=run)


def _codes(values) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or () for c in v.split(",") if c.strip())


def overrides_from_args(args):
    """The command line as configuration overrides (given values only)."""
    from ..config import Overrides

    return Overrides(
        select=_codes(args.select) if args.select else None,
        extend_select=_codes(args.extend_select),
        ignore=_codes(args.ignore),
        fail_on=getattr(args, "fail_on", None),
        policy=args.policy,
        format=args.format,
        include_dirs=tuple(args.include_dirs),
        exclude=_codes(args.exclude),
        config=args.config,
        isolated=args.isolated,
    )


def lint_paths(paths, resolver, jobs: int = 0) -> list:
    """Lint every file the paths name (minus excluded ones) with its own settings, in
    parallel processes when that pays off; results in the order of the paths."""
    from ..engine import lint_file
    from ..files import expand_paths

    work = []
    for path in expand_paths(paths):
        settings = resolver.settings_for(path if path != "-" else os.getcwd())
        if path != "-" and settings.excludes(path):
            continue
        work.append((path, settings))
    sizes = [os.path.getsize(p) if p != "-" and os.path.isfile(p) else 0 for p, _ in work]
    if not jobs:
        many = sum(sizes) >= PARALLEL_MIN_BYTES or len(work) >= PARALLEL_MIN_FILES
        jobs = (os.cpu_count() or 1) if len(work) > 1 and many else 1
    jobs = max(1, min(jobs, len(work)))
    if any(path == "-" for path, _ in work):
        jobs = 1
    progress = _Progress(len(work))
    if jobs == 1:
        results = []
        for path, settings in work:
            result = lint_file(path, settings)
            result.ruleset = None  # as in a worker: each model is freed before the next file
            results.append(result)
            progress.step()
    else:
        results = _lint_in_pool(work, sizes, jobs, progress)
    progress.done()
    return results


def _lint_in_pool(work: list, sizes: list[int], jobs: int, progress: "_Progress") -> list:
    """``work`` linted by ``jobs`` worker processes, largest files first so one big file
    met last does not leave the other workers idle; results (and the first error) in the
    order of ``work``.

    The corpus (542 files, 0.6 MB, 4.3 s CPU, its largest file 1.1 s) took 4.4 s wall with
    one process and 2.9 s with -j 2 at best on a shared two-core machine; without -j it went
    serially before, the files adding up to less than 1 MiB.
    """
    from concurrent.futures import ProcessPoolExecutor

    from ..errors import UsageError

    by_size = sorted(range(len(work)), key=lambda i: -sizes[i])
    results: list = [None] * len(work)
    # The smallest file is linted here first: forked workers then inherit its imports, its
    # parser and the loaded policy instead of each paying for them (80 copies of
    # examples/web-server.rules: 0.68 s CPU with -j 2 without this, 0.60 s with it, 0.55 s
    # serially).
    warm = by_size.pop()
    results[warm] = _lint_in_worker(work[warm])
    progress.step()
    chunk = max(1, len(by_size) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for i, result in zip(by_size, pool.map(_lint_in_worker, [work[i] for i in by_size],
                                               chunksize=chunk)):
            results[i] = result
            progress.step()
    for result in results:
        if isinstance(result, UsageError):
            raise result  # the first in path order, as a serial run stops at
    return results


def _lint_in_worker(item):
    """lint_file in a worker process; the model is dropped (reporters do not need it).  A
    usage error (a file that cannot be read) is returned, for the parent to raise the first
    in path order."""
    from ..engine import lint_file
    from ..errors import UsageError

    try:
        result = lint_file(*item)
    except UsageError as exc:
        return exc
    result.ruleset = None
    return result


class _Progress:
    """A progress line on stderr, only on a terminal and only once a run has taken a while."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.start = time.monotonic()
        self.shown = False
        self.enabled = total > 1 and sys.stderr.isatty()

    def step(self) -> None:
        self.count += 1
        if self.enabled and time.monotonic() - self.start >= PROGRESS_AFTER_SECONDS:
            self.shown = True
            sys.stderr.write(f"\rfwlint: {self.count}/{self.total} files")
            sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(args) -> int:
    from .. import __version__
    from ..checks import registry
    from ..config import Resolver
    from ..engine import exit_code
    from ..errors import UsageError

    resolver = Resolver(overrides_from_args(args))
    run_settings = resolver.run_settings()
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    results = lint_paths(args.paths, resolver, args.jobs)
    baseline_path = args.baseline or run_settings.baseline
    if baseline_path:
        from .. import baseline

        loaded = baseline.load(baseline_path)
        stale = baseline.apply(results, loaded)
        baseline.report_stale(results, stale, loaded, run_settings)

    output_format = args.output_format or run_settings.output_format or "full"
    to_terminal = args.output_file is None and sys.stdout.isatty()
    context = {"colour": to_terminal and "NO_COLOR" not in os.environ,
               "version": __version__, "checks": registry(), "quiet": args.quiet}
    if args.statistics:
        from ..reporters.text import render_statistics

        statistics = render_statistics(results)
        if output_format in _TEXT_FORMATS:
            report = statistics
        else:
            sys.stderr.write(statistics)
            report = get_reporter(output_format)(results, **context)
    else:
        report = get_reporter(output_format)(results, **context)
    if args.output_file:
        _write(args.output_file, report)
    else:
        sys.stdout.write(report)
    if args.sarif_file:
        _write(args.sarif_file, get_reporter("sarif")(results, **context))
    if args.exit_zero:
        return 0
    return exit_code(results, run_settings.fail_on)


def _write(path: str, text: str) -> None:
    from ..errors import UsageError

    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
