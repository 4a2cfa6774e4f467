"""Configuration files: ``[tool.fwlint]`` in ``pyproject.toml``, ``.fwlint.toml``, ``fwlint.toml``.

Each linted file gets the configuration closest to it (walking up from its folder; in one
folder ``.fwlint.toml`` beats ``fwlint.toml`` beats ``pyproject.toml``, and a
``pyproject.toml`` without ``[tool.fwlint]`` is passed over).  ``extend = "path"`` inherits
another file.  The command line goes on top.  Unknown keys and wrong values end the run
(exit 2) naming the file and line: tomllib gives no positions, so the line is found in the
text.  ``policies/config.schema.json`` describes the same keys for editors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Optional

from .errors import UsageError
from .findings import Severity
from .settings import PerFileIgnore, Selection, Settings

CONFIG_NAMES = (".fwlint.toml", "fwlint.toml", "pyproject.toml")
FAIL_ON = ("critical", "high", "medium", "low", "info", "never")

_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "include-dirs")
_STRING_KEYS = ("extend", "fail-on", "policy", "format", "baseline", "output-format")
_TABLE_KEYS = ("per-file-ignores", "severity", "options")
KEYS = _LIST_KEYS + _STRING_KEYS + _TABLE_KEYS
_SELECTOR_KEYS = ("select", "extend-select", "ignore")
_PREFIX_RE = re.compile(r"^FW\d{0,2}$", re.I)


@dataclass(frozen=True)
class ConfigFile:
    """One validated configuration file and the one it extends."""

    path: str
    data: dict[str, Any]
    parent: Optional["ConfigFile"] = None

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def chain(self) -> list["ConfigFile"]:
        """This file and its ``extend`` ancestors, the farthest first."""
        files: list[ConfigFile] = []
        current: Optional[ConfigFile] = self
        while current is not None:
            files.append(current)
            current = current.parent
        return files[::-1]


@dataclass
class Overrides:
    """What the command line says; None or empty means "not given"."""

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Optional[str] = None
    policy: Optional[str] = None
    format: Optional[str] = None
    include_dirs: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config: Optional[str] = None
    isolated: bool = False


class Resolver:
    """Finds and caches the configuration of each folder for one run."""

    def __init__(self, overrides: Optional[Overrides] = None) -> None:
        self.overrides = overrides or Overrides()
        self._by_dir: dict[str, Optional[ConfigFile]] = {}
        self._by_path: dict[str, ConfigFile] = {}
        self._explicit: Optional[ConfigFile] = None
        self._settings: dict[str, Settings] = {}
        if self.overrides.config and not self.overrides.isolated:
            self._explicit = self.load(self.overrides.config)

    def config_for(self, path: str) -> Optional[ConfigFile]:
        """The configuration that applies to a file (or folder), None when there is none."""
        if self.overrides.isolated:
            return None
        if self._explicit is not None:
            return self._explicit
        folder = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        visited = []
        found: Optional[ConfigFile] = None
        while True:
            if folder in self._by_dir:
                found = self._by_dir[folder]
                break
            visited.append(folder)
            found = self._config_in(folder)
            if found is not None:
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        for seen in visited:
            self._by_dir[seen] = found
        return found

    def settings_for(self, path: str) -> Settings:
        """Merged settings for one file: defaults, its configuration chain, the command line
        (made once per configuration file: per-file ignores are matched later, by path)."""
        config = self.config_for(path)
        key = config.path if config is not None else ""
        if key not in self._settings:
            self._settings[key] = build_settings(config, self.overrides)
        return self._settings[key]

    def run_settings(self) -> Settings:
        """Settings for the run as a whole (fail-on, baseline): the configuration of the
        current folder."""
        return self.settings_for(os.path.join(os.getcwd(), "."))

    def _config_in(self, folder: str) -> Optional[ConfigFile]:
        for name in CONFIG_NAMES:
            candidate = _display_path(os.path.join(folder, name))
            if not os.path.isfile(candidate):
                continue
            if name == "pyproject.toml":
                document = _read_toml(candidate)[0]
                if "fwlint" not in document.get("tool", {}):
                    continue
            return self.load(candidate)
        return None

    def load(self, path: str, _seen: tuple[str, ...] = ()) -> ConfigFile:
        """Read, validate and link one configuration file (and what it extends)."""
        absolute = os.path.abspath(path)
        if absolute in self._by_path:
            return self._by_path[absolute]
        if absolute in _seen:
            raise UsageError(f"{path}: 'extend' makes a cycle: " + " -> ".join(_seen + (absolute,)))
        document, text = _read_toml(path)
        if os.path.basename(path) == "pyproject.toml":
            data = document.get("tool", {}).get("fwlint", {})
            table = "tool.fwlint"
        else:
            data = document
            table = ""
        validate(data, path, text, table)
        parent = None
        if "extend" in data:
            target = os.path.join(os.path.dirname(absolute), os.path.expanduser(data["extend"]))
            if not os.path.isfile(target):
                raise UsageError(f"{_where(path, text, 'extend', table)}: extended configuration "
                                 f"{data['extend']!r} not found")
            parent = self.load(_display_path(target), _seen + (absolute,))
        config = ConfigFile(path=path, data=data, parent=parent)
        self._by_path[absolute] = config
        return config


def _display_path(path: str) -> str:
    """A path as messages show it: relative when it is below the working directory."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _read_toml(path: str) -> tuple[dict, str]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if match:
            where = f"{path}:{match.group(1)}:{match.group(2)}"
        elif "end of document" in str(exc):
            where = f"{path}:{max(1, len(text.splitlines()))}"
        else:
            where = path
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise UsageError(f"{where}: invalid TOML: {message}") from None


def key_line(text: str, key: str, table: str = "") -> int:
    """The 1-based line where ``key`` is set (inside ``[table]`` when given); 0 if not found."""
    lines = text.splitlines()
    start = 0
    if table:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, table.split("."))) + r"\s*\]")
        for number, line in enumerate(lines):
            if header.match(line):
                start = number
                break
    quoted = re.escape(key)
    pattern = re.compile(r"""(^|[\s{,.\[])(["']?)""" + quoted + r"""\2\s*(=|\])""")
    for number in range(start, len(lines)):
        if pattern.search(lines[number]):
            return number + 1
    return 0


def _where(path: str, text: str, key: str, table: str = "") -> str:
    line = key_line(text, key, table)
    return f"{path}:{line}" if line else path


def is_prefix(selector: str) -> bool:
    """True for a code prefix such as ``FW`` or ``FW2`` (which may match no check yet)."""
    return bool(_PREFIX_RE.match(selector.strip()))


def canonical(selectors) -> tuple[str, ...]:
    """Selectors with names and aliases replaced by codes (prefixes and ALL unchanged)."""
    from .checks import lookup

    out = []
    for selector in selectors:
        info = None if selector.strip() == "ALL" or is_prefix(selector) else lookup(selector)
        out.append(info.code if info is not None else selector.strip().upper()
                   if is_prefix(selector) else selector.strip())
    return tuple(out)


def _known_selector(selector: str) -> bool:
    from .checks import lookup

    s = selector.strip()
    return s == "ALL" or is_prefix(s) or lookup(s) is not None


def validate(data: dict, path: str, text: str, table: str = "") -> None:
    """Raise UsageError naming file and line for the first unknown key or wrong value."""
    from .parsing import FORMATS
    from .reporters import REPORTERS

    def fail(key: str, message: str, lookup_key: Optional[str] = None) -> None:
        raise UsageError(f"{_where(path, text, lookup_key or key, table)}: {message}")

    if not isinstance(data, dict):
        fail("fwlint", "the fwlint configuration must be a table")
    for key, value in data.items():
        if key not in KEYS:
            hint = [k for k in KEYS if k.replace("-", "_") == key or k == key.replace("_", "-")]
            suffix = f" (did you mean {hint[0]!r}?)" if hint else \
                "; known keys: " + ", ".join(sorted(KEYS))
            fail(key, f"unknown configuration key {key!r}{suffix}")
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                fail(key, f"{key!r} must be a list of strings")
            if key in _SELECTOR_KEYS:
                for selector in value:
                    if not _known_selector(selector):
                        fail(key, f"{key!r}: unknown check {selector!r} "
                                  "(use a code, a name, a prefix such as FW2, or ALL)", selector)
        elif key in _STRING_KEYS and not isinstance(value, str):
            fail(key, f"{key!r} must be a string")
        elif key in _TABLE_KEYS and not isinstance(value, dict):
            fail(key, f"{key!r} must be a table")
    if data.get("fail-on", "info") not in FAIL_ON:
        fail("fail-on", f"'fail-on' must be one of {', '.join(FAIL_ON)}")
    if data.get("format", FORMATS[0]) not in FORMATS:
        fail("format", f"'format' must be one of {', '.join(FORMATS)}")
    if data.get("output-format", "full") not in REPORTERS:
        fail("output-format", f"'output-format' must be one of {', '.join(REPORTERS)}")
    for pattern, codes in data.get("per-file-ignores", {}).items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            fail(pattern, f"per-file-ignores {pattern!r} must be a list of codes")
        for selector in codes:
            if not _known_selector(selector):
                fail(pattern, f"per-file-ignores {pattern!r}: unknown check {selector!r}")
    for selector, severity in data.get("severity", {}).items():
        if not _known_selector(selector):
            fail(selector, f"severity: unknown check {selector!r}")
        if not isinstance(severity, str) or severity.upper() not in Severity.__members__:
            fail(selector, f"severity of {selector!r} must be one of "
                           + ", ".join(s.name.lower() for s in Severity))
    for selector, options in data.get("options", {}).items():
        from .checks import lookup

        info = lookup(selector)
        if info is None:
            fail(selector, f"options: unknown check {selector!r}")
        if not isinstance(options, dict):
            fail(selector, f"options for {selector!r} must be a table")
        for option, value in options.items():
            if option not in info.options:
                known = ", ".join(sorted(info.options)) or "none"
                fail(option, f"{info.code} has no option {option!r} (options: {known})")
            default = info.options[option]
            if default is not None and not isinstance(value, type(default)):
                fail(option, f"option {option!r} of {info.code} must be a "
                             f"{type(default).__name__}")


def build_settings(config: Optional[ConfigFile], overrides: Overrides) -> Settings:
    """Defaults, then every file of the configuration chain, then the command line."""
    from .checks import lookup, registry
    from .settings import specificity

    settings = Settings()
    layers: list[Selection] = [Selection(select=("ALL",))]
    severity_keys: dict[str, str] = {}
    for config_file in (config.chain() if config else []):
        data, folder = config_file.data, config_file.folder
        layers.append(Selection(select=_selectors(data.get("select")),
                                extend_select=_selectors(data.get("extend-select", ())),
                                ignore=_selectors(data.get("ignore", ()))))
        settings.per_file_ignores += tuple(
            PerFileIgnore(pattern, canonical(codes), folder)
            for pattern, codes in data.get("per-file-ignores", {}).items())
        if "exclude" in data:
            settings.exclude = tuple((pattern, folder) for pattern in data["exclude"])
        severity_keys.update(zip(canonical(data.get("severity", {})),
                                 data.get("severity", {}).values()))
        if "fail-on" in data:
            settings.fail_on = _fail_on(data["fail-on"])
        if "policy" in data:
            settings.policy = _policy(data["policy"], folder)
        if "format" in data:
            settings.format = data["format"]
        if "output-format" in data:
            settings.output_format = data["output-format"]
        if "baseline" in data:
            settings.baseline = os.path.join(folder, os.path.expanduser(data["baseline"]))
        if "include-dirs" in data:
            settings.include_dirs = tuple(os.path.join(folder, d) for d in data["include-dirs"])
        for selector, options in data.get("options", {}).items():
            code = lookup(selector).code
            settings.options[code] = {**settings.options.get(code, {}), **options}
    for option, selectors in (("--select", overrides.select or ()),
                              ("--extend-select", overrides.extend_select),
                              ("--ignore", overrides.ignore)):
        for selector in selectors:
            if not _known_selector(selector):
                raise UsageError(f"{option}: unknown check {selector!r} "
                                 "(use a code, a name, a prefix such as FW2, or ALL)")
    layers.append(Selection(select=_selectors(overrides.select),
                            extend_select=_selectors(overrides.extend_select),
                            ignore=_selectors(overrides.ignore)))
    settings.layers = tuple(layers[:-1])
    top = layers[-1]
    settings.select, settings.extend_select, settings.ignore = \
        top.select, top.extend_select, top.ignore
    for code, info in registry().items():
        best, chosen = -1, None
        for selector, severity in severity_keys.items():
            rank = specificity((selector,), code, info.name)
            if rank > best:
                best, chosen = rank, severity
        if chosen is not None:
            settings.severity[code] = Severity.parse(chosen)
    if overrides.fail_on is not None:
        settings.fail_on = _fail_on(overrides.fail_on)
    if overrides.policy is not None:
        settings.policy = _policy(overrides.policy, os.getcwd())
    if overrides.format is not None:
        settings.format = overrides.format
    settings.include_dirs += tuple(overrides.include_dirs)
    settings.exclude += tuple((pattern, os.getcwd()) for pattern in overrides.exclude)
    return settings


def _selectors(value) -> Optional[tuple[str, ...]]:
    return None if value is None else canonical(value)


def _fail_on(value: str) -> Optional[Severity]:
    return None if value == "never" else Severity.parse(value)


def _policy(value: str, folder: str) -> Optional[str]:
    """``none`` turns policy checks off; a relative path is relative to where it was written;
    anything else is a built-in policy name."""
    if value == "none":
        return None
    candidate = os.path.join(folder, os.path.expanduser(value))
    if os.sep in value or "/" in value or value.endswith((".yaml", ".yml")) \
            or os.path.exists(candidate):
        return candidate
    return value
