"""The check registry, the check modules and the cases files agree (STYLE.md habit 6)."""

from __future__ import annotations

import pytest

from fwlint.checks import _MODULES, registry
from fwlint.checks.base import CODE_RE, DOC_SECTIONS, NAME_RE, TARGETS, doc_sections
from fwlint.engine import RESULT_TARGETS
from fwlint.findings import Severity

from .test_cases import CASES_DIR, load_case_file

CHECKS = list(registry().values())


def test_registry_lists_every_module_once():
    assert len(_MODULES) == len(set(_MODULES))
    assert len(CHECKS) == len(_MODULES)


def test_names_are_unique():
    names = [info.name for info in CHECKS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    aliases = [alias for info in CHECKS for alias in info.aliases]
    assert not set(aliases) & set(names), "an alias hides another check's name"


@pytest.mark.parametrize("info", CHECKS, ids=lambda info: info.code)
def test_check_metadata(info):
    assert CODE_RE.match(info.code), f"{info.code}: codes look like FW[0-4]dd"
    assert NAME_RE.match(info.name), f"{info.name}: names are kebab-case"
    assert info.target in TARGETS, f"{info.code}: no engine dispatches {info.target!r}"
    assert isinstance(info.severity, Severity)
    assert info.module.rsplit(".", 1)[1].startswith(info.code.lower() + "_"), \
        f"{info.module}: the module is named after its code"


@pytest.mark.parametrize("info", CHECKS, ids=lambda info: info.code)
def test_check_documentation(info):
    sections = doc_sections(info.doc)
    for section in DOC_SECTIONS:
        assert sections.get(section, "").strip(), f"{info.code}: section '## {section}' is missing or empty"
    if info.options:
        assert sections.get("Options", "").strip(), f"{info.code}: options need an '## Options' section"
    assert info.summary, f"{info.code}: 'What it does' needs a first sentence"
    if info.target in RESULT_TARGETS:
        return  # about suppressions and baselines, not rules: no iptables/nft pair to show
    for section in ("Example", "Use instead"):
        blocks = sections[section].count("```") // 2
        assert blocks >= 2, f"{info.code}: '## {section}' needs an iptables and an nft code block"


@pytest.mark.parametrize("info", CHECKS, ids=lambda info: info.code)
def test_check_has_passing_and_failing_cases(info):
    path = CASES_DIR / f"{info.code}.yaml"
    assert path.is_file(), f"{info.code}: add {path.relative_to(CASES_DIR.parent.parent.parent)}"
    cases = load_case_file(path)
    names = [case.get("name") for case in cases]
    assert len(names) == len(set(names)), f"{path.name}: case names must be unique"
    passing = [c for c in cases if not c.get("expect")]
    failing = [c for c in cases if any(e.get("code") == info.code for e in c.get("expect") or ())]
    assert passing, f"{path.name}: needs at least one case with 'expect: []'"
    if info.target == "baseline":
        return  # needs a baseline file beside the rule file: tests/integration/test_baseline.py
    assert failing, f"{path.name}: needs at least one case expecting {info.code}"


def test_every_cases_file_belongs_to_a_check():
    codes = {info.code for info in CHECKS}
    orphans = sorted(p.name for p in CASES_DIR.glob("*.yaml") if p.stem not in codes)
    assert not orphans, f"cases files for checks that are not registered: {orphans}"


@pytest.mark.parametrize("info", CHECKS, ids=lambda info: info.code)
def test_check_doc_is_the_module_docstring(info):
    """Compiled (mypyc) check modules have no __doc__: the registry reads the source's."""
    import ast
    import importlib
    import os

    module = importlib.import_module(info.module)
    source = os.path.join(os.path.dirname(module.__file__),
                          info.module.rpartition(".")[2] + ".py")
    with open(source, encoding="utf-8") as handle:
        assert info.doc == ast.get_docstring(ast.parse(handle.read()), clean=False).strip()


def test_module_doc_without_dunder_doc_reads_the_source(tmp_path):
    """What a mypyc-compiled module looks like to the registry: no __doc__, a __file__
    beside the source (quotes inside the docstring included)."""
    import types

    from fwlint.checks.base import module_doc

    (tmp_path / "fw999_example.py").write_text(
        '"""\n## What it does\nReports \\"\\"\\"quoted\\"\\"\\" things.\n"""\n\nCODE = "FW999"\n',
        encoding="utf-8")
    (tmp_path / "fw998_plain.py").write_text('"""Plain: \\u00e9."""\nCODE = "FW998"\n',
                                             encoding="utf-8")
    for name, expected in (("fw999_example", '\n## What it does\nReports """quoted""" things.\n'),
                           ("fw998_plain", "Plain: \u00e9.")):
        module = types.ModuleType(f"fwlint.checks.{name}")
        module.__file__ = str(tmp_path / f"{name}.cpython-311-x86_64-linux-gnu.so")
        assert module.__doc__ is None
        assert module_doc(module) == expected
    module = types.ModuleType("fwlint.checks.fw997_gone")
    module.__file__ = str(tmp_path / "fw997_gone.so")
    assert module_doc(module) is None
