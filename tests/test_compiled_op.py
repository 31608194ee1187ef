"""The compiled butterfly op against the pure-PyTorch reference: outputs, gradients, registration, fallback."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from kfront.core import backend, backend_reason, butterfly_multiply, butterfly_multiply_reference, randn_twiddle

REPO = Path(__file__).resolve().parents[1]
DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
TOL = {torch.float32: 2e-5, torch.complex64: 2e-5, torch.float64: 1e-12, torch.complex128: 1e-12}

compiled = pytest.mark.skipif(backend("cpu") != "compiled",
                              reason=f"compiled butterfly op unavailable: {backend_reason('cpu')}")


def _twiddle(nstacks, nblocks, n, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    log_n = n.bit_length() - 1
    return randn_twiddle((nstacks, nblocks, log_n, n // 2, 2, 2), dtype=dtype, generator=gen)


def _close(actual, expected, dtype, what):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, what
    if expected.numel() == 0:
        return
    scale = expected.abs().max().clamp_min(1e-30)
    err = ((actual - expected).abs().max() / scale).item()
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:.1g}"


def _check_against_reference(twiddle, x, increasing_stride, seed=0):
    """Forward and gradients (x and twiddle) of the compiled op equal the reference's; x may be real with a
    complex twiddle."""
    dtype = x.dtype
    tw_c, x_c = twiddle.clone().requires_grad_(), x.clone().requires_grad_()
    tw_r, x_r = twiddle.clone().requires_grad_(), x.clone().requires_grad_()
    out_c = butterfly_multiply(tw_c, x_c, increasing_stride)
    lead = x.shape[:-2]
    out_r = butterfly_multiply_reference(tw_r, x_r.reshape(-1, *x.shape[-2:]), increasing_stride).reshape(x.shape)
    _close(out_c, out_r, twiddle.dtype, "output")
    grad = torch.randn(out_r.shape, dtype=twiddle.dtype, generator=torch.Generator().manual_seed(seed + 1))
    out_c.backward(grad)
    out_r.backward(grad)
    _close(x_c.grad, x_r.grad, dtype, "grad x")
    _close(tw_c.grad, tw_r.grad, twiddle.dtype, "grad twiddle")
    assert out_c.shape == (*lead, *x.shape[-2:])


# Every power of 2 from 2 to 512 with every dtype and both stride orders; 1024 to 4096 (where the reference's
# backward is slow) with each dtype and stride order once. 37 frames = full tiles plus a partial one.
SIZES = [(log_n, dtype, inc) for log_n in range(1, 10) for dtype in DTYPES for inc in (True, False)] + [
    (10, torch.complex64, True), (10, torch.float64, False), (11, torch.float32, True),
    (11, torch.complex128, False), (12, torch.complex64, False), (12, torch.float32, True)]


@compiled
@pytest.mark.parametrize("log_n,dtype,increasing_stride", SIZES,
                         ids=[f"n{1 << k}-{str(d).removeprefix('torch.')}-{'inc' if i else 'dec'}"
                              for k, d, i in SIZES])
def test_matches_reference_all_sizes(log_n, dtype, increasing_stride):
    n = 1 << log_n
    x = torch.randn(37, 1, n, dtype=dtype, generator=torch.Generator().manual_seed(log_n))
    _check_against_reference(_twiddle(1, 1, n, dtype, seed=log_n), x, increasing_stride)


# Several blocks and stacks, at sizes with one and with two cache-blocking phases.
@compiled
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("nstacks", [1, 2])
@pytest.mark.parametrize("nblocks", [1, 2, 3])
@pytest.mark.parametrize("increasing_stride", [True, False])
@pytest.mark.parametrize("n", [16, 512])
def test_matches_reference_blocks_and_stacks(n, increasing_stride, nblocks, nstacks, dtype):
    x = torch.randn(21, nstacks, n, dtype=dtype, generator=torch.Generator().manual_seed(n + nblocks))
    _check_against_reference(_twiddle(nstacks, nblocks, n, dtype, seed=nblocks), x, increasing_stride)


@compiled
def test_three_cache_blocking_phases():
    """n = 2^15 splits every block into three phases, for every tile width; the reference's backward is too slow
    there, so gradients are checked through identities that only need forward passes. Two blocks: both orders."""
    n, dtype, increasing_stride = 1 << 15, torch.complex128, False
    gen = torch.Generator().manual_seed(15)
    tw = _twiddle(1, 2, n, dtype, seed=15)
    x, v, g = (torch.randn(3, 1, n, dtype=dtype, generator=gen) for _ in range(3))
    _close(butterfly_multiply(tw, x, increasing_stride), butterfly_multiply_reference(tw, x, increasing_stride),
           dtype, "output")
    d_tw, d_x = torch.ops.kfront.butterfly_multiply_backward(g, tw, x, increasing_stride)

    def loss(t, inp):  # L = Re <g, f(t, inp)>; PyTorch's gradients satisfy dL = Re <grad, d input>
        return torch.vdot(g.flatten(), butterfly_multiply(t, inp, increasing_stride).flatten()).real.item()

    # Linear in x: Re <d_x, v> = L(tw, v) exactly.
    assert torch.vdot(d_x.flatten(), v.flatten()).real.item() == pytest.approx(loss(tw, v), rel=1e-9)
    # Multilinear in the twiddles: a central difference along a random direction.
    delta, eps = _twiddle(1, 2, n, dtype, seed=16), 1e-6
    slope = (loss(tw + eps * delta, x) - loss(tw - eps * delta, x)) / (2 * eps)
    assert torch.vdot(d_tw.flatten(), delta.flatten()).real.item() == pytest.approx(slope, rel=1e-6)


@compiled
@pytest.mark.parametrize("batch_shape", [(0,), (2, 0, 3), (), (2, 3)], ids=str)
def test_batch_shapes(batch_shape):
    x = torch.randn(*batch_shape, 2, 32, dtype=torch.complex64)
    _check_against_reference(_twiddle(2, 2, 32, torch.complex64), x, True)


@compiled
def test_empty_batch_gradients_are_zero():
    tw = _twiddle(1, 1, 8, torch.float32).requires_grad_()
    x = torch.randn(0, 1, 8, requires_grad=True)
    out = butterfly_multiply(tw, x)
    out.sum().backward()
    assert out.shape == (0, 1, 8) and torch.equal(tw.grad, torch.zeros_like(tw))


@compiled
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=str)
def test_non_contiguous_inputs(dtype):
    base = torch.randn(40, 2, 128, dtype=dtype)
    x = base[::2, :, ::2]  # (20, 2, 64), strided in batch and in n
    tw = _twiddle(2, 2, 64, dtype).transpose(0, 1).contiguous().transpose(0, 1)  # a non-contiguous twiddle
    assert not x.is_contiguous() and not tw.is_contiguous()
    _check_against_reference(tw, x, True)
    expanded = torch.randn(7, 1, 64, dtype=dtype).expand(7, 2, 64)  # stride 0 across stacks, as in Butterfly
    _check_against_reference(_twiddle(2, 1, 64, dtype), expanded, False)


@compiled
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=str)
def test_gradcheck(dtype):
    tw = _twiddle(2, 2, 4, dtype).requires_grad_()  # every twiddle entry of two stacks and two blocks
    x = torch.randn(3, 2, 4, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, False), (tw, x))
    tw = _twiddle(1, 1, 64, dtype).requires_grad_()  # a size with several tile layouts, checked in fast mode
    x = torch.randn(3, 1, 64, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, True), (tw, x), fast_mode=True)


@compiled
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64], ids=str)
def test_opcheck(dtype):
    tw = _twiddle(2, 2, 16, dtype).requires_grad_()
    x = torch.randn(5, 2, 16, dtype=dtype, requires_grad=True)
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply.default, (tw, x, True))
    grad = torch.randn(5, 2, 16, dtype=dtype)
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply_backward.default,
                          (grad, tw.detach(), x.detach(), False))
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply_backward.default,
                          (grad, tw.detach(), x.detach(), False, False))


@compiled
def test_double_backward_says_it_is_unsupported():
    tw = _twiddle(1, 1, 8, torch.float64).requires_grad_()
    x = torch.randn(4, 1, 8, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(butterfly_multiply(tw, x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        gx.sum().backward()


@compiled
def test_torch_compile():
    tw = _twiddle(1, 2, 16, torch.complex64).requires_grad_()
    x = torch.randn(6, 1, 16, dtype=torch.complex64)

    def power(t, v):
        return butterfly_multiply(t, v, True).abs().square().sum()

    compiled_fn = torch.compile(power, backend="aot_eager", fullgraph=True)
    (g_compiled,) = torch.autograd.grad(compiled_fn(tw, x), tw)
    (g_eager,) = torch.autograd.grad(power(tw, x), tw)
    _close(g_compiled, g_eager, torch.complex64, "torch.compile grad")


def test_op_rejects_bad_shapes_with_value_error():
    if backend("cpu") != "compiled":
        pytest.skip(f"compiled butterfly op unavailable: {backend_reason('cpu')}")
    tw = _twiddle(1, 1, 8, torch.float32)
    with pytest.raises(ValueError, match=r"\(batch, nstacks, n\)"):
        torch.ops.kfront.butterfly_multiply(tw, torch.randn(3, 1, 16), True)
    with pytest.raises(ValueError, match="dtype"):
        torch.ops.kfront.butterfly_multiply(tw, torch.randn(3, 1, 8, dtype=torch.float64), True)


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


def _run(code: str, env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


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
    torch.save(out, "out.pt")
"""


def test_forced_reference_backend(tmp_path):
    proc = _run(_FALLBACK_SCRIPT, {"KFRONT_BACKEND": "reference"}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "BACKEND reference" in proc.stdout and "WARNINGS 0" in proc.stdout
    assert "REASON KFRONT_BACKEND=reference" in proc.stdout
    gen = torch.Generator().manual_seed(0)
    tw = randn_twiddle((1, 2, 5, 16, 2, 2), dtype=torch.complex64, generator=gen)
    x = torch.randn(9, 1, 32, dtype=torch.complex64, generator=gen)
    _close(torch.load(tmp_path / "out.pt"), butterfly_multiply(tw, x), torch.complex64, "reference vs default")


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
    gen = torch.Generator().manual_seed(0)
    tw = randn_twiddle((1, 2, 5, 16, 2, 2), dtype=torch.complex64, generator=gen)
    x = torch.randn(9, 1, 32, dtype=torch.complex64, generator=gen)
    _close(torch.load(tmp_path / "out.pt"), butterfly_multiply_reference(tw, x, True), torch.complex64, "fallback")
    # KFRONT_BACKEND=compiled turns the same failure into an error.
    proc = _run(_FALLBACK_SCRIPT, {**env, "KFRONT_BACKEND": "compiled"}, tmp_path)
    assert proc.returncode != 0 and "KFRONT_BACKEND=compiled" in proc.stderr


@compiled
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n,nblocks,increasing_stride", [(2, 1, True), (64, 2, False), (512, 1, False),
                                                         (512, 2, True), (512, 3, False)])
def test_twiddle_gradient_without_input_gradient(n, nblocks, increasing_stride, dtype):
    """With input_grad=False the backward returns the same twiddle gradient, bit for bit, and an empty d_x;
    autograd asks for it when x needs no gradient."""
    tw = _twiddle(2, nblocks, n, dtype, seed=n)
    gen = torch.Generator().manual_seed(n + 1)
    x, g = (torch.randn(37, 2, n, dtype=dtype, generator=gen) for _ in range(2))
    d_tw, d_x = torch.ops.kfront.butterfly_multiply_backward(g, tw, x, increasing_stride, True)
    d_tw_only, no_d_x = torch.ops.kfront.butterfly_multiply_backward(g, tw, x, increasing_stride, False)
    assert torch.equal(d_tw_only, d_tw) and no_d_x.shape == (0,) and d_x.shape == x.shape
    tw_c, tw_r = tw.clone().requires_grad_(), tw.clone().requires_grad_()
    butterfly_multiply(tw_c, x, increasing_stride).backward(g)
    butterfly_multiply_reference(tw_r, x, increasing_stride).backward(g)
    _close(tw_c.grad, tw_r.grad, dtype, "grad twiddle")


REAL_INPUT = [(1, 1, 1, True), (3, 1, 2, False), (6, 2, 1, True), (9, 1, 1, False), (9, 2, 2, True),
              (9, 3, 1, False), (12, 1, 1, True)]


@compiled
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nblocks,nstacks,increasing_stride", REAL_INPUT)
def test_real_input_matches_reference(log_n, nblocks, nstacks, increasing_stride, dtype):
    """A real x with a complex twiddle: a complex output and a real input gradient, as the reference (which
    promotes x to complex) gives them."""
    n, real = 1 << log_n, torch.empty(0, dtype=dtype).real.dtype
    x = torch.randn(37, nstacks, n, dtype=real, generator=torch.Generator().manual_seed(log_n))
    _check_against_reference(_twiddle(nstacks, nblocks, n, dtype, seed=log_n), x, increasing_stride)
    tw = _twiddle(nstacks, nblocks, n, dtype, seed=log_n).requires_grad_()
    assert butterfly_multiply(tw, x, increasing_stride).dtype == dtype


@compiled
def test_real_input_gradcheck_and_opcheck():
    tw = _twiddle(2, 2, 8, torch.complex128).requires_grad_()
    x = torch.randn(3, 2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, True), (tw, x))
    tw, x = _twiddle(2, 2, 16, torch.complex64).requires_grad_(), torch.randn(5, 2, 16, requires_grad=True)
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply.default, (tw, x, False))
    grad = torch.randn(5, 2, 16, dtype=torch.complex64)
    for input_grad in (True, False):
        torch.library.opcheck(torch.ops.kfront.butterfly_multiply_backward.default,
                              (grad, tw.detach(), x.detach(), True, input_grad))


@compiled
def test_real_input_needs_a_complex_twiddle_of_its_precision():
    with pytest.raises(ValueError, match="real counterpart"):
        butterfly_multiply(_twiddle(1, 1, 8, torch.complex128), torch.randn(3, 1, 8), True)
    with pytest.raises(ValueError, match="complex twiddle"):
        butterfly_multiply(_twiddle(1, 1, 8, torch.float32), torch.randn(3, 1, 8, dtype=torch.complex64), True)
    with pytest.raises(ValueError, match="real counterpart"):
        torch.ops.kfront.butterfly_multiply(_twiddle(1, 1, 8, torch.complex128), torch.randn(3, 1, 8), True)


def _power_reference(tw, x, increasing_stride, k):
    """|y|^2 of the first k outputs of the reference product, its stacks in a row: (batch, k)."""
    y = butterfly_multiply_reference(tw, x, increasing_stride).reshape(x.shape[0], -1)
    return torch.view_as_real(y[:, :k]).square().sum(-1)


POWER = [(1, 1, 1, 2, True, True), (1, 1, 1, 1, False, False), (4, 2, 1, 9, False, True), (6, 1, 3, 40, True, False),
         (9, 2, 1, 257, False, True), (9, 1, 2, 257, True, True), (9, 1, 3, 100, False, False),
         (4, 3, 1, 20, True, True), (4, 2, 2, 32, False, False), (12, 1, 1, 2049, True, True), (3, 2, 1, 0, True, True)]


@compiled
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,k,increasing_stride,real", POWER)
def test_power_matches_reference(log_n, nstacks, nblocks, k, increasing_stride, real, dtype):
    """The fused power op against the reference product then the power: output and both gradients; stacks
    past k get none of the output and zero gradients."""
    from kfront.core.multiply import butterfly_multiply_power

    n, gen = 1 << log_n, torch.Generator().manual_seed(log_n + k)
    tw = _twiddle(nstacks, nblocks, n, dtype, seed=k)
    x = torch.randn(37, nstacks, n, dtype=tw.real.dtype if real else dtype, generator=gen)
    tw_c, x_c, tw_r, x_r = (t.clone().requires_grad_() for t in (tw, x, tw, x))
    out_c = butterfly_multiply_power(tw_c, x_c, increasing_stride, k)
    out_r = _power_reference(tw_r, x_r, increasing_stride, k)
    _close(out_c, out_r, out_r.dtype, "power")
    g = torch.randn(out_r.shape, dtype=out_r.dtype, generator=gen)
    out_c.backward(g)
    out_r.backward(g)
    _close(x_c.grad, x_r.grad, x.dtype, "grad x")
    _close(tw_c.grad, tw_r.grad, dtype, "grad twiddle")
    d_tw, no_d_x, no_d_sep = torch.ops.kfront.butterfly_multiply_power_backward(g, tw, x, increasing_stride, k,
                                                                                 None, False)
    assert torch.equal(d_tw, tw_c.grad) and no_d_x.shape == (0,) and no_d_sep.shape == (0,)


@compiled
def test_power_gradcheck_opcheck_and_compile():
    from kfront.core.multiply import butterfly_multiply_power

    tw = _twiddle(2, 2, 8, torch.complex128).requires_grad_()
    for x in (torch.randn(3, 2, 8, dtype=torch.float64), torch.randn(3, 2, 8, dtype=torch.complex128)):
        x.requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply_power(t, v, False, 11), (tw, x))
    tw, x = _twiddle(1, 2, 16, torch.complex64).requires_grad_(), torch.randn(5, 1, 16, requires_grad=True)
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply_power.default, (tw, x, True, 9))
    grad = torch.randn(5, 9)
    for input_grad in (True, False):
        torch.library.opcheck(torch.ops.kfront.butterfly_multiply_power_backward.default,
                              (grad, tw.detach(), x.detach(), True, 9, None, input_grad))
    compiled_fn = torch.compile(lambda t, v: butterfly_multiply_power(t, v, True, 9).sum(), backend="aot_eager",
                                fullgraph=True)
    (g_compiled,) = torch.autograd.grad(compiled_fn(tw, x.detach()), tw)
    (g_eager,) = torch.autograd.grad(butterfly_multiply_power(tw, x.detach(), True, 9).sum(), tw)
    _close(g_compiled, g_eager, torch.complex64, "torch.compile grad")


def test_power_without_the_compiled_op(monkeypatch):
    """Where the compiled op does not run, the power is the product then head_power: same values."""
    from kfront.core import _backend
    from kfront.core.multiply import butterfly_multiply_power

    tw = _twiddle(2, 1, 16, torch.complex128)
    x = torch.randn(4, 3, 2, 16, dtype=torch.float64)  # two batch dimensions
    monkeypatch.setattr(_backend, "compiled_op", lambda device_type: None)
    got = butterfly_multiply_power(tw, x, True, 20)
    want = _power_reference(tw, x.reshape(12, 2, 16), True, 20).reshape(4, 3, 20)
    _close(got, want, torch.float64, "power")
    with pytest.raises(ValueError, match="k must lie"):
        butterfly_multiply_power(tw, x, True, 33)
    with pytest.raises(ValueError, match="must be complex"):
        butterfly_multiply_power(_twiddle(2, 1, 16, torch.float64), x, True, 3)


def _separated_power_reference(tw, x, increasing_stride, separation):
    from kfront.core.multiply import separate

    y = butterfly_multiply_reference(tw, x, increasing_stride).reshape(x.shape[0], -1)
    return torch.view_as_real(separate(y[:, :separation.shape[1] - 1], separation)).square().sum(-1)


SEPARATED = [(1, 1, 1, 1, True, True), (1, 1, 1, 2, False, False), (4, 1, 2, 16, True, False),
             (6, 2, 1, 40, False, True), (8, 1, 2, 256, False, False), (8, 1, 2, 256, True, True),
             (9, 1, 3, 256, False, False), (11, 1, 1, 2048, True, False)]


@compiled
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,N,increasing_stride,real", SEPARATED)
def test_separated_power_matches_reference(log_n, nstacks, nblocks, N, increasing_stride, real, dtype):
    """The fused power of the separated first N outputs (the packed real-input path) against the reference
    product, separate() and the power: output and the gradients of twiddle, x and the separation."""
    from kfront.core.multiply import butterfly_multiply_power

    n, gen = 1 << log_n, torch.Generator().manual_seed(log_n + N)
    tw = _twiddle(nstacks, nblocks, n, dtype, seed=N)
    x = torch.randn(37, nstacks, n, dtype=tw.real.dtype if real else dtype, generator=gen)
    sep = torch.randn(2, N + 1, dtype=dtype, generator=gen)
    tw_c, x_c, s_c, tw_r, x_r, s_r = (t.clone().requires_grad_() for t in (tw, x, sep, tw, x, sep))
    out_c = butterfly_multiply_power(tw_c, x_c, increasing_stride, separation=s_c)
    out_r = _separated_power_reference(tw_r, x_r, increasing_stride, s_r)
    _close(out_c, out_r, out_r.dtype, "separated power")
    g = torch.randn(out_r.shape, dtype=out_r.dtype, generator=gen)
    out_c.backward(g)
    out_r.backward(g)
    _close(x_c.grad, x_r.grad, x.dtype, "grad x")
    _close(tw_c.grad, tw_r.grad, dtype, "grad twiddle")
    _close(s_c.grad, s_r.grad, dtype, "grad separation")


@compiled
def test_separated_power_gradcheck_and_opcheck():
    """gradcheck in float64 of the fused separated power against finite differences, for twiddle, x and the
    separation; opcheck of both ops with a separation."""
    from kfront.core.multiply import butterfly_multiply_power

    tw = _twiddle(1, 2, 8, torch.complex128).requires_grad_()
    sep = torch.randn(2, 7, dtype=torch.complex128, requires_grad=True)
    for x in (torch.randn(3, 1, 8, dtype=torch.float64), torch.randn(3, 1, 8, dtype=torch.complex128)):
        x.requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v, s: butterfly_multiply_power(t, v, False, separation=s),
                                        (tw, x, sep))
    tw, x = _twiddle(1, 2, 16, torch.complex64).requires_grad_(), torch.randn(5, 1, 16, requires_grad=True)
    sep = torch.randn(2, 17, dtype=torch.complex64, requires_grad=True)
    torch.library.opcheck(torch.ops.kfront.butterfly_multiply_power.default, (tw, x, True, 17, sep))
    for input_grad in (True, False):
        torch.library.opcheck(torch.ops.kfront.butterfly_multiply_power_backward.default,
                              (torch.randn(5, 17), tw.detach(), x.detach(), True, 17, sep.detach(), input_grad))
    with pytest.raises(ValueError, match="separation must be"):
        torch.ops.kfront.butterfly_multiply_power(tw, x, True, 18, torch.randn(2, 18, dtype=torch.complex64))


def test_separated_power_without_the_compiled_op(monkeypatch):
    from kfront.core import _backend
    from kfront.core.multiply import butterfly_multiply_power

    tw, sep = _twiddle(1, 2, 16, torch.complex128), torch.randn(2, 9, dtype=torch.complex128)
    x = torch.randn(3, 4, 1, 16, dtype=torch.complex128)
    monkeypatch.setattr(_backend, "compiled_op", lambda device_type: None)
    got = butterfly_multiply_power(tw, x, False, separation=sep)
    want = _separated_power_reference(tw, x.reshape(12, 1, 16), False, sep).reshape(3, 4, 9)
    _close(got, want, torch.float64, "separated power")
    with pytest.raises(ValueError, match="with a separation k"):
        butterfly_multiply_power(tw, x, False, 5, separation=sep)
