"""Build hook: compile fwlint's hot modules with mypyc, as black does; pure Python otherwise.

The modules are listed in pyproject.toml (``[tool.hatch.build.targets.wheel.hooks.custom]
modules``).  A wheel gets the compiled extension modules beside the sources; an editable
install gets them in the checkout (gitignored).  Either way the build writes
``fwlint/compiled.txt``: the modules and the CRC-32 of the source each was compiled from, so
that :mod:`fwlint._native` loads the sources instead when they have changed since (an edited
checkout) or when ``FWLINT_PURE_PYTHON`` is set.

Compiling needs a C compiler and the Python headers.  Without them, or with
``FWLINT_PURE_PYTHON=1`` at build time, fwlint installs as pure Python and says so
(``fwlint --version``): slower on large files, the same results.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
import zlib

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PURE_ENV = "FWLINT_PURE_PYTHON"
MANIFEST = "fwlint/compiled.txt"
GROUP = "fwlint"


class CompileHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        editable = version == "editable"
        if editable:
            _remove_in_place(self.root)
        modules = list(self.config.get("modules", []))
        if not modules or os.environ.get(PURE_ENV):
            self.app.display_info(f"fwlint: pure Python ({PURE_ENV} is set)" if modules else
                                  "fwlint: pure Python (no modules to compile)")
            return
        work = tempfile.mkdtemp(prefix="fwlint-mypyc-")
        try:
            built = _compile(self.root, modules, work)
        except BaseException as error:  # a failed compiler exits through SystemExit
            if isinstance(error, KeyboardInterrupt):
                raise
            shutil.rmtree(work, ignore_errors=True)
            self.app.display_warning(
                f"fwlint: compiling with mypyc failed, installing pure Python "
                f"(slower on large files, same results): {error!r}")
            return
        manifest = _manifest(self.root, modules)
        if editable:
            for relative, path in built.items():
                shutil.copyfile(path, os.path.join(self.root, relative))
            with open(os.path.join(self.root, MANIFEST), "w", encoding="utf-8") as out:
                out.write(manifest)
            shutil.rmtree(work, ignore_errors=True)
        else:
            manifest_path = os.path.join(work, "compiled.txt")
            with open(manifest_path, "w", encoding="utf-8") as out:
                out.write(manifest)
            build_data["force_include"][manifest_path] = MANIFEST
            for relative, path in built.items():
                build_data["force_include"][path] = relative
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
        self.app.display_info(f"fwlint: compiled {len(modules)} modules with mypyc")


def _compile(root: str, modules: list[str], work: str) -> dict[str, str]:
    """Compile ``modules`` (paths relative to ``root``) into ``work``; return
    {path in the package tree: built file}."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    here = os.getcwd()
    os.chdir(root)  # mypy reads its settings from pyproject.toml here
    try:
        extensions = mypycify(modules, opt_level="3", group_name=GROUP,
                              target_dir=os.path.join(work, "c"))
        distribution = Distribution({"name": "fwlint", "ext_modules": extensions})
        build_ext = distribution.get_command_obj("build_ext")
        build_ext.build_lib = os.path.join(work, "lib")
        build_ext.build_temp = os.path.join(work, "temp")
        distribution.run_command("build_ext")
    finally:
        os.chdir(here)
    lib = os.path.join(work, "lib")
    return {os.path.relpath(path, lib): path
            for path in glob.glob(os.path.join(lib, "**", "*.so"), recursive=True)
            + glob.glob(os.path.join(lib, "**", "*.pyd"), recursive=True)}


def _manifest(root: str, modules: list[str]) -> str:
    lines = ["# written by hatch_build.py: modules compiled with mypyc, and the CRC-32 of",
             f"# the source each was compiled from (python {sys.version.split()[0]})"]
    for module in modules:
        with open(os.path.join(root, module), "rb") as source:
            lines.append(f"{module} {zlib.crc32(source.read())}")
    return "\n".join(lines) + "\n"


def _remove_in_place(root: str) -> None:
    """An editable build's extension modules and manifest from an earlier install."""
    stale = glob.glob(os.path.join(root, "fwlint", "**", "*.so"), recursive=True)
    stale += glob.glob(os.path.join(root, f"{GROUP}__mypyc*"))
    stale.append(os.path.join(root, MANIFEST))
    for path in stale:
        if os.path.exists(path):
            os.remove(path)
