"""A pip user's first use: the first build says what it does, ninja comes from the ``ninja`` package when no system
one is on PATH, a build that cannot run names the missing tool in words, the fallback warning points at the
user's line, ``help()`` documents the constructors, and the from-wheel install script's pieces."""
import os
import pydoc
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import kfront
from kfront.core import build

REPO = Path(__file__).resolve().parents[1]


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _run(code: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "KFRONT_BACKEND": "", **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


# --- the build says what it does ------------------------------------------------------------------------------------
def test_build_says_what_why_how_long_where_and_how_to_do_it_ahead(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "cache" / "cpu"
    directory.mkdir(parents=True)
    monkeypatch.setattr(build, "PROGRESS_SECONDS", 0.05)
    with build._build_progress("C++ butterfly op", directory, ["a.cpp", "b.cpp"]):
        (directory / "a.o").write_text("")  # one source compiled while the build runs
        time.sleep(0.3)
    err = capsys.readouterr().err.splitlines()
    first, last = err[0], err[-1]
    assert first.startswith("kfront: compiling the C++ butterfly op for this machine, once per environment")
    assert "about a minute" in first and str(directory) in first and "`python -m kfront.core`" in first
    assert any("still compiling" in line and "1 of 2 source files done" in line for line in err[1:-1]), err
    assert last.startswith("kfront: compiled the C++ butterfly op in ")
    # A current cache says nothing.
    (directory / f"{build.CPU_LIBRARY}.so").write_text("")
    with build._build_progress("C++ butterfly op", directory, ["a.cpp"]):
        pass
    assert capsys.readouterr().err == ""


_FALLBACK = """
    import warnings, torch, kfront
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frontend = kfront.KaleidoFrontend(n_fft=64, win_length=64, hop_length=32, n_mels=8)
        frontend(torch.randn(2, 400))
    ours = [w for w in caught if "kfront" in str(w.message)]
    print("BACKEND", kfront.backend())
    print("WARNINGS", len(ours))
    print("WARNED AT", [w.filename for w in ours])
    print("REASON", kfront.backend_reason())
"""


def test_failed_build_is_announced_and_the_warning_points_at_the_users_line(tmp_path):
    """A compile error: the build message, then its failure, on stderr; the fallback warning names the caller's
    line (here ``<string>``), not a kfront module, also when it is reached through a front-end's forward."""
    bogus = tmp_path / "csrc"
    (bogus / "cpu").mkdir(parents=True)
    (bogus / "butterfly.cpp").write_text("this is not C++;\n")
    (bogus / "cpu" / "kernel.cpp").write_text("int kfront_placeholder;\n")
    proc = _run(_FALLBACK, {"KFRONT_CSRC": str(bogus), "KFRONT_BUILD_DIR": str(tmp_path / "build")}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "BACKEND reference" in proc.stdout and "WARNINGS 1" in proc.stdout, proc.stdout
    assert "WARNED AT ['<string>']" in proc.stdout, proc.stdout
    assert "kfront: compiling the C++ butterfly op" in proc.stderr and "failed after" in proc.stderr, proc.stderr


@pytest.mark.parametrize("setting,reason", [
    ("no-compiler", r"no C\+\+ compiler found \('c\+\+' is not on PATH\): install g\+\+ or clang, or set CXX"),
    ("cxx-false", r"the C\+\+ compiler CXX='/bin/false' does not run \(`/bin/false --version` exited with status 1\)"),
    ("cxx-missing", r"the C\+\+ compiler CXX='/no/such/g\+\+' was not found"),
])
def test_a_missing_or_broken_compiler_is_named_in_words(tmp_path, monkeypatch, setting, reason):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    if setting == "no-compiler":
        monkeypatch.setenv("PATH", str(empty))
        monkeypatch.delenv("CXX", raising=False)
    else:
        monkeypatch.setenv("CXX", "/bin/false" if setting == "cxx-false" else "/no/such/g++")
    with pytest.raises(build.ToolchainError, match=reason):
        build.check_toolchain()
    with pytest.raises(build.ToolchainError) as caught:
        build.check_toolchain()
    assert build.describe_failure(caught.value) == str(caught.value)  # the fallback warning's reason, as it is


@pytest.mark.skipif(not os.path.exists("/bin/false"), reason="needs /bin/false")
def test_cxx_false_falls_back_with_a_readable_reason(tmp_path):
    proc = _run(_FALLBACK, {"CXX": "/bin/false", "KFRONT_BUILD_DIR": str(tmp_path / "build")}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "REASON the C++ compiler CXX='/bin/false' does not run" in proc.stdout, proc.stdout
    assert "CalledProcessError" not in proc.stdout + proc.stderr
    assert "WARNED AT ['<string>']" in proc.stdout, proc.stdout


def _fake_ninja_package(root: Path) -> Path:
    """A ``ninja`` package like the wheel's: ``ninja.BIN_DIR`` holds a ``ninja`` executable."""
    bin_dir = root / "ninja" / "data" / "bin"
    _executable(bin_dir / "ninja", "#!/bin/sh\necho 1.13.0\n")
    (root / "ninja" / "__init__.py").write_text(f"BIN_DIR = {str(bin_dir)!r}\n")
    return bin_dir


def test_the_ninja_package_is_used_when_no_ninja_is_on_path(tmp_path, monkeypatch):
    """torch's extension builder runs ``ninja`` from PATH; without one there (a venv used without activating it),
    the build puts the ``ninja`` package's on PATH, and only for the build."""
    from torch.utils.cpp_extension import verify_ninja_availability

    bin_dir = _fake_ninja_package(tmp_path / "site")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "ninja", raising=False)
    with pytest.raises(RuntimeError, match="Ninja is required"):
        verify_ninja_availability()
    with build._ninja_on_path():
        verify_ninja_availability()
        assert os.environ["PATH"].split(os.pathsep)[0] == str(bin_dir)
    assert os.environ["PATH"] == str(empty)


def test_no_ninja_anywhere_is_named(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    _executable(empty / "c++", "#!/bin/sh\necho fake c++\n")
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(build, "ninja_dirs", lambda: [])
    with build._ninja_on_path(), pytest.raises(build.ToolchainError, match="ninja.*was not found: pip install ninja"):
        build.check_toolchain()


def test_ninja_is_a_dependency():
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "ninja" for d in deps), deps


# --- help() ---------------------------------------------------------------------------------------------------------
def _public_classes():
    from kfront import frontend
    from kfront.integrations import espnet, kaldi, speechbrain, whisper

    classes = [getattr(kfront, name) for name in kfront.__all__ if isinstance(getattr(kfront, name), type)]
    classes += [frontend.FrozenFrontend, kaldi.KaldiFbank, kaldi.KaldiMfcc, whisper.WhisperFrontend,
                speechbrain.Fbank, speechbrain.MFCC, espnet.DefaultFrontend]
    return [c for c in classes if issubclass(c, nn.Module)]


# nn.Module.__init__'s first docstring line; read literally, since torch.compile's import rewraps Module.__init__
# without its docstring
_MODULE_INIT_DOC = "Initialize internal Module state"


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__name__)
def test_help_documents_the_constructor(cls):
    """``help(cls)`` shows the constructor's own docstring, not ``nn.Module.__init__``'s generic one."""
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert _MODULE_INIT_DOC not in text
    assert cls.__init__.__doc__ and _MODULE_INIT_DOC not in cls.__init__.__doc__


# --- the from-wheel install script ------------------------------------------------------------------------------------
SCRIPT = REPO / "tools" / "check_wheel_install.sh"


def test_wheel_install_script_help_and_syntax():
    """The full run (a wheel, a clean venv, torch and the wheel installed, the first build) takes minutes and runs
    by hand; here: it parses, and --help says what it does."""
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
    proc = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "wheel" in proc.stdout and "ninja" in proc.stdout, proc.stdout + proc.stderr


def test_wheel_install_script_path_has_no_ninja_but_a_compiler(tmp_path):
    """The PATH the script runs the installed kfront with: every tool of the system's, except ninja."""
    proc = subprocess.run(["bash", str(SCRIPT), "--print-path", str(tmp_path / "bin")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip()
    assert shutil.which("ninja", path=path) is None
    if shutil.which("c++"):
        assert shutil.which("c++", path=path) is not None
