"""Packaging: the runtime dependencies are what the library imports; a wheel carries the C++/CUDA sources, and
an installed (non-editable) kfront finds them."""
import ast
import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Import names that differ from the distribution's name.
DISTRIBUTION_OF = {"yaml": "pyyaml"}
# ESPnet: installed with --no-deps by tools/setup_env.sh (its pins do not install here), so in no extra.
TOOLKITS = {"espnet", "espnet2"}
# Accelerators the library imports lazily and runs without (tests/test_triton.py checks it): no runtime
# dependency (CUDA builds of torch bring Triton), a test dependency (its interpreter runs the kernels' tests).
ACCELERATORS = {"triton"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group())


def _project():
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _library_imports():
    """Distributions the library imports, at module level or inside a function, mapped to their names."""
    top = set()
    for path in (ROOT / "kfront").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                top |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                top.add(node.module.split(".")[0])
    third_party = top - set(sys.stdlib_module_names) - {"kfront"}
    return {_normalise(DISTRIBUTION_OF.get(name, name)) for name in third_party}


def test_runtime_dependencies_are_what_the_library_imports():
    declared = {_requirement_name(r) for r in _project()["dependencies"]}
    imported = _library_imports() - ACCELERATORS
    assert imported - declared == set(), "imported by the library but not declared in [project] dependencies"
    assert declared - imported == set(), "declared in [project] dependencies but imported by no library module"


def test_test_dependencies_are_never_imported_by_the_library():
    extras = _project()["optional-dependencies"]
    test_only = {_requirement_name(r) for r in extras["test"] + extras["toolkits"]} | TOOLKITS
    assert _library_imports() & test_only == ACCELERATORS


def test_build_py_copies_csrc_and_installed_package_finds_it(tmp_path):
    pytest.importorskip("setuptools")
    lib = tmp_path / "lib"
    env = {k: v for k, v in os.environ.items() if k != "KFRONT_CSRC"}
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    sources = sorted(p.relative_to(ROOT / "csrc") for p in (ROOT / "csrc").rglob("*")
                     if p.suffix in {".cpp", ".h", ".cu", ".cuh"})
    assert Path("butterfly.cpp") in sources and Path("cpu/butterfly_kernel.h") in sources
    for rel in sources:
        copy = lib / "kfront" / "_csrc" / rel
        assert copy.is_file() and filecmp.cmp(ROOT / "csrc" / rel, copy, shallow=False), rel
    # The built package, imported from outside the checkout, resolves its sources to the copy.
    proc = subprocess.run([sys.executable, "-c", "from kfront.core.build import source_dir; print(source_dir())"],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(lib)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == lib / "kfront" / "_csrc"


def test_build_py_carries_the_package_data(tmp_path):
    """Every data file pyproject.toml declares (the corpus generator's resources, TIMIT's lists) is in the build, and
    each declared package holds files that match."""
    tomllib = pytest.importorskip("tomllib")
    pytest.importorskip("setuptools")
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    lib = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for package, patterns in package_data.items():
        for pattern in patterns:
            files = sorted((ROOT / package.replace(".", "/")).glob(pattern))
            assert files, f"package-data {package}: {pattern} matches no file"
            for path in files:
                assert (lib / path.relative_to(ROOT)).is_file(), path.relative_to(ROOT)
