"""Every check's cases file, run through the real linter (STYLE.md habit 10).

``tests/checks/cases/FWxxx.yaml`` is a list of cases::

    - name: accept-policy-on-input            # unique within the file
      format: iptables-save                   # iptables-save | ip6tables-save | iptables-script | nft
      text: |                                 # the rule file
        *filter
        :INPUT ACCEPT [0:0]
        COMMIT
      expect:                                 # exactly these findings, in any order
        - {code: FW101, line: 2}              # column: optional; if one item has it, all must
      select: [FW101, FW203]                  # optional: default is the file's own code
      policy: baseline                        # optional: a built-in name or an inline mapping

Every case file in the directory is picked up, so checks added later need only a file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from fwlint.engine import lint_text
from fwlint.parsing import parse_text
from fwlint.settings import Settings

CASES_DIR = Path(__file__).parent / "cases"
CASE_KEYS = {"name", "format", "text", "expect", "select", "policy"}
FORMAT_PARSERS = {
    "iptables-save": "fwlint.parsing.iptables",
    "ip6tables-save": "fwlint.parsing.iptables",
    "iptables-script": "fwlint.parsing.iptables",
    "nft": "fwlint.parsing.nft",
}


def load_case_file(path: Path) -> list[dict]:
    """The cases of one file, as written."""
    with open(path, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    return cases if isinstance(cases, list) else []


def _params() -> list:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for index, case in enumerate(load_case_file(path)):
            name = case.get("name", f"case{index}") if isinstance(case, dict) else f"case{index}"
            params.append(pytest.param(path.stem, case, id=f"{path.stem}-{name}"))
    return params


def _module_missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


def _policy_setting(policy, tmp_path: Path) -> str:
    """Settings.policy takes a name or a path: an inline mapping is written to a file."""
    if isinstance(policy, str):
        return policy
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return str(policy_file)


def _expected(item: dict, with_column: bool) -> tuple:
    assert set(item) <= {"code", "line", "column"}, f"unknown keys in expect item {item}"
    return (item["code"], item["line"]) + ((item["column"],) if with_column else ())


@pytest.mark.parametrize("code,case", _params())
def test_case(code: str, case: dict, tmp_path: Path) -> None:
    assert isinstance(case, dict), f"{code}: each case must be a mapping"
    assert set(case) <= CASE_KEYS, f"unknown case keys: {sorted(set(case) - CASE_KEYS)}"
    assert {"name", "format", "text", "expect"} <= set(case), "name, format, text and expect are required"
    fmt = case["format"]
    assert fmt in FORMAT_PARSERS, f"unknown format {fmt!r}"
    if _module_missing(FORMAT_PARSERS[fmt]):
        pytest.skip(f"the {fmt} parser ({FORMAT_PARSERS[fmt]}) is not in the tree yet")
    policy = None
    if case.get("policy") is not None:
        if _module_missing("fwlint.policy") or \
                not hasattr(importlib.import_module("fwlint.policy"), "load_policy"):
            pytest.skip("case needs a policy and fwlint.policy.load_policy does not exist yet")
        policy = _policy_setting(case["policy"], tmp_path)

    expect = case["expect"] or []
    with_column = any("column" in item for item in expect)
    expected = sorted(_expected(item, with_column) for item in expect)
    path = f"{code}-case.{'nft' if fmt == 'nft' else 'rules'}"
    if "FW001" not in {item[0] for item in expected}:
        errors = parse_text(case["text"], path, fmt).errors
        assert not errors, "the case text must parse (or expect FW001): " + "; ".join(
            f"{e.span.line}:{e.span.column} {e.message}" for e in errors)

    settings = Settings(select=tuple(case.get("select") or (code,)), policy=policy, format=fmt)
    result = lint_text(case["text"], path, settings)
    actual = sorted((f.code, f.span.line) + ((f.span.column,) if with_column else ())
                    for f in result.findings if f.suppressed is None)
    assert actual == expected, "findings:\n" + "\n".join(
        f"  {f.code} {f.span.line}:{f.span.column} {f.message}" for f in result.findings)
