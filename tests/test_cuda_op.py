"""What only the CUDA op has: its launch plans (forced through the binding's knobs), frames-per-thread
instantiations, several launches and chunks, grid loops, the op's own x (short, real, permuted rows) read through
those plans' staging, repeatability, and the NaN poisoning the tests rely on.

The op's correctness on every device (n = 2 ... 4096, every dtype, gradients, opcheck, torch.compile, the shared
ValueError) is ``tests/test_op.py``, whose CUDA runs are the same tests as its CPU runs. Runs only where torch sees
a GPU and the CUDA library builds; elsewhere ``tests/test_cuda_emulation.py`` runs the same kernel code on the
CPU. Every check draws fresh random inputs (the seed is in the failure message) and poisons the memory the op's
outputs are about to get with NaN: the caching allocator hands a freed block to the next allocation of the same
size, so an element the kernels never write shows up as NaN.
"""
import math
import os

import pytest
import torch

from kfront.core import _backend, bitreversal_permutation, butterfly_multiply_reference


def _unavailable() -> str | None:
    if not torch.cuda.is_available():
        return "no CUDA device"
    if not _backend.ensure_loaded("cuda"):
        return f"compiled CUDA op unavailable: {_backend.backend_reason('cuda')}"
    return None


REASON = _unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

WIDE = {torch.float32: torch.float64, torch.float64: torch.float64, torch.complex64: torch.complex128,
        torch.complex128: torch.complex128}
TOL = {torch.float32: 1e-5, torch.complex64: 1e-5, torch.float64: 1e-12, torch.complex128: 1e-12}


def _seed() -> int:
    return int.from_bytes(os.urandom(4), "little")


def _problem(dtype, batch, nstacks, log_n, nblocks, seed):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    n = 1 << log_n
    kw = dict(dtype=dtype, device="cuda", generator=gen)
    # Entries of variance 1/2 keep a frame's norm roughly constant through the layers.
    tw = torch.randn(nstacks, nblocks, log_n, n // 2, 2, 2, **kw) / math.sqrt(2)
    x = torch.randn(batch, nstacks, n, **kw)
    grad = torch.randn(batch, nstacks, n, **kw)
    return tw, x, grad


def _reference(tw, x, grad, increasing):
    tw64 = tw.to(WIDE[tw.dtype]).requires_grad_()
    x64 = x.to(WIDE[x.dtype]).requires_grad_()
    out = butterfly_multiply_reference(tw64, x64, increasing)
    out.backward(grad.to(out.dtype))
    return out.detach(), tw64.grad, x64.grad


def _poison(*likes):
    """Free NaN-filled blocks of the sizes of `likes` so the op's next allocations of those sizes reuse them."""
    blocks = [torch.full_like(t, float("nan")) for t in likes]
    ptrs = [b.data_ptr() for b in blocks]
    del blocks
    return ptrs


def _compare(name, got, want, tol, seed):
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    assert not got.isnan().any(), f"{name}: {int(got.isnan().sum())} unwritten (NaN) elements (seed {seed})"
    err = ((got.to(want.dtype) - want).norm() / want.norm().clamp_min(1e-300)).item()
    assert err <= tol, f"{name}: relative error {err:.3g} > {tol} (seed {seed})"


def _check_op(dtype, batch, nstacks, log_n, nblocks, increasing, seed=None):
    seed = _seed() if seed is None else seed
    tw, x, grad = _problem(dtype, batch, nstacks, log_n, nblocks, seed)
    ref_out, ref_dtw, ref_dx = _reference(tw, x, grad, increasing)
    _poison(x)
    out = torch.ops.kfront.butterfly_multiply(tw, x, increasing)
    _poison(tw, x)
    dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, increasing)
    torch.cuda.synchronize()
    tol = TOL[dtype]
    _compare("out", out, ref_out, tol, seed)
    _compare("d_x", dx, ref_dx, tol, seed)
    _compare("d_twiddle", dtw, ref_dtw, tol, seed)
    return out, dtw, dx


@pytest.mark.parametrize("window,budget", [(3, 0), (5, 0), (0, 24_000), (4, 48_000)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.complex128], ids=lambda d: str(d).split(".")[-1])
def test_chunked_plans(monkeypatch, dtype, window, budget):
    """Small shared-memory windows and budgets force several forward launches and backward chunks."""
    if window:
        monkeypatch.setenv("KFRONT_CUDA_MAX_WINDOW_LOG2", str(window))
    if budget:
        monkeypatch.setenv("KFRONT_CUDA_BW_SMEM_BYTES", str(budget))
    for log_n, nblocks, increasing in ((6, 2, True), (9, 3, False), (11, 1, True)):
        _check_op(dtype, 5, 2, log_n, nblocks, increasing)


@pytest.mark.parametrize("env", [{"KFRONT_CUDA_FWD_FRAMES": "4", "KFRONT_CUDA_BW_FRAMES": "4"},
                                 {"KFRONT_CUDA_BW_FRAMES": "4", "KFRONT_CUDA_BW_THREADS": "128"},
                                 {"KFRONT_CUDA_BW_FRAMES": "1"}, {"KFRONT_CUDA_BW_FRAMES": "2"}],
                         ids=["f4", "bw-f4-t128", "bw-f1", "bw-f2"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.float64], ids=lambda d: str(d).split(".")[-1])
def test_frames_per_thread_knobs(monkeypatch, dtype, env):
    """The other frames-per-thread instantiations the benchmark compares (dtypes without them fall back)."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for log_n, nblocks, increasing, batch in ((3, 2, True, 13), (9, 1, False, 6), (10, 2, True, 5), (12, 1, False, 3)):
        _check_op(dtype, batch, 1, log_n, nblocks, increasing)


@pytest.mark.parametrize("log_n", [13, 14])
def test_beyond_one_forward_launch(log_n):
    """n > 4096: the forward runs in several launches, the backward in several chunks with a workspace."""
    _check_op(torch.complex64, 3, 1, log_n, 2, True)


@pytest.mark.parametrize("log_n,batch", [(4, 70_001), (10, 2_003)])
def test_many_frames(log_n, batch):
    """Enough frames that forward blocks loop over tiles and backward blocks over frame groups."""
    _check_op(torch.complex64, batch, 1, log_n, 2, False)


@pytest.mark.parametrize("log_n", [5, 10, 12])
def test_repeatable(log_n):
    """The forward and d_x are bitwise repeatable (a race would make them move); d_twiddle, summed with
    atomics in a varying order, agrees to rounding."""
    tw, x, grad = _problem(torch.complex64, 257, 2, log_n, 2, _seed())
    runs = [(torch.ops.kfront.butterfly_multiply(tw, x, False),
             *torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, False)) for _ in range(3)]
    for out, dtw, dx in runs[1:]:
        assert torch.equal(out, runs[0][0]) and torch.equal(dx, runs[0][2])
        assert ((dtw - runs[0][1]).norm() / runs[0][1].norm()).item() < 1e-6


@pytest.mark.parametrize("log_n,nblocks", [(10, 1), (11, 1), (12, 2)])
def test_backward_without_input_gradient_over_several_chunks(log_n, nblocks):
    """Without d_x, a backward of several chunks passes the gradient between them through its workspace and
    gives the twiddle gradient of the full backward (to the rounding of its atomics)."""
    seed = _seed()
    tw, x, grad = _problem(torch.complex64, 9, 2, log_n, nblocks, seed)
    _, ref_dtw, _ = _reference(tw, x, grad, True)
    _poison(tw)
    dtw, no_dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, True, False)
    assert no_dx.shape == (0,)
    _compare("d_twiddle", dtw, ref_dtw, 1e-5, seed)


@pytest.mark.parametrize("window,budget,input_grad",
                         [(0, 0, True), (4, 0, True), (0, 24_000, True), (5, 24_000, False)])
def test_the_ops_own_x_through_every_plan(monkeypatch, window, budget, input_grad):
    """Real rows of 25/32 of n, bit-reversed, read by the kernels' staging (one launch, or strided sub-blocks of a
    chunked plan where the permutation is a gather across them): the reference's outputs and gradients, d_x in x's
    real (batch, nstacks, L) shape, written everywhere (poisoned first)."""
    monkeypatch.setenv("KFRONT_CUDA_MAX_WINDOW_LOG2", str(window))
    monkeypatch.setenv("KFRONT_CUDA_BW_SMEM_BYTES", str(budget))
    seed = _seed()
    log_n = 10
    n = 1 << log_n
    tw, x, grad = _problem(torch.complex64, 7, 2, log_n, 2, seed)
    x = x.real[..., : n * 25 // 32].contiguous()  # (batch, nstacks, L) real
    perm = bitreversal_permutation(n, device="cuda")
    tw64, x64 = tw.to(torch.complex128).requires_grad_(), x.to(torch.float64).requires_grad_()
    ref = butterfly_multiply_reference(tw64, x64, False, perm)
    ref.backward(grad.to(ref.dtype))
    _poison(grad)
    out = torch.ops.kfront.butterfly_multiply(tw, x, False, perm)
    _poison(tw, x)
    dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, False, input_grad, perm)
    torch.cuda.synchronize()
    _compare("out", out, ref.detach(), 1e-5, seed)
    _compare("d_twiddle", dtw, tw64.grad, 1e-5, seed)
    if input_grad:
        assert dx.dtype == torch.float32
        _compare("d_x", dx, x64.grad, 1e-5, seed)
    else:
        assert dx.shape == (0,)


def test_poisoning_reaches_the_outputs():
    """The NaN poisoning above is effective: the op's outputs land in the poisoned blocks."""
    if torch.cuda.get_allocator_backend() != "native":
        pytest.skip("the poisoning relies on the native caching allocator")
    tw, x, grad = _problem(torch.complex64, 33, 1, 9, 1, _seed())
    torch.cuda.synchronize()
    (ptr,) = _poison(x)
    out = torch.ops.kfront.butterfly_multiply(tw, x, True)
    assert out.data_ptr() == ptr
    ptr_tw, ptr_x = _poison(tw, x)
    dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, True)
    assert dx.data_ptr() == ptr_x and dtw.data_ptr() == ptr_tw
