"""The Triton implementation beyond the op tests it shares with the C++ op (``tests/test_op.py`` and
``tests/test_power_op.py`` run those on ``cpu-triton`` and ``cuda-triton``): its launch plans, the plans a GPU takes
forced at test-sized n under the interpreter, the first-contact check, and kfront without Triton.
"""
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from kfront.core import _backend, _triton, _triton_plan, butterfly_multiply, butterfly_multiply_power
from kfront.core import butterfly_multiply_reference, randn_twiddle, separate

REPO = Path(__file__).resolve().parents[1]
needs_triton = pytest.mark.skipif(_triton.unavailable() is not None, reason=str(_triton.unavailable()))


def _twiddle(nstacks, nblocks, n, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return randn_twiddle((nstacks, nblocks, n.bit_length() - 1, n // 2, 2, 2), dtype=dtype, generator=gen)


@pytest.mark.parametrize("log_n", range(1, 16))
@pytest.mark.parametrize("nblocks", [0, 1, 2, 3])
@pytest.mark.parametrize("window", [1, 3, 4, 12])
def test_plans_cover_every_layer_once_inside_their_windows(log_n, nblocks, window):
    """Every layer in order, each chunk's bits inside its window, r <= a, the window inside the frame, tiles of at
    most 2^window elements; the backward's sums within their budget."""
    seq = _triton_plan.layer_sequence(log_n, nblocks, nblocks % 2 == 0)
    for chunks in (_triton_plan.plan(log_n, nblocks, nblocks % 2 == 0, window),
                   _triton_plan.plan(log_n, nblocks, nblocks % 2 == 0, window, acc=4096)):
        assert [(g, b) for c in chunks for g, b in zip(c.layers, c.bits)] == seq
        for c in chunks:
            assert c.r <= c.a and all(c.a <= b < c.a + c.w for b in c.bits) and c.a + c.w <= log_n
            assert c.elements <= 1 << max(window, 1) or c.w + c.r == log_n
    assert all(len(c.layers) * c.elements // 2 * 8 <= 4096 or len(c.layers) == 1
               for c in _triton_plan.plan(log_n, nblocks, True, window, acc=4096))
    if log_n <= window:  # one window: the forward takes every layer at once, on whole frames
        (chunk,) = _triton_plan.plan(log_n, nblocks, True, window)
        assert chunk.whole_frame(log_n)


def test_knobs_are_checked(monkeypatch):
    monkeypatch.setenv("KFRONT_TRITON_WINDOW_LOG2", "zero")
    with pytest.raises(ValueError, match="KFRONT_TRITON_WINDOW_LOG2 must be an integer >= 1, got 'zero'"):
        _triton_plan.forward_plan(4, 1, True)


# Knobs that make the interpreter take, at n = 64 and 256, the plans a GPU takes at n = 2^15: several windows per
# block (some that carry lower bits along), several backward chunks with a workspace, tiles of a few frames and
# programs that loop over several of them.
GPU_LIKE = {"KFRONT_TRITON_WINDOW_LOG2": "4", "KFRONT_TRITON_BW_WINDOW_LOG2": "4", "KFRONT_TRITON_BW_VALUES": "768",
            "KFRONT_TRITON_TILE": "64", "KFRONT_TRITON_BW_PROGRAMS": "2"}


def _padded(x, n, perm):
    x = nn.functional.pad(x, (0, n - x.shape[-1]))
    return x if perm is None else x[..., perm]


@needs_triton
@pytest.mark.parametrize("n,nblocks,nstacks,increasing,dtype,length,permuted,real", [
    (64, 3, 2, False, torch.complex128, 64, False, False), (128, 1, 1, True, torch.complex128, 100, True, True),
    (64, 2, 1, True, torch.float64, 50, True, False), (128, 2, 1, False, torch.complex64, 128, False, True)])
def test_gpu_plans_match_the_reference(monkeypatch, n, nblocks, nstacks, increasing, dtype, length, permuted, real):
    """The product, its gradients and both powers through the windowed plans, against the float64 reference."""
    for key, value in GPU_LIKE.items():
        monkeypatch.setenv(key, value)
    ops = _triton.ops()
    wide = torch.complex128 if dtype.is_complex else torch.float64
    tw = _twiddle(nstacks, nblocks, n, dtype, n)
    x = torch.randn(5, nstacks, length, dtype=dtype.to_real() if real else dtype,
                    generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(2)) if permuted else None
    tw_r = tw.to(wide).detach().clone().requires_grad_()
    x_r = x.to(wide.to_real() if real else wide).detach().clone().requires_grad_()
    y_r = butterfly_multiply_reference(tw_r, _padded(x_r, n, perm), increasing)
    tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12

    def close(got, want, what):
        err = ((got.to(want.dtype) - want).abs().max() / want.abs().max()).item()
        assert err <= tol, f"{what}: {err:.3g}"

    close(ops.butterfly_multiply(tw, x, increasing, perm), y_r.detach(), "output")
    grad = torch.randn(y_r.shape, dtype=dtype, generator=torch.Generator().manual_seed(3))
    d_tw, d_x = ops.butterfly_multiply_backward(grad, tw, x, increasing, True, perm)
    y_r.backward(grad.to(wide))
    close(d_tw, tw_r.grad, "grad twiddle")
    close(d_x, x_r.grad, "grad x")
    if not dtype.is_complex:
        return
    for separated in (False, True):
        tw_p, x_p = tw.clone().requires_grad_(), x.clone().requires_grad_()
        tw_q, x_q = tw_r.detach().clone().requires_grad_(), x_r.detach().clone().requires_grad_()
        y_q = butterfly_multiply_reference(tw_q, _padded(x_q, n, perm), increasing).reshape(5, -1)
        if separated:  # the separation composed with the product: the plans' last launch is no whole frame
            sep = torch.randn(2, n + 1, dtype=dtype, generator=torch.Generator().manual_seed(4))
            sep_p, sep_q = sep.clone().requires_grad_(), sep.to(wide).detach().clone().requires_grad_()
            got = butterfly_multiply_power(tw_p, x_p, increasing, separation=sep_p, perm=perm)
            want = separate(y_q[:, :n], sep_q).abs().square()
        else:
            k = nstacks * n - 5  # past the first stack where there are two
            got = butterfly_multiply_power(tw_p, x_p, increasing, k, perm=perm)
            want = y_q[:, :k].abs().square()
        close(got, want.detach(), "power")
        g = torch.rand(want.shape, dtype=want.dtype, generator=torch.Generator().manual_seed(5))
        got.backward(g.to(got.dtype))
        want.backward(g)
        close(tw_p.grad, tw_q.grad, "power: grad twiddle")
        close(x_p.grad, x_q.grad, "power: grad x")
        if separated:
            close(sep_p.grad, sep_q.grad, "power: grad separation")


@pytest.fixture
def fresh_checks(monkeypatch):
    """The backend's first-contact results and warnings of this test only."""
    monkeypatch.setitem(_backend._state, "checked", {})
    monkeypatch.setitem(_backend._state, "warned", set())


def _wrong_strides(monkeypatch):
    """Make the Triton kernels wrong on purpose: every launch applies each layer at the next stride of its window."""
    launch = _triton.launch

    def wrong(kernel, grid, args, constants, num_warps):
        a, w = constants["A"], constants["W"]
        constants = {**constants, "BITS": tuple(a + (b - a + 1) % w for b in constants["BITS"])}
        launch(kernel, grid, args, constants, num_warps)

    monkeypatch.setattr(_triton, "launch", wrong)


def _inputs(dtype=torch.complex64):
    tw = _twiddle(1, 2, 16, dtype, 7)
    return tw, torch.randn(5, 1, 16, dtype=dtype, generator=torch.Generator().manual_seed(8))


@needs_triton
def test_first_contact_passes_and_runs_once(monkeypatch, fresh_checks):
    monkeypatch.setenv("KFRONT_BACKEND", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    tw, x = _inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        butterfly_multiply(tw, x)
        butterfly_multiply(tw, x)
    assert _backend._state["checked"] == {("triton", "product", "cpu", torch.complex64): None}
    assert _backend.backend("cpu") == "triton" and _backend.backend_reason("cpu") is None


@needs_triton
def test_a_wrong_kernel_fails_first_contact(monkeypatch, fresh_checks):
    """Under auto, a GPU implementation that disagrees with the reference is replaced by it, with one warning that
    names the worst error; asked for by name, it is an error. (auto never picks Triton for CPU tensors: here it is
    made to, so that the logic is proven without a GPU.)"""
    _wrong_strides(monkeypatch)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setenv("KFRONT_BACKEND", "auto")
    monkeypatch.setattr(_backend, "_select", lambda device_type: ("triton", None))
    tw, x = _inputs()
    with pytest.warns(RuntimeWarning, match=r"Triton butterfly kernels disagree .* cpu for butterfly_multiply in "
                                            r"complex64: worst relative error .* in the (output|\w+ gradient)"):
        out = butterfly_multiply(tw, x)
    torch.testing.assert_close(out, butterfly_multiply_reference(tw, x, True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once
        butterfly_multiply(tw, x)
    assert "triton's product in complex64 failed its first-contact check (worst relative error" in \
        _backend.backend_reason("cpu")
    monkeypatch.setenv("KFRONT_BACKEND", "triton")
    with pytest.raises(RuntimeError, match=r"disagree .* \(KFRONT_BACKEND=triton\)"):
        butterfly_multiply(tw, x)


def test_first_contact_of_the_compiled_op(monkeypatch, fresh_checks):
    """The same check guards the CUDA C++ op: an op that returns wrong values (here a stand-in on CPU tensors)
    fails it; one that raises fails it too, with the exception named."""
    class Wrong:
        @staticmethod
        def butterfly_multiply(tw, x, increasing, perm):
            return butterfly_multiply_reference(tw, nn.functional.pad(x, (0, 3))[..., perm], not increasing)

        @staticmethod
        def butterfly_multiply_backward(grad, tw, x, increasing, input_grad, perm):
            raise RuntimeError("no kernel image is available for execution on the device")

    monkeypatch.setattr(_backend, "_ops", lambda name: Wrong)
    monkeypatch.setenv("KFRONT_BACKEND", "auto")
    with pytest.warns(RuntimeWarning, match="compiled butterfly op disagree .* RuntimeError: no kernel image"):
        assert not _backend._first_contact("compiled", "butterfly_multiply", "cpu", torch.float32)
    Wrong.butterfly_multiply_backward = staticmethod(lambda *args: (args[1], args[2]))
    monkeypatch.setitem(_backend._state, "checked", {})
    monkeypatch.setenv("KFRONT_BACKEND", "cuda")
    with pytest.raises(RuntimeError, match=r"worst relative error .* \(KFRONT_BACKEND=cuda\)"):
        _backend._first_contact("compiled", "butterfly_multiply", "cpu", torch.float32)


@needs_triton
def test_interpreted_and_compiled_kernels_side_by_side(monkeypatch):
    """CPU tensors run an interpreted copy of the kernels; loading it leaves Triton's switch and the environment
    as they were, so the module CUDA tensors use still compiles for the GPU."""
    import triton
    from triton.runtime.interpreter import InterpretedFunction

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    interpreted, compiled = _triton._interpreted_kernels(), _triton._compiled_kernels()
    assert isinstance(interpreted.forward_kernel, InterpretedFunction)
    assert isinstance(compiled.forward_kernel, triton.runtime.JITFunction)
    assert not triton.knobs.runtime.interpret and "TRITON_INTERPRET" not in os.environ


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env, capture_output=True,
                          text=True, timeout=300)


_WITHOUT_TRITON = """
    import sys
    sys.modules["triton"] = None  # import triton fails, as where it is not installed
    import torch, kfront
    from kfront.core import _triton, butterfly_multiply_power, randn_twiddle
    tw = randn_twiddle((1, 1, 3, 4, 2, 2), dtype=torch.complex64)
    print("UNAVAILABLE", _triton.unavailable())
    try:
        print("POWER", tuple(butterfly_multiply_power(tw, torch.randn(2, 1, 8), True, 5).shape))
        kfront.butterfly_multiply(tw, torch.randn(2, 1, 8, dtype=torch.complex64))
    except RuntimeError as exc:
        print("ERROR", exc)
"""


def test_kfront_works_without_triton():
    """Triton is imported lazily: without it kfront imports and runs, says why Triton is unavailable, and
    KFRONT_BACKEND=triton (on CPU tensors, with the interpreter asked for) is an error naming the reason."""
    proc = _run(_WITHOUT_TRITON, {"KFRONT_BACKEND": "", "TRITON_INTERPRET": ""})
    assert proc.returncode == 0, proc.stderr
    assert "POWER (2, 5)" in proc.stdout and "UNAVAILABLE triton does not import" in proc.stdout
    proc = _run(_WITHOUT_TRITON, {"KFRONT_BACKEND": "triton", "TRITON_INTERPRET": "1"})
    assert "ERROR KFRONT_BACKEND=triton but the Triton butterfly kernels are unavailable on cpu: triton does not " \
           "import" in proc.stdout, proc.stdout + proc.stderr


@needs_triton
def test_build_command_names_the_triton_backend(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kfront.core"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "KFRONT_BACKEND": "triton",
                               "TRITON_INTERPRET": "1"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "kfront butterfly backend (cpu): triton" in proc.stdout
