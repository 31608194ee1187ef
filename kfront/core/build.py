"""Build and load the compiled butterfly ops (``torch.ops.kfront``) with ``torch.utils.cpp_extension.load``.

The libraries are compiled on first use for the machine that runs them (``-O3 -march=native -fopenmp``) into a
per-environment cache directory whose name hashes everything the binary depends on (torch and Python versions,
compiler flags, CPU), so a cached build is reused only where it is valid. A file lock serialises concurrent
builders (pytest workers, torchrun processes); the others wait and then load the finished library.

``python -m kfront.core`` builds eagerly and prints which backend is active (:mod:`kfront.core.__main__`); this
module only builds and loads, and knows nothing of backend selection (:mod:`kfront.core._backend` calls it).

The first build takes about a minute (on 2 cores) and says so on stderr when it starts, while it runs and when
it is done. It needs a C++ compiler (``$CXX``, else ``c++``) and ninja: the ``ninja`` package, a kfront
dependency, puts one in the environment, and it is used even where the environment's ``bin`` is not on ``PATH``.
When a tool is missing or does not run, :func:`check_toolchain` says which in words, before the compiler is
tried, and :func:`describe_failure` turns any other failure into one line for the fallback warning.

Environment:
    KFRONT_BUILD_DIR  cache root (default: ``<sys.prefix>/var/cache/kfront`` if writable, else
                      ``~/.cache/kfront/<environment hash>``)
    KFRONT_CSRC       C++/CUDA source directory (default: ``csrc`` next to the ``kfront`` package, else the
                      copy installed with a wheel in ``kfront/_csrc``)
    KFRONT_SANITIZE   ``address``: build the CPU library with AddressSanitizer (for developers; the process
                      must preload the sanitizer runtime, as ``tools/sanitize_cpu.sh`` does)
"""
import contextlib
import glob
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import torch

CPU_LIBRARY = "kfront_cpu"
CUDA_LIBRARY = "kfront_cuda"
PROGRESS_SECONDS = 15.0  # how often a running build says it is still running
_SOURCE_SUFFIXES = (".cpp", ".h", ".cu", ".cuh")


class ToolchainError(RuntimeError):
    """A tool the build needs is missing or does not run; the message names it and what to do."""


def source_dir() -> Path:
    """Directory holding ``butterfly.cpp``, ``cpu/`` and (optionally) ``cuda/``: ``$KFRONT_CSRC``, else the
    repository's ``csrc/`` (source checkout, editable install), else the copy a wheel carries in ``kfront/_csrc``."""
    env = os.environ.get("KFRONT_CSRC")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent / "csrc"
    return checkout if (checkout / "butterfly.cpp").is_file() else package / "_csrc"


def sanitizer_flags() -> list[str]:
    """Compiler and linker flags of the sanitizer ``$KFRONT_SANITIZE`` asks for (none by default)."""
    sanitizer = os.environ.get("KFRONT_SANITIZE", "")
    if sanitizer in ("", "none"):
        return []
    if sanitizer != "address":
        raise ValueError(f"KFRONT_SANITIZE must be 'address' or empty, got {sanitizer!r}")
    return ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"]


def cpu_flags() -> list[str]:
    """Host compiler flags: tuned for this CPU, since the library is built where it runs."""
    flags = ["-O3", "-fopenmp"]
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        flags += ["-march=native"]  # the kernel's vector width follows the instruction set this enables
    elif machine in ("aarch64", "arm64"):
        flags += ["-mcpu=native"]
    return flags + sanitizer_flags()


def cuda_flags() -> list[str]:
    """nvcc flags; the architectures come from TORCH_CUDA_ARCH_LIST or the GPUs present (cpp_extension)."""
    return ["-O3"]


def _cpu_signature() -> str:
    """The CPU model and feature flags: a ``-march=native`` binary is only valid on a matching CPU."""
    try:
        with open("/proc/cpuinfo") as fh:
            lines = [ln for ln in fh if ln.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def cache_key() -> str:
    """Hash of everything a cached binary depends on, except the sources (ninja tracks those)."""
    parts = [torch.__version__, str(torch.version.git_version), str(torch.version.cuda), sys.version,
             platform.machine(), " ".join(cpu_flags()), " ".join(cuda_flags()), _cpu_signature(),
             os.environ.get("TORCH_CUDA_ARCH_LIST", "")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_root() -> Path:
    """Root of the build cache: per environment, since the binaries depend on its torch and Python."""
    env = os.environ.get("KFRONT_BUILD_DIR")
    if env:
        return Path(env)
    in_env = Path(sys.prefix) / "var" / "cache" / "kfront"
    if os.access(in_env if in_env.exists() else sys.prefix, os.W_OK):  # inside the environment when writable
        return in_env
    env_hash = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kfront" / env_hash


def build_dir(kind: str) -> Path:
    """Build directory of one library (``"cpu"`` or ``"cuda"``): one ninja project per directory."""
    return cache_root() / f"torch{torch.__version__.replace('+', '-')}-{cache_key()}" / kind


@contextlib.contextmanager
def _file_lock(path: Path):
    """Exclusive lock held while building; released by the OS even if the holder is killed."""
    try:
        import fcntl
    except ImportError:  # not POSIX: rely on torch's own lock file
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            # Under our lock no other kfront process is building here, so torch's lock file can only be left
            # over from a killed build; removing it keeps torch from waiting on it forever.
            with contextlib.suppress(FileNotFoundError):
                (path.parent / "lock").unlink()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load(name: str, sources: list[str], directory: Path, verbose: bool, what: str, **kwargs) -> str:
    from torch.utils.cpp_extension import load

    directory.mkdir(parents=True, exist_ok=True)
    with _ninja_on_path():
        # Also for a current cache: torch's loader runs the compiler (its version probe) and ninja every time.
        check_toolchain()
        # The message comes before the lock: a process waiting for another one's build is told why it waits.
        with _build_progress(what, directory, sources), _file_lock(directory / ".kfront-build.lock"):
            return load(name=name, sources=sources, build_directory=str(directory), is_python_module=False,
                        verbose=verbose, extra_include_paths=[str(source_dir())], **kwargs)


# --- the tools: found, checked, and described in words when they fail --------------------------------------------
def ninja_dirs() -> list[str]:
    """Directories that hold the ``ninja`` executable of the ``ninja`` package, if it is installed: its own
    ``BIN_DIR``, and the environment's scripts directory, where pip puts its ``ninja`` command."""
    try:
        import ninja
    except ImportError:
        return []
    dirs = [getattr(ninja, "BIN_DIR", None), sysconfig.get_path("scripts")]
    return [d for d in dirs if d and shutil.which("ninja", path=d)]


@contextlib.contextmanager
def _ninja_on_path():
    """``torch.utils.cpp_extension`` runs ``ninja`` from ``PATH``: where none is there (a virtual environment used
    without activating it, a machine without a system ninja), put the ``ninja`` package's on it for the build."""
    dirs = [] if shutil.which("ninja") else ninja_dirs()
    if not dirs:
        yield
        return
    old = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join(dirs + ([old] if old else []))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def cxx_compiler() -> str:
    """The C++ compiler command torch's extension builder runs: ``$CXX``, else ``c++`` (``cl`` on Windows)."""
    return os.environ.get("CXX", "").strip() or ("cl" if sys.platform == "win32" else "c++")


def check_toolchain(compiler: bool = True) -> None:
    """Raise :class:`ToolchainError` naming the missing or broken tool (the C++ compiler, unless ``compiler`` is
    false; ninja) and what to do.

    Checked before the build starts, so the reason is a sentence instead of a build log, and torch's own compiler
    probe (which warns that a missing compiler is "not compatible") never runs on a compiler that is not there.
    """
    if compiler:
        _check_compiler()
    if shutil.which("ninja") is None:
        raise ToolchainError("ninja, which torch uses to build C++ extensions, was not found: pip install ninja "
                             "(a kfront dependency; a system ninja on PATH works too)")


def _check_compiler() -> None:
    command = cxx_compiler()
    set_by_user = bool(os.environ.get("CXX", "").strip())
    argv = shlex.split(command) or ["c++"]
    exe = shutil.which(argv[0])
    if exe is None:
        if set_by_user:
            raise ToolchainError(f"the C++ compiler CXX={command!r} was not found: set CXX to an installed compiler "
                                 "(g++ or clang++), or unset it to use c++")
        raise ToolchainError(f"no C++ compiler found ({argv[0]!r} is not on PATH): install g++ or clang, or set CXX")
    if sys.platform != "win32":  # cl has no --version
        try:
            proc = subprocess.run([exe, *argv[1:], "--version"], capture_output=True, text=True, timeout=120)
            failed = f"exited with status {proc.returncode}" if proc.returncode else None
        except (OSError, subprocess.TimeoutExpired) as exc:
            failed = f"failed: {exc}"
        if failed:
            shown = f"CXX={command!r}" if set_by_user else repr(command)
            raise ToolchainError(f"the C++ compiler {shown} does not run (`{command} --version` {failed}): install "
                                 "g++ or clang, or set CXX to a working compiler")


_HINTS = (("Python.h", "install the Python development headers (python3-dev or python3-devel)"),
          ("omp.h", "the compiler has no OpenMP: install it (libomp) or use g++"))


def describe_failure(exc: BaseException) -> str:
    """One readable line for a failed build or load: the missing tool in words, or the compiler's first error
    message with the command that shows the whole log."""
    if isinstance(exc, ToolchainError):
        return str(exc)
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "Error building extension" in text:
        errors = [ln for ln in lines if "error:" in ln]  # the compiler's own messages, not the command lines
        detail = errors[0] if errors else lines[-1] if lines else ""
        hints = [hint for needle, hint in _HINTS if needle in text]
        return (f"building the C++ extension failed: {detail[:400]}{' (' + hints[0] + ')' if hints else ''} "
                "(python -m kfront.core --verbose shows the full log)")
    if isinstance(exc, subprocess.CalledProcessError):
        command = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd))
        return f"a build command failed: `{command}` exited with status {exc.returncode}"
    return f"{type(exc).__name__}: {lines[0][:400] if lines else ''}"


# --- saying what a build does while it runs ------------------------------------------------------------------------
def needs_build(directory: Path, name: str) -> bool:
    """Whether the library ``name`` in ``directory`` is missing or older than a source (what the build message
    is printed for; ninja decides what to recompile)."""
    built = [p for p in directory.glob(f"{name}.*") if p.suffix in (".so", ".pyd", ".dll", ".dylib")]
    if not built:
        return True
    sources = [p for p in source_dir().rglob("*") if p.suffix in _SOURCE_SUFFIXES]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    return min(p.stat().st_mtime for p in built) < newest


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # not written yet
        return 0.0


def _say(message: str) -> None:
    print(f"kfront: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _build_progress(what: str, directory: Path, sources: list[str]):
    """Say on stderr that a build starts (what, why, about how long, where it is cached, how to do it ahead of
    time), every ``PROGRESS_SECONDS`` that it still runs, and how it ended; silent when the cache is current."""
    name = directory.name
    if not needs_build(directory, CPU_LIBRARY if name == "cpu" else CUDA_LIBRARY):
        yield
        return
    estimate = "about a minute on 2 cores" if name == "cpu" else "a few minutes"
    _say(f"compiling the {what} for this machine, once per environment ({estimate}); it is cached in {directory} "
         "and loaded from there afterwards. `python -m kfront.core` does this ahead of time.")
    start, started_at, done = time.perf_counter(), time.time() - 1.0, threading.Event()
    objects = [directory / (Path(s).stem + ".o") for s in sources]  # where torch's ninja file puts them

    def report():
        while not done.wait(PROGRESS_SECONDS):
            compiled = sum(1 for o in objects if _mtime(o) >= started_at)
            _say(f"still compiling the {what} ({time.perf_counter() - start:.0f} s, {compiled} of {len(sources)} "
                 "source files done)")

    thread = threading.Thread(target=report, name="kfront-build-progress", daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        done.set()
        _say(f"compiling the {what} failed after {time.perf_counter() - start:.0f} s")
        raise
    done.set()
    thread.join()
    _say(f"compiled the {what} in {time.perf_counter() - start:.0f} s")


def load_cpu(verbose: bool = False) -> str:
    """Build (if needed) and load the schema and CPU kernels; returns the library's path. Raises on failure."""
    src = source_dir()
    sources = [src / "butterfly.cpp", *sorted((src / "cpu").glob("*.cpp"))]
    missing = [str(s) for s in sources[:1] if not s.is_file()]
    if missing or len(sources) < 2:
        raise FileNotFoundError(f"C++ sources not found in {src} (need butterfly.cpp and cpu/*.cpp)")
    return _load(CPU_LIBRARY, [str(s) for s in sources], build_dir("cpu"), verbose, "C++ butterfly op",
                 extra_cflags=cpu_flags(), extra_ldflags=["-fopenmp", *sanitizer_flags()])


def cuda_unavailable_reason() -> str | None:
    """Why the CUDA kernels cannot be built here, or ``None`` if a build can be attempted."""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} was built without CUDA"
    from torch.utils.cpp_extension import CUDA_HOME

    if CUDA_HOME is None:
        return "CUDA toolkit not found (set CUDA_HOME or put nvcc on PATH)"
    if not _cuda_sources():
        return f"no CUDA sources in {source_dir() / 'cuda'}"
    return None


def _cuda_sources() -> list[str]:
    cuda = source_dir() / "cuda"
    return sorted(glob.glob(str(cuda / "*.cu"))) + sorted(glob.glob(str(cuda / "*.cpp")))


def load_cuda(verbose: bool = False) -> str:
    """Build (if needed) and load the CUDA kernels, registered for the schema ``load_cpu`` defines."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    return _load(CUDA_LIBRARY, _cuda_sources(), build_dir("cuda"), verbose, "CUDA butterfly kernels",
                 with_cuda=True, extra_cflags=["-O3"], extra_cuda_cflags=cuda_flags())


if __name__ == "__main__":  # the former build command; ``python -m kfront.core`` is the one to use
    import runpy

    runpy.run_module("kfront.core", run_name="__main__", alter_sys=True)
