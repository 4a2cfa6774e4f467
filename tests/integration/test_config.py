"""Configuration files: discovery, precedence, extend, per-file ignores, prefixes, names,
severity overrides, fail-on, exclude, and exit 2 with file:line for bad keys (issue 6, item 3)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fwlint.config import KEYS, key_line
from fwlint.resources import policies_dir

from .helpers import require_parser

# FW101 (ACCEPT policy), FW302 (host bits), FW304 (-m state), FW303 (duplicate) at least
RULES = """\
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.1/8 -p tcp --dport 22 -j ACCEPT
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def codes(run) -> dict[str, set[str]]:
    """Unsuppressed codes by file, from a JSON report."""
    by_file: dict[str, set[str]] = {f["path"]: set() for f in run.json()["files"]}
    for finding in run.findings():
        if "suppressed" not in finding:
            by_file.setdefault(finding["location"]["path"], set()).add(finding["code"])
    return by_file


@pytest.fixture
def everything(fwlint, tmp_path):
    """Every code the file gets with all checks and no configuration."""
    require_parser("iptables")
    rules = write(tmp_path / "probe" / "rules.v4", RULES)
    run = fwlint("check", "--isolated", "--select", "ALL", "--policy", "none",
                 "--output-format", "json", rules, cwd=tmp_path)
    found = set().union(*codes(run).values())
    assert {"FW101", "FW303"} <= found, f"precondition: the rule text must trip them: {found}"
    return found


def test_closest_config_wins_and_extend_inherits(fwlint, tmp_path, everything):
    write(tmp_path / "pyproject.toml", """\
        [project]
        name = "infra"

        [tool.fwlint]
        select = ["FW3"]
        policy = "none"
        """)
    write(tmp_path / "a.rules", RULES)
    write(tmp_path / "sub" / ".fwlint.toml", """\
        extend = "../pyproject.toml"
        ignore = ["duplicate-rule"]
        """)
    write(tmp_path / "sub" / "b.rules", RULES)
    write(tmp_path / "sub" / "deeper" / "fwlint.toml", """\
        select = ["FW101"]
        policy = "none"
        """)
    write(tmp_path / "sub" / "deeper" / "c.rules", RULES)
    run = fwlint("check", "--output-format", "json", "a.rules", "sub/b.rules",
                 "sub/deeper/c.rules", cwd=tmp_path)
    by_file = codes(run)
    fw3 = {c for c in everything if c.startswith("FW3")}
    assert by_file["a.rules"] == fw3
    assert by_file["sub/b.rules"] == fw3 - {"FW303"}
    assert by_file["sub/deeper/c.rules"] == {"FW101"}


def test_command_line_beats_configuration(fwlint, tmp_path, everything):
    write(tmp_path / ".fwlint.toml", """\
        select = ["FW3"]
        ignore = ["FW303"]
        policy = "none"
        """)
    write(tmp_path / "a.rules", RULES)
    json_out = ("--output-format", "json")
    assert codes(fwlint("check", *json_out, "--select", "FW101,FW303", "a.rules",
                        cwd=tmp_path))["a.rules"] == {"FW101", "FW303"}
    fw3 = {c for c in everything if c.startswith("FW3")}
    assert codes(fwlint("check", *json_out, "--extend-select", "accept-policy", "a.rules",
                        cwd=tmp_path))["a.rules"] == (fw3 - {"FW303"}) | {"FW101"}
    assert codes(fwlint("check", *json_out, "--isolated", "--policy", "none", "a.rules",
                        cwd=tmp_path))["a.rules"] == everything


def test_explicit_config_applies_to_every_path(fwlint, tmp_path, everything):
    write(tmp_path / "sub" / ".fwlint.toml", 'select = ["FW3"]\n')
    write(tmp_path / "sub" / "a.rules", RULES)
    write(tmp_path / "ci.toml", 'select = ["FW101"]\npolicy = "none"\n')
    run = fwlint("check", "--config", "ci.toml", "--output-format", "json", "sub/a.rules",
                 cwd=tmp_path)
    assert codes(run)["sub/a.rules"] == {"FW101"}


def test_per_file_ignores_prefixes_names_and_severity(fwlint, tmp_path, everything):
    write(tmp_path / ".fwlint.toml", """\
        policy = "none"

        [per-file-ignores]
        "legacy/*.rules" = ["FW3"]
        "old.rules" = ["accept-policy"]

        [severity]
        FW3 = "info"
        duplicate-rule = "critical"
        """)
    write(tmp_path / "legacy" / "a.rules", RULES)
    write(tmp_path / "old.rules", RULES)
    write(tmp_path / "new.rules", RULES)
    run = fwlint("check", "--output-format", "json", ".", "legacy/a.rules", "old.rules",
                 "new.rules", cwd=tmp_path)
    by_file = codes(run)
    assert by_file["legacy/a.rules"] == {c for c in everything if not c.startswith("FW3")}
    assert by_file["old.rules"] == everything - {"FW101"}
    assert by_file["new.rules"] == everything
    severities = {(f["code"], f["severity"]) for f in run.findings()
                  if f["location"]["path"] == "new.rules"}
    assert ("FW303", "critical") in severities
    assert all(sev == "info" for code, sev in severities if code.startswith("FW3")
               and code != "FW303")


def test_fail_on_and_exclude_from_configuration(fwlint, tmp_path, everything):
    write(tmp_path / "pyproject.toml", """\
        [tool.fwlint]
        select = ["FW303"]
        fail-on = "critical"
        exclude = ["skipped.rules"]
        policy = "none"
        """)
    write(tmp_path / "a.rules", RULES)
    write(tmp_path / "skipped.rules", RULES)
    run = fwlint("check", "--output-format", "json", "a.rules", "skipped.rules", cwd=tmp_path)
    assert [f["path"] for f in run.json()["files"]] == ["a.rules"]
    assert codes(run)["a.rules"] == {"FW303"}
    assert run.code == 0, "FW303 is medium, below fail-on = critical"
    assert fwlint("check", "-q", "--fail-on", "medium", "a.rules", cwd=tmp_path).code == 1


@pytest.mark.parametrize("name,text,line,needle", [
    (".fwlint.toml", 'select = ["FW3"]\n\nbogus-key = 1\n', 3, "bogus-key"),
    ("fwlint.toml", 'select = ["FW3"]\nfail_on = "high"\n', 2, "did you mean 'fail-on'"),
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.fwlint]\nselect = ["FW3"]\n'
                       'colour = true\n', 6, "colour"),
    ("pyproject.toml", '[tool.fwlint]\nfail-on = "sometimes"\n', 2, "fail-on"),
    (".fwlint.toml", 'ignore = ["FW303", "no-such-check"]\n', 1, "no-such-check"),
    (".fwlint.toml", '[severity]\nFW303 = "urgent"\n', 2, "FW303"),
    (".fwlint.toml", '[per-file-ignores]\n"*.nft" = "FW303"\n', 2, "*.nft"),
    (".fwlint.toml", 'select = ["FW3"\n', 1, "invalid TOML"),
    (".fwlint.toml", 'select = ["FW3"]\n[options.duplicate-rule]\nwindow = 3\n', 3,
     "no option 'window'"),
    ("pyproject.toml", '[tool]\nfwlint = 1\n', 2, "must be a table"),
])
def test_bad_configuration_is_exit_2_with_file_and_line(fwlint, tmp_path, name, text, line, needle):
    write(tmp_path / name, text)
    write(tmp_path / "a.rules", RULES)
    run = fwlint("check", "a.rules", cwd=tmp_path)
    assert run.code == 2
    assert f"{name}:{line}" in run.err
    assert needle in run.err
    assert "Traceback" not in run.err


def test_extend_cycle_is_an_error(fwlint, tmp_path):
    write(tmp_path / "a.toml", 'extend = "b.toml"\n')
    write(tmp_path / "b.toml", 'extend = "a.toml"\n')
    write(tmp_path / "a.rules", RULES)
    run = fwlint("check", "--config", "a.toml", "a.rules", cwd=tmp_path)
    assert run.code == 2 and "cycle" in run.err


def test_isolated_ignores_a_broken_configuration(fwlint, tmp_path, everything):
    write(tmp_path / ".fwlint.toml", "bogus = 1\n")
    write(tmp_path / "a.rules", RULES)
    run = fwlint("check", "--isolated", "--policy", "none", "--output-format", "json",
                 "a.rules", cwd=tmp_path)
    assert codes(run)["a.rules"] == everything


def test_key_line_finds_dotted_and_quoted_keys():
    text = '[tool.other]\nselect = 1\n[ tool . fwlint ]\n"select" = ["FW1"]\n[tool.fwlint.severity]\nFW303 = "x"\n'
    assert key_line(text, "select", "tool.fwlint") == 4
    assert key_line(text, "FW303", "tool.fwlint") == 6
    assert key_line(text, "missing", "tool.fwlint") == 0


def test_schema_describes_exactly_the_known_keys():
    import jsonschema

    schema = json.loads((policies_dir() / "config.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["properties"]) == set(KEYS)
    validator = jsonschema.Draft7Validator(schema)
    good = {"select": ["FW2", "shadowed-rule", "ALL"], "per-file-ignores": {"a/*.nft": ["FW3"]},
            "severity": {"FW303": "high"}, "fail-on": "never", "format": "nft"}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({"fail_on": "high"}))
    assert list(validator.iter_errors({"severity": {"FW303": "urgent"}}))


def test_unknown_check_on_the_command_line_is_exit_2(fwlint, tmp_path):
    write(tmp_path / "a.rules", RULES)
    run = fwlint("check", "--isolated", "--ignore", "FW303,no-such-check", "a.rules",
                 cwd=tmp_path)
    assert run.code == 2 and "--ignore" in run.err and "no-such-check" in run.err
