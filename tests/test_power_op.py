"""The power stage (``kfront.core.power``): the power of the first outputs and the separated power of a packed
real frame, against the reference product then the power, on every device with a compiled op.

Where the dispatcher has the fused power kernels (the CPU library) the public function runs them, and the ops'
own checks (opcheck, input_grad) run too; elsewhere (CUDA) it composes the compiled product and the power, and
the same value and gradient tests apply.
"""
import pytest
import torch
from torch import nn

from kfront.core import (_backend, backend, backend_reason, butterfly_multiply_power, butterfly_multiply_reference,
                         randn_twiddle, separate)

from _devices import DEVICES, ops, select_backend  # noqa: F401 (an autouse fixture)

TOL = {torch.float32: 2e-5, torch.complex64: 2e-5, torch.float64: 1e-12, torch.complex128: 1e-12}


def _interpreted(device) -> bool:
    """Whether ``device`` runs the Triton kernels through Triton's interpreter: its gradchecks use fast mode, and
    n > 256 runs on 3 frames instead of 37."""
    return getattr(device, "backend", "compiled") == "triton" and device == "cpu"


def _one_dtype_at_large_n(device=None, log_n: int = 0, dtype=None, **_) -> bool:
    """The interpreter runs n > 256 in complex64 only (complex128 runs the same code)."""
    return device is not None and _interpreted(device) and log_n > 8 and dtype == torch.complex128


pytestmark = pytest.mark.left_out(rule=_one_dtype_at_large_n)


def _fused(device: str) -> bool:
    """Whether this device's implementation has the fused power kernels (the Triton kernels do; a C++ library is
    asked of the dispatcher, as the op does)."""
    return getattr(device, "backend", "compiled") == "triton" or _backend.has_kernel("butterfly_multiply_power",
                                                                                       device)


def _twiddle(nstacks, nblocks, n, dtype, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    log_n = n.bit_length() - 1
    return randn_twiddle((nstacks, nblocks, log_n, n // 2, 2, 2), dtype=dtype, generator=gen).to(device)


def _randn(shape, dtype, gen, device):
    return torch.randn(shape, dtype=dtype, generator=gen).to(device)


def _close(actual, expected, dtype, what):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, what
    if expected.numel() == 0:
        return
    scale = expected.abs().max().clamp_min(1e-30)
    err = ((actual - expected).abs().max() / scale).item()
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:.1g}"


def _grad_of(t):
    """t's gradient, zeros where autograd left none: with no blocks the reference never reads the twiddle."""
    return t.grad if t.grad is not None else torch.zeros_like(t)


def _padded(x, tw):
    """x's rows zero-padded to the twiddle's n, explicitly: (batch, nstacks, n)."""
    return nn.functional.pad(x, (0, 2 * tw.shape[3] - x.shape[-1]))


def _power_reference(tw, x, increasing_stride, k, perm=None):
    """|y|^2 of the first k outputs of the reference product, its stacks in a row: (batch, k)."""
    y = butterfly_multiply_reference(tw, _padded(x, tw), increasing_stride, perm).reshape(x.shape[0], -1)
    return torch.view_as_real(y[:, :k]).square().sum(-1)


def _separated_power_reference(tw, x, increasing_stride, separation, perm=None):
    y = butterfly_multiply_reference(tw, _padded(x, tw), increasing_stride, perm).reshape(x.shape[0], -1)
    return torch.view_as_real(separate(y[:, :separation.shape[1] - 1], separation)).square().sum(-1)


POWER = [(1, 1, 1, 2, True, True), (1, 1, 1, 1, False, False), (4, 2, 1, 9, False, True), (6, 1, 3, 40, True, False),
         (9, 2, 1, 257, False, True), (9, 1, 2, 257, True, True), (9, 1, 3, 100, False, False),
         (4, 3, 1, 20, True, True), (4, 2, 2, 32, False, False), (12, 1, 1, 2049, True, True), (3, 2, 1, 0, True, True),
         (4, 2, 0, 9, False, True), (5, 1, 0, 32, True, False)]  # nblocks = 0: the identity


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,k,increasing_stride,real", POWER)
@pytest.mark.parametrize("device", DEVICES)
def test_power_matches_reference(device, log_n, nstacks, nblocks, k, increasing_stride, real, dtype):
    """The power of the first k outputs against the reference product then the power: output and both
    gradients; stacks past k get none of the output and zero gradients."""
    _check_power(device, log_n, nstacks, nblocks, k, increasing_stride, real, dtype, 1 << log_n, log_n + k)


# (log_n, nstacks, nblocks, k, increasing_stride, real, L): rows of L < n samples, zero-padded; the front-end's
# n_fft = 400 (a Bluestein K-matrix of 1024, 201 bins) among them.
POWER_SHORT = [(1, 1, 1, 2, True, True, 1), (4, 2, 1, 9, False, True, 1), (6, 1, 3, 40, True, False, 33),
               (6, 3, 1, 150, False, True, 63), (9, 2, 1, 257, False, True, 17), (10, 1, 2, 201, False, True, 400),
               (10, 1, 2, 201, False, False, 400), (10, 2, 1, 1500, True, True, 1023), (6, 1, 0, 40, True, True, 33)]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,k,increasing_stride,real,length", POWER_SHORT)
@pytest.mark.parametrize("device", DEVICES)
def test_power_of_short_rows_matches_reference(device, log_n, nstacks, nblocks, k, increasing_stride, real, length,
                                               dtype):
    """The power of short rows against the reference on the rows explicitly zero-padded: output and both
    gradients, x's of x's shape."""
    _check_power(device, log_n, nstacks, nblocks, k, increasing_stride, real, dtype, length, log_n + k + length)


def _check_power(device, log_n, nstacks, nblocks, k, increasing_stride, real, dtype, length, seed, permuted=False):
    n, gen = 1 << log_n, torch.Generator().manual_seed(seed)
    tw = _twiddle(nstacks, nblocks, n, dtype, k, device)
    x = _randn((3 if _interpreted(device) and n > 256 else 37, nstacks, length), tw.real.dtype if real else dtype,
               gen, device)
    perm = torch.randperm(n, generator=gen).to(device) if permuted else None
    tw_c, x_c, tw_r, x_r = (t.clone().requires_grad_() for t in (tw, x, tw, x))
    out_c = butterfly_multiply_power(tw_c, x_c, increasing_stride, k, perm=perm)
    out_r = _power_reference(tw_r, x_r, increasing_stride, k, perm)
    _close(out_c, out_r, out_r.dtype, "power")
    g = _randn(out_r.shape, out_r.dtype, gen, device)
    out_c.backward(g)
    out_r.backward(g)
    _close(x_c.grad, x_r.grad, x.dtype, "grad x")  # shapes and dtypes too: x's
    _close(tw_c.grad, _grad_of(tw_r), dtype, "grad twiddle")
    if _fused(device):  # the fused backward without d_x: the same twiddle gradient, bit for bit
        d_tw, no_d_x, no_d_sep = ops(device).butterfly_multiply_power_backward(g, tw, x, increasing_stride, k,
                                                                                     None, False, perm)
        assert torch.equal(d_tw, tw_c.grad) and no_d_x.shape == (0,) and no_d_sep.shape == (0,)


@pytest.mark.parametrize("device", DEVICES)
def test_power_gradcheck_and_compile(device):
    tw = _twiddle(2, 2, 8, torch.complex128, device=device).requires_grad_()
    for x in (torch.randn(3, 2, 8, dtype=torch.float64), torch.randn(3, 2, 8, dtype=torch.complex128)):
        x = x.to(device).requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply_power(t, v, False, 11), (tw, x),
                                        fast_mode=_interpreted(device))
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = torch.randn(5, 1, 16, device=device)
    compiled_fn = torch.compile(lambda t, v: butterfly_multiply_power(t, v, True, 9).sum(), backend="aot_eager",
                                fullgraph=True)
    (g_compiled,) = torch.autograd.grad(compiled_fn(tw, x), tw)
    (g_eager,) = torch.autograd.grad(butterfly_multiply_power(tw, x, True, 9).sum(), tw)
    _close(g_compiled, g_eager, torch.complex64, "torch.compile grad")


@pytest.mark.parametrize("device", DEVICES)
def test_power_opcheck(device):
    if not _fused(device):
        pytest.skip(f"no fused power kernel on {device}: the power is composed there")
    tw, x = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_(), torch.randn(5, 1, 16, device=device)
    x.requires_grad_()
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, True, 9))
    grad = torch.randn(5, 9, device=device)
    for input_grad in (True, False):
        torch.library.opcheck(ops(device).butterfly_multiply_power_backward.default,
                              (grad, tw.detach(), x.detach(), True, 9, None, input_grad))


@pytest.mark.parametrize("device", DEVICES)
def test_power_of_short_rows_gradcheck_and_opcheck(device):
    """Rows of L < n: gradcheck of both powers for twiddle, x (x's shape) and the separation; opcheck of the
    fused ops where the device has them."""
    tw = _twiddle(2, 2, 8, torch.complex128, device=device).requires_grad_()
    sep = torch.randn(2, 7, dtype=torch.complex128, device=device, requires_grad=True)
    for x in (torch.randn(3, 2, 5, dtype=torch.float64), torch.randn(3, 2, 3, dtype=torch.complex128)):
        x = x.to(device).requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply_power(t, v, False, 11), (tw, x),
                                        fast_mode=_interpreted(device))
        assert torch.autograd.gradcheck(lambda t, v, s: butterfly_multiply_power(t, v, True, separation=s),
                                        (tw, x, sep), fast_mode=_interpreted(device))
    if not _fused(device):
        return
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = torch.randn(5, 1, 11, device=device, requires_grad=True)
    sep = torch.randn(2, 17, dtype=torch.complex64, device=device, requires_grad=True)
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, True, 9))
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, False, 17, sep))
    for k, s in ((9, None), (17, sep.detach())):
        for input_grad in (True, False):
            torch.library.opcheck(ops(device).butterfly_multiply_power_backward.default,
                                  (torch.randn(5, k, device=device), tw.detach(), x.detach(), True, k, s, input_grad))
    with pytest.raises(ValueError, match=r"\(L = 0\)"):
        ops(device).butterfly_multiply_power(tw, x[..., :0], True, 9)
    with pytest.raises(ValueError, match="k must lie in \\[0, nstacks \\* n\\] = \\[0, 16\\], got 17"):
        ops(device).butterfly_multiply_power(tw, x, True, 17)  # k counts the n outputs, not x's L samples


@pytest.mark.parametrize("k", [5, 8])
def test_head_power_matches_autograd_of_slice_and_square(k):
    """``head_power`` alone, the composition's last step: its gradient passes gradcheck and equals the gradient of
    slicing then squaring."""
    from kfront.core import head_power

    y = torch.randn(3, 4, 8, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: head_power(t, k), (y,))
    g = torch.randn(3, 4, k, dtype=torch.float64)
    (mine,) = torch.autograd.grad(head_power(y, k), y, g)
    (ref,) = torch.autograd.grad(torch.view_as_real(y[..., :k]).square().sum(-1), y, g)
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-14)


def test_power_without_the_compiled_op(monkeypatch):
    """Where the compiled op does not run, the power is the product then head_power: same values."""
    tw = _twiddle(2, 1, 16, torch.complex128)
    x = torch.randn(4, 3, 2, 16, dtype=torch.float64)  # two batch dimensions
    monkeypatch.setattr(_backend, "compiled_op", lambda op, device_type, dtype: None)
    got = butterfly_multiply_power(tw, x, True, 20)
    want = _power_reference(tw, x.reshape(12, 2, 16), True, 20).reshape(4, 3, 20)
    _close(got, want, torch.float64, "power")
    with pytest.raises(ValueError, match="k must lie"):
        butterfly_multiply_power(tw, x, True, 33)
    with pytest.raises(ValueError, match="must be complex"):
        butterfly_multiply_power(_twiddle(2, 1, 16, torch.float64), x, True, 3)


SEPARATED = [(1, 1, 1, 1, True, True), (1, 1, 1, 2, False, False), (4, 1, 2, 16, True, False),
             (6, 2, 1, 40, False, True), (8, 1, 2, 256, False, False), (8, 1, 2, 256, True, True),
             (9, 1, 3, 256, False, False), (11, 1, 1, 2048, True, False), (4, 1, 0, 16, True, True)]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,N,increasing_stride,real", SEPARATED)
@pytest.mark.parametrize("device", DEVICES)
def test_separated_power_matches_reference(device, log_n, nstacks, nblocks, N, increasing_stride, real, dtype):
    """The power of the separated first N outputs (the packed real-input path) against the reference product,
    separate() and the power: output and the gradients of twiddle, x and the separation."""
    _check_separated_power(device, log_n, nstacks, nblocks, N, increasing_stride, real, dtype, 1 << log_n, log_n + N)


# (log_n, nstacks, nblocks, N, increasing_stride, real, L); the packed n_fft = 400 frame (200 complex of 512).
SEPARATED_SHORT = [(1, 1, 1, 1, True, True, 1), (4, 1, 2, 16, True, False, 9), (6, 2, 1, 40, False, True, 1),
                   (9, 1, 2, 200, False, False, 200), (9, 1, 2, 200, False, True, 200),
                   (11, 1, 1, 2048, True, False, 2047)]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,N,increasing_stride,real,length", SEPARATED_SHORT)
@pytest.mark.parametrize("device", DEVICES)
def test_separated_power_of_short_rows_matches_reference(device, log_n, nstacks, nblocks, N, increasing_stride,
                                                         real, length, dtype):
    """The separated power of short rows against the reference on the rows explicitly zero-padded."""
    _check_separated_power(device, log_n, nstacks, nblocks, N, increasing_stride, real, dtype, length,
                           log_n + N + length)


def _check_separated_power(device, log_n, nstacks, nblocks, N, increasing_stride, real, dtype, length, seed,
                           permuted=False):
    n, gen = 1 << log_n, torch.Generator().manual_seed(seed)
    tw = _twiddle(nstacks, nblocks, n, dtype, N, device)
    x = _randn((3 if _interpreted(device) and n > 256 else 37, nstacks, length), tw.real.dtype if real else dtype,
               gen, device)
    sep = _randn((2, N + 1), dtype, gen, device)
    perm = torch.randperm(n, generator=gen).to(device) if permuted else None
    tw_c, x_c, s_c, tw_r, x_r, s_r = (t.clone().requires_grad_() for t in (tw, x, sep, tw, x, sep))
    out_c = butterfly_multiply_power(tw_c, x_c, increasing_stride, separation=s_c, perm=perm)
    out_r = _separated_power_reference(tw_r, x_r, increasing_stride, s_r, perm)
    _close(out_c, out_r, out_r.dtype, "separated power")
    g = _randn(out_r.shape, out_r.dtype, gen, device)
    out_c.backward(g)
    out_r.backward(g)
    _close(x_c.grad, x_r.grad, x.dtype, "grad x")
    _close(tw_c.grad, _grad_of(tw_r), dtype, "grad twiddle")
    _close(s_c.grad, s_r.grad, dtype, "grad separation")


# (log_n, nstacks, nblocks, k or N, increasing_stride, real, L, separated): an input permutation, as the
# front-end's Cooley-Tukey K-matrices have (Kaldi's 400-sample frame of 512, packed as 200 of 256).
PERMUTED = [(1, 1, 1, 2, True, True, 2, False), (4, 2, 1, 9, False, True, 11, False),
            (9, 1, 1, 257, True, True, 400, False), (9, 1, 2, 257, False, False, 512, False),
            (8, 1, 1, 256, True, False, 200, True), (8, 1, 1, 256, False, True, 256, True),
            (4, 1, 0, 16, True, False, 16, True)]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
@pytest.mark.parametrize("log_n,nstacks,nblocks,k,increasing_stride,real,length,separated", PERMUTED)
@pytest.mark.parametrize("device", DEVICES)
def test_power_of_permuted_input_matches_reference(device, log_n, nstacks, nblocks, k, increasing_stride, real,
                                                   length, separated, dtype):
    """Both powers of a permuted input against the reference on the padded rows permuted: output and the
    gradients (x's in x's order)."""
    check = _check_separated_power if separated else _check_power
    check(device, log_n, nstacks, nblocks, k, increasing_stride, real, dtype, length, 7 * log_n + length,
          permuted=True)


@pytest.mark.parametrize("device", DEVICES)
def test_permuted_power_opcheck(device):
    if not _fused(device):
        pytest.skip(f"no fused power kernel on {device}: the power is composed there")
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = torch.randn(5, 1, 11, device=device, requires_grad=True)
    sep = torch.randn(2, 17, dtype=torch.complex64, device=device, requires_grad=True)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(3)).to(device)
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, True, 9, None, perm))
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, False, 17, sep, perm))
    for k, s in ((9, None), (17, sep.detach())):
        for input_grad in (True, False):
            torch.library.opcheck(ops(device).butterfly_multiply_power_backward.default,
                                  (torch.randn(5, k, device=device), tw.detach(), x.detach(), True, k, s, input_grad,
                                   perm))


@pytest.mark.parametrize("device", DEVICES)
def test_separated_power_gradcheck_and_opcheck(device):
    """gradcheck in float64 of the separated power against finite differences, for twiddle, x and the
    separation; opcheck of both fused ops with a separation where the device has them."""
    tw = _twiddle(1, 2, 8, torch.complex128, device=device).requires_grad_()
    sep = torch.randn(2, 7, dtype=torch.complex128, device=device, requires_grad=True)
    for x in (torch.randn(3, 1, 8, dtype=torch.float64), torch.randn(3, 1, 8, dtype=torch.complex128)):
        x = x.to(device).requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v, s: butterfly_multiply_power(t, v, False, separation=s),
                                        (tw, x, sep), fast_mode=_interpreted(device))
    if not _fused(device):
        return
    tw, x = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_(), torch.randn(5, 1, 16, device=device)
    x.requires_grad_()
    sep = torch.randn(2, 17, dtype=torch.complex64, device=device, requires_grad=True)
    torch.library.opcheck(ops(device).butterfly_multiply_power.default, (tw, x, True, 17, sep))
    for input_grad in (True, False):
        torch.library.opcheck(ops(device).butterfly_multiply_power_backward.default,
                              (torch.randn(5, 17, device=device), tw.detach(), x.detach(), True, 17, sep.detach(),
                               input_grad))
    with pytest.raises(ValueError, match="separation must be"):
        ops(device).butterfly_multiply_power(tw, x, True, 18,
                                                  torch.randn(2, 18, dtype=torch.complex64, device=device))


def test_separated_power_without_the_compiled_op(monkeypatch):
    tw, sep = _twiddle(1, 2, 16, torch.complex128), torch.randn(2, 9, dtype=torch.complex128)
    x = torch.randn(3, 4, 1, 16, dtype=torch.complex128)
    monkeypatch.setattr(_backend, "compiled_op", lambda op, device_type, dtype: None)
    got = butterfly_multiply_power(tw, x, False, separation=sep)
    want = _separated_power_reference(tw, x.reshape(12, 1, 16), False, sep).reshape(3, 4, 9)
    _close(got, want, torch.float64, "separated power")
    with pytest.raises(ValueError, match="with a separation k"):
        butterfly_multiply_power(tw, x, False, 5, separation=sep)


@pytest.mark.skipif(backend("cpu") != "compiled", reason=f"compiled op unavailable: {backend_reason('cpu')}")
def test_the_fused_op_runs_where_the_dispatcher_has_it(monkeypatch):
    """butterfly_multiply_power takes the fused kernel exactly where the dispatcher registers one: with the kernel
    hidden from it the composition runs (its backward is head_power's), with the same values."""
    tw = _twiddle(1, 1, 32, torch.complex64).requires_grad_()
    x = torch.randn(6, 1, 32)
    fused = butterfly_multiply_power(tw, x, True, 17)
    monkeypatch.setattr(_backend, "has_kernel", lambda op, device_type: op != "butterfly_multiply_power")
    composed = butterfly_multiply_power(tw, x, True, 17)

    def producer(t):  # the node that made the power, under the final reshape's view
        node = t.grad_fn
        while node.name().startswith("View"):
            node = node.next_functions[0][0]
        return node.name()

    assert "HeadPower" in producer(composed) and "HeadPower" not in producer(fused), (producer(fused),)
    _close(composed, fused, torch.float32, "composed vs fused")
