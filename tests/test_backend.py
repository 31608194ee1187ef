"""Which implementation runs: the compiled op, its fallback to the reference, the KFRONT_BACKEND setting, the
dispatcher's answer to which ops a device has, and the build command ``python -m kfront.core``."""
import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from kfront.core import _backend, backend, backend_reason, butterfly_multiply, butterfly_multiply_reference, randn_twiddle

REPO = Path(__file__).resolve().parents[1]

compiled = pytest.mark.skipif(backend("cpu") != "compiled",
                              reason=f"compiled butterfly op unavailable: {backend_reason('cpu')}")


def _twiddle(nstacks, nblocks, n, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    log_n = n.bit_length() - 1
    return randn_twiddle((nstacks, nblocks, log_n, n // 2, 2, 2), dtype=dtype, generator=gen)


def _close(actual, expected, what, tol=2e-5):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, what
    scale = expected.abs().max().clamp_min(1e-30)
    err = ((actual - expected).abs().max() / scale).item()
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol:.1g}"


def test_unknown_backend_setting_is_an_error(monkeypatch):
    monkeypatch.setenv("KFRONT_BACKEND", "fast")
    with pytest.raises(ValueError, match="KFRONT_BACKEND"):
        backend()


def test_half_precision_falls_back_silently(recwarn):
    tw = _twiddle(1, 1, 16, torch.float32).to(torch.bfloat16)
    x = torch.randn(4, 1, 16, dtype=torch.bfloat16)
    out = butterfly_multiply(tw, x)
    assert torch.equal(out, butterfly_multiply_reference(tw, x, True))
    assert not [w for w in recwarn if "kfront" in str(w.message)]


@compiled
def test_which_ops_a_device_has_is_asked_of_the_dispatcher():
    """The CPU library registers every op, the fused power ops included; no library registers a CUDA power op
    (kfront.core.power composes the product and the power there), nor anything for an unknown device or op."""
    for op in ("butterfly_multiply", "butterfly_multiply_backward", "butterfly_multiply_power",
               "butterfly_multiply_power_backward"):
        assert _backend.has_kernel(op, "cpu"), op
    assert not _backend.has_kernel("butterfly_multiply_power", "cuda")
    assert not _backend.has_kernel("butterfly_multiply", "mps") and not _backend.has_kernel("no_such_op", "cpu")
    assert _backend.has_kernel("butterfly_multiply", "cuda") == _backend.ensure_loaded("cuda")


@compiled
def test_compiled_op_follows_the_dispatcher(monkeypatch):
    """compiled_op hands out an op only where the dispatcher has its kernel and for the kernels' dtypes."""
    power = _backend.compiled_op("butterfly_multiply_power", "cpu", torch.complex64)
    assert power is torch.ops.kfront.butterfly_multiply_power.default
    assert _backend.compiled_op("butterfly_multiply", "cpu", torch.bfloat16) is None
    monkeypatch.setattr(_backend, "has_kernel", lambda op, device_type: op != "butterfly_multiply_power")
    assert _backend.compiled_op("butterfly_multiply_power", "cpu", torch.complex64) is None
    assert _backend.compiled_op("butterfly_multiply", "cpu", torch.complex64) is not None


@compiled
def test_gpu_backend_settings_leave_cpu_tensors_to_the_cpu(monkeypatch):
    """KFRONT_BACKEND=cuda and triton name the implementation for CUDA tensors: CPU tensors keep the compiled CPU
    op, except that triton runs them through Triton's interpreter where TRITON_INTERPRET=1 asks for it."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    for mode in ("cuda", "triton", "compiled", "auto"):
        monkeypatch.setenv("KFRONT_BACKEND", mode)
        assert backend("cpu") == "compiled" and backend_reason("cpu") is None, mode
        assert _backend.compiled_op("butterfly_multiply", "cpu", torch.float32) is not None
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setenv("KFRONT_BACKEND", "triton")
    if _backend._triton_unavailable("cpu") is None:
        assert backend("cpu") == "triton"
    monkeypatch.setenv("KFRONT_BACKEND", "auto")
    assert backend("cpu") == "compiled"  # auto never runs the interpreter


def _run(code: str, env: dict, tmp_path: Path, *args) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    cmd = [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, env=full_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


_FALLBACK_SCRIPT = """
    import warnings, torch
    from kfront.core import backend, backend_reason, butterfly_multiply, randn_twiddle
    gen = torch.Generator().manual_seed(0)
    tw = randn_twiddle((1, 2, 5, 16, 2, 2), dtype=torch.complex64, generator=gen)
    x = torch.randn(9, 1, 32, dtype=torch.complex64, generator=gen)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = butterfly_multiply(tw, x)
        butterfly_multiply(tw, x)
    print("BACKEND", backend())
    print("REASON", backend_reason())
    print("WARNINGS", sum("kfront" in str(w.message) for w in caught))
    print("WARNED AT", [w.filename for w in caught if "kfront" in str(w.message)])
    torch.save(out, "out.pt")
"""


def _fallback_inputs():
    gen = torch.Generator().manual_seed(0)
    tw = randn_twiddle((1, 2, 5, 16, 2, 2), dtype=torch.complex64, generator=gen)
    x = torch.randn(9, 1, 32, dtype=torch.complex64, generator=gen)
    return tw, x


def test_forced_reference_backend(tmp_path):
    proc = _run(_FALLBACK_SCRIPT, {"KFRONT_BACKEND": "reference"}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "BACKEND reference" in proc.stdout and "WARNINGS 0" in proc.stdout
    assert "REASON KFRONT_BACKEND=reference" in proc.stdout
    tw, x = _fallback_inputs()
    _close(torch.load(tmp_path / "out.pt"), butterfly_multiply(tw, x), "reference vs default")


def test_failed_build_warns_once_and_falls_back(tmp_path):
    bogus = tmp_path / "csrc"
    (bogus / "cpu").mkdir(parents=True)
    (bogus / "butterfly.cpp").write_text("this is not C++;\n")
    (bogus / "cpu" / "kernel.cpp").write_text("int kfront_placeholder;\n")
    env = {"KFRONT_CSRC": str(bogus), "KFRONT_BUILD_DIR": str(tmp_path / "build"), "KFRONT_BACKEND": ""}
    proc = _run(_FALLBACK_SCRIPT, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "BACKEND reference" in proc.stdout and "WARNINGS 1" in proc.stdout, proc.stdout
    assert "building the C++ extension failed" in proc.stdout and "error" in proc.stdout, proc.stdout
    assert "python -m kfront.core --verbose" in proc.stdout  # the command that shows the full log
    assert "WARNED AT ['<string>']" in proc.stdout, proc.stdout  # the warning points at the caller's line
    tw, x = _fallback_inputs()
    _close(torch.load(tmp_path / "out.pt"), butterfly_multiply_reference(tw, x, True), "fallback")
    # KFRONT_BACKEND=compiled turns the same failure into an error.
    proc = _run(_FALLBACK_SCRIPT, {**env, "KFRONT_BACKEND": "compiled"}, tmp_path)
    assert proc.returncode != 0 and "KFRONT_BACKEND=compiled" in proc.stderr


@compiled
@pytest.mark.parametrize("module", ["kfront.core", "kfront.core.build"])
def test_build_command(tmp_path, module):
    """``python -m kfront.core`` builds (here: finds the cached build) and names each device's backend;
    ``python -m kfront.core.build``, the former command, still does the same."""
    proc = _run("", {}, tmp_path, "-m", module, "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "kfront butterfly backend (cpu): compiled" in proc.stdout and "build directory:" in proc.stdout
    assert "Warning" not in proc.stderr, proc.stderr
    proc = _run("", {}, tmp_path, "-m", module, "--no-such-flag")
    assert proc.returncode == 2 and "usage: python -m kfront.core" in proc.stderr


def test_build_does_not_import_backend_selection():
    """kfront.core.build only builds and loads; the backend module calls it, not the other way round (no cycle)."""
    tree = ast.parse((REPO / "kfront" / "core" / "build.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names} | {node.module or "" for node in ast.walk(tree)
                                            if isinstance(node, ast.ImportFrom)}
    assert not {"_backend", "__main__", "kfront.core._backend"} & imported, imported


def test_sanitizer_build_flags(monkeypatch):
    """KFRONT_SANITIZE=address adds AddressSanitizer to the CPU build's compile and link flags and so to its cache
    key (an ASan build never replaces the ordinary one); anything else is an error that names the value."""
    from kfront.core import build

    monkeypatch.delenv("KFRONT_SANITIZE", raising=False)
    plain_flags, plain_key = build.cpu_flags(), build.cache_key()
    assert build.sanitizer_flags() == [] and not any("sanitize" in f for f in plain_flags)
    monkeypatch.setenv("KFRONT_SANITIZE", "address")
    assert "-fsanitize=address" in build.cpu_flags() and "-fsanitize=address" in build.sanitizer_flags()
    assert build.cache_key() != plain_key
    monkeypatch.setenv("KFRONT_SANITIZE", "thread")
    with pytest.raises(ValueError, match="KFRONT_SANITIZE must be 'address' or empty, got 'thread'"):
        build.cpu_flags()
