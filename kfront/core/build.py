"""Build and load the compiled butterfly ops (``torch.ops.kfront``) with ``torch.utils.cpp_extension.load``.

The libraries are compiled on first use for the machine that runs them (``-O3 -march=native -fopenmp``) into a
per-environment cache directory whose name hashes everything the binary depends on (torch and Python versions,
compiler flags, CPU), so a cached build is reused only where it is valid. A file lock serialises concurrent
builders (pytest workers, torchrun processes); the others wait and then load the finished library.

``python -m kfront.core`` builds eagerly and prints which backend is active (:mod:`kfront.core.__main__`); this
module only builds and loads, and knows nothing of backend selection (:mod:`kfront.core._backend` calls it).

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
import sys
from pathlib import Path

import torch

CPU_LIBRARY = "kfront_cpu"
CUDA_LIBRARY = "kfront_cuda"


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


def _load(name: str, sources: list[str], directory: Path, verbose: bool, **kwargs) -> str:
    from torch.utils.cpp_extension import load

    directory.mkdir(parents=True, exist_ok=True)
    with _file_lock(directory / ".kfront-build.lock"):
        return load(name=name, sources=sources, build_directory=str(directory), is_python_module=False,
                    verbose=verbose, extra_include_paths=[str(source_dir())], **kwargs)


def load_cpu(verbose: bool = False) -> str:
    """Build (if needed) and load the schema and CPU kernels; returns the library's path. Raises on failure."""
    src = source_dir()
    sources = [src / "butterfly.cpp", *sorted((src / "cpu").glob("*.cpp"))]
    missing = [str(s) for s in sources[:1] if not s.is_file()]
    if missing or len(sources) < 2:
        raise FileNotFoundError(f"C++ sources not found in {src} (need butterfly.cpp and cpu/*.cpp)")
    return _load(CPU_LIBRARY, [str(s) for s in sources], build_dir("cpu"), verbose,
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
    return _load(CUDA_LIBRARY, _cuda_sources(), build_dir("cuda"), verbose, with_cuda=True,
                 extra_cflags=["-O3"], extra_cuda_cflags=cuda_flags())


if __name__ == "__main__":  # the former build command; ``python -m kfront.core`` is the one to use
    import runpy

    runpy.run_module("kfront.core", run_name="__main__", alter_sys=True)
