"""A wheel carries the C++/CUDA sources, and an installed (non-editable) kfront finds them."""
import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
