"""The compiled build (mypyc, ``hatch_build.py``) and its guard (``fwlint._native``).

The compiled modules must give exactly what their sources give; an edited checkout must run
its sources, not the last install's compiled code; CI must test what users run."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from fwlint import _native

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from gen_iptables import generate  # noqa: E402


def write_manifest(tmp_path: Path, sources: dict[str, bytes], recorded: dict[str, bytes]) -> Path:
    package = tmp_path / "fwlint"
    package.mkdir()
    lines = ["# test manifest"]
    for relative, text in sources.items():
        (tmp_path / relative).write_bytes(text)
    for relative, text in recorded.items():
        lines.append(f"{relative} {zlib.crc32(text)}")
    manifest = package / "compiled.txt"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_manifest_names_modules_and_their_sources(tmp_path):
    manifest = write_manifest(tmp_path, {"fwlint/space.py": b"x = 1\n"},
                              {"fwlint/space.py": b"x = 1\n"})
    modules = _native.read_manifest(str(manifest))
    assert modules == {"fwlint.space": (str(tmp_path / "fwlint/space.py"), zlib.crc32(b"x = 1\n"))}
    assert _native.stale_sources(modules) == []


def test_an_edited_or_missing_source_is_stale(tmp_path):
    manifest = write_manifest(tmp_path, {"fwlint/space.py": b"x = 2\n"},
                              {"fwlint/space.py": b"x = 1\n", "fwlint/gone.py": b""})
    stale = _native.stale_sources(_native.read_manifest(str(manifest)))
    assert sorted(Path(p).name for p in stale) == ["gone.py", "space.py"]


def test_no_manifest_means_nothing_compiled(tmp_path):
    assert _native.read_manifest(str(tmp_path / "compiled.txt")) == {}


def test_stale_build_loads_every_listed_module_from_its_source(tmp_path, monkeypatch):
    monkeypatch.delenv(_native.PURE_ENV, raising=False)
    manifest = write_manifest(tmp_path, {"fwlint/space.py": b"x = 2\n"},
                              {"fwlint/space.py": b"x = 1\n"})
    finder = _native._SourcesWhenStale(_native.read_manifest(str(manifest)))
    spec = finder.find_spec("fwlint.space")
    assert spec is not None and spec.origin == str(tmp_path / "fwlint/space.py")
    assert finder.find_spec("fwlint.other") is None
    assert "changed" in finder.decide()


def test_fresh_build_leaves_the_compiled_modules_to_the_import_system(tmp_path, monkeypatch):
    monkeypatch.delenv(_native.PURE_ENV, raising=False)
    manifest = write_manifest(tmp_path, {"fwlint/space.py": b"x = 1\n"},
                              {"fwlint/space.py": b"x = 1\n"})
    finder = _native._SourcesWhenStale(_native.read_manifest(str(manifest)))
    assert finder.find_spec("fwlint.space") is None


def test_environment_asks_for_the_sources(tmp_path, monkeypatch):
    monkeypatch.setenv(_native.PURE_ENV, "1")
    manifest = write_manifest(tmp_path, {"fwlint/space.py": b"x = 1\n"},
                              {"fwlint/space.py": b"x = 1\n"})
    finder = _native._SourcesWhenStale(_native.read_manifest(str(manifest)))
    assert finder.find_spec("fwlint.space") is not None
    assert _native.PURE_ENV in finder.decide()


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only: a developer may "
                    "install without a C compiler (FWLINT_PURE_PYTHON)")
def test_ci_tests_the_compiled_modules():
    import fwlint.analysis.evaluate

    assert _native.compiled_modules(), _native.status()
    assert not fwlint.analysis.evaluate.__file__.endswith(".py")


def run_fwlint(args: list[str], pure: bool) -> str:
    env = dict(os.environ)
    env.pop(_native.PURE_ENV, None)
    if pure:
        env[_native.PURE_ENV] = "1"
    done = subprocess.run([sys.executable, "-m", "fwlint", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@pytest.mark.skipif(not _native.compiled_modules(), reason="fwlint runs as pure Python here "
                    "(not compiled at install, or sources changed since)")
@pytest.mark.parametrize("command", [["check", "--output-format", "json", "--isolated"],
                                     ["exposure", "--output-format", "json"]])
def test_compiled_and_pure_python_give_the_same_output(tmp_path, command):
    kube_like = tmp_path / "kube.rules"
    kube_like.write_text(generate(3000))
    files = [str(kube_like), *sorted(str(p) for p in (ROOT / "examples").iterdir()
                                     if p.suffix in (".rules", ".nft", ".sh"))]
    compiled = run_fwlint(command + files, pure=False)
    assert compiled.strip()
    assert run_fwlint(command + files, pure=True) == compiled
    assert "compiled" in run_fwlint(["--version"], pure=False)
    assert "pure Python" in run_fwlint(["--version"], pure=True)
