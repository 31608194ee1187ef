"""Packaging hook: everything is configured in pyproject.toml except one step.

The C++/CUDA sources live in ``csrc/`` at the top of the repository and are compiled on first use on the
machine that runs them (``kfront.core.build``). A source checkout or an editable install finds them there; a
wheel carries a copy in ``kfront/_csrc/``, which this build step puts in place.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE_SUFFIXES = {".cpp", ".h", ".cu", ".cuh", ".md"}


class BuildPyWithSources(build_py):
    def run(self):
        super().run()
        src = Path(__file__).resolve().parent / "csrc"
        dst = Path(self.build_lib) / "kfront" / "_csrc"
        for path in sorted(src.rglob("*")):
            if path.is_file() and path.suffix in SOURCE_SUFFIXES:
                target = dst / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


setup(cmdclass={"build_py": BuildPyWithSources})
