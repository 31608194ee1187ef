"""The compiled butterfly op against the pure-PyTorch reference, the same tests on every device it is built for.

``sample_inputs(device)`` lists the problems (n = 2 ... 4096, every dtype, both stride orders, several blocks and
stacks, real input, partial tiles, rows of L < n samples read as if zero-padded to n, input permutations); every
test runs once per device, skipped where that device has no compiled op (on a machine without a GPU, the CUDA runs
skip; ``tests/test_cuda_emulation.py`` runs the CUDA kernels' code on the CPU). Outputs and gradients are compared
with the float64 reference; memory the op's outputs are about to get is first filled with NaN (a caching
allocator hands a freed block to the next allocation of that size), so an element the kernels never write shows
up. CUDA-only checks (launch knobs, repeatability) are in ``tests/test_cuda_op.py``.
"""
import dataclasses
import math

import pytest
import torch
from torch import nn

from kfront.core import _backend, butterfly_multiply, butterfly_multiply_reference, randn_twiddle

from _devices import DEVICES, deterministic, ops, select_backend  # noqa: F401 (an autouse fixture)

DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
WIDE = {torch.float32: torch.float64, torch.float64: torch.float64, torch.complex64: torch.complex128,
        torch.complex128: torch.complex128}
# Against the float64 reference: the largest error relative to the largest entry, and the error's norm relative
# to the reference's.
TOL_MAX = {torch.float32: 2e-5, torch.complex64: 2e-5, torch.float64: 1e-12, torch.complex128: 1e-12}
TOL_NORM = {torch.float32: 1e-5, torch.complex64: 1e-5, torch.float64: 1e-12, torch.complex128: 1e-12}


def _short(dtype) -> str:
    return str(dtype).removeprefix("torch.")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One problem: twiddle (nstacks, nblocks, log2 n, n/2, 2, 2) and x (batch, nstacks, L) of `dtype` on `device`,
    drawn from `seed` on the CPU (so every device gets the same values) when asked for; L = `length`, n if None;
    with `permuted`, an input permutation (n,) drawn from the seed too."""
    name: str
    nstacks: int
    nblocks: int
    n: int
    dtype: torch.dtype
    batch: int
    increasing_stride: bool
    seed: int
    device: str
    length: int | None = None
    permuted: bool = False

    @property
    def perm(self) -> torch.Tensor | None:
        return _perm(self.n, self.seed, self.device) if self.permuted else None

    @property
    def twiddle(self) -> torch.Tensor:
        return _twiddle(self.nstacks, self.nblocks, self.n, self.dtype, self.seed, self.device)

    @property
    def x(self) -> torch.Tensor:
        return _frames((self.batch, self.nstacks, self.length or self.n), self.dtype, self.seed + 1, self.device)


def _twiddle(nstacks, nblocks, n, dtype, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    log_n = n.bit_length() - 1
    return randn_twiddle((nstacks, nblocks, log_n, n // 2, 2, 2), dtype=dtype, generator=gen).to(device)


def _perm(n, seed, device):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(device)


def _frames(shape, dtype, seed, device):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed)).to(device)


# (nblocks, nstacks, increasing_stride, batch or None): None varies the batch with the size (partial tiles of
# every fill); 37 frames are full CPU tiles plus a partial one. From n = 1024 on (where the float64 reference is
# slow) a few frames: a partial tile.
CONFIGS = [(1, 1, True, 37), (1, 1, False, 37), (2, 2, False, None), (3, 1, False, None), (1, 2, True, None)]
# Rows shorter than n: (n, lengths). The lengths cover 1, n - 1, a single partial SIMD vector of values, whole
# vectors plus a partial one, and the Bluestein sizes of the front-end (400 of 1024, 200 of 512).
SHORT_ROWS = [(2, (1,)), (8, (1, 5, 7)), (64, (1, 17, 33, 63)), (512, (1, 200, 511)), (1024, (400, 1023))]
# An input permutation, applied while the CPU kernel loads its tiles: (n, lengths), None the whole row. Kaldi's
# 400-sample frame of a 512-point FFT is among them.
PERMUTED = [(2, (None, 1)), (8, (None, 3)), (64, (None, 17)), (512, (None, 400)), (1024, (None, 1000))]


def sample_inputs(device: str) -> list[Sample]:
    """The problems every device's op is checked on: n = 2 ... 4096 in every dtype and configuration, then
    several blocks and stacks at sizes with one and with two CPU cache-blocking phases, then rows of L < n."""
    samples = []
    for log_n in range(1, 13):
        n = 1 << log_n
        for dtype in DTYPES:
            for nblocks, nstacks, inc, batch in CONFIGS:
                batch = (batch or 1 + (log_n * 7 + nblocks * 3) % 37) if log_n < 10 else 2 + nblocks + nstacks
                samples.append(Sample(f"n{n}-{_short(dtype)}-b{nblocks}-s{nstacks}-{'inc' if inc else 'dec'}",
                                      nstacks, nblocks, n, dtype, batch, inc, log_n * 100 + nblocks * 10 + nstacks,
                                      device))
    for n in (16, 512):
        for dtype in (torch.float32, torch.complex64, torch.complex128):
            for nblocks in (1, 2, 3):
                for nstacks in (1, 2):
                    for inc in (True, False):
                        samples.append(Sample(f"stacks-n{n}-{_short(dtype)}-b{nblocks}-s{nstacks}-"
                                              f"{'inc' if inc else 'dec'}", nstacks, nblocks, n, dtype, 21, inc,
                                              n + nblocks, device))
    rows = [("short", n, length, False) for n, lengths in SHORT_ROWS for length in lengths]
    rows += [("perm", n, length, True) for n, lengths in PERMUTED for length in lengths]
    for kind, n, length, permuted in rows:
        for dtype in DTYPES:
            for nblocks, nstacks, inc in ((1, 1, True), (2, 2, False)):
                samples.append(Sample(f"{kind}-n{n}-L{length or n}-{_short(dtype)}-b{nblocks}-s{nstacks}-"
                                      f"{'inc' if inc else 'dec'}", nstacks, nblocks, n, dtype,
                                      37 if n < 1024 else 5, inc, n * (1 + 2 * permuted) + (length or 0) + nblocks,
                                      device, length, permuted))
    return samples


def _poison(device, *likes):
    """Free NaN-filled blocks of the sizes of `likes`, so the op's next allocations of those sizes reuse them."""
    blocks = [torch.full(t.shape, float("nan"), dtype=t.dtype, device=device) for t in likes]
    del blocks


def _compare(name, got, want, seed=""):
    """got against the float64 reference want: no unwritten (NaN) entries, both error measures within TOL."""
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    if want.numel() == 0:
        return
    assert not got.isnan().any(), f"{name}: {int(got.isnan().sum())} unwritten (NaN) elements {seed}"
    diff = (got.to(want.dtype) - want).abs()
    err_max = (diff.max() / want.abs().max().clamp_min(1e-300)).item()
    err_norm = (diff.norm() / want.norm().clamp_min(1e-300)).item()
    assert err_max <= TOL_MAX[got.dtype], f"{name}: max error {err_max:.3g} > {TOL_MAX[got.dtype]:.1g} {seed}"
    assert err_norm <= TOL_NORM[got.dtype], f"{name}: norm error {err_norm:.3g} > {TOL_NORM[got.dtype]:.1g} {seed}"


def _check_against_reference(twiddle, x, increasing_stride, seed=0, perm=None):
    """Forward and gradients (x and twiddle) of the compiled op through the public butterfly_multiply equal the
    float64 reference's on x zero-padded to n (then permuted by perm); x may be real with a complex twiddle, have
    rows of L <= n samples and any batch shape."""
    device, n = x.device, 2 * twiddle.shape[3]
    tw_c, x_c = twiddle.clone().requires_grad_(), x.clone().requires_grad_()
    tw_r = twiddle.to(WIDE[twiddle.dtype]).requires_grad_()
    x_r = x.to(WIDE[x.dtype]).requires_grad_()
    x_padded = nn.functional.pad(x_r, (0, n - x.shape[-1]))  # (..., nstacks, n): the padding made explicit
    if perm is not None:
        x_padded = x_padded[..., perm.cpu()].to(device)  # and the permutation
    out_like = torch.empty((*x.shape[:-1], n), dtype=twiddle.dtype)
    _poison(device, out_like)
    out_c = butterfly_multiply(tw_c, x_c, increasing_stride, perm)
    out_r = butterfly_multiply_reference(tw_r, x_padded.reshape(-1, *x_padded.shape[-2:]),
                                         increasing_stride).reshape(out_like.shape)
    assert out_c.dtype == twiddle.dtype and out_c.shape == out_like.shape
    _compare("output", out_c, out_r.detach())
    grad = torch.randn(out_like.shape, dtype=twiddle.dtype, generator=torch.Generator().manual_seed(seed + 1))
    _poison(device, twiddle, x)
    out_c.backward(grad.to(device))
    out_r.backward(grad.to(device, out_r.dtype))
    assert x_c.grad.dtype == x.dtype and x_c.grad.shape == x.shape
    _compare("grad x", x_c.grad, x_r.grad)
    _compare("grad twiddle", tw_c.grad, tw_r.grad)


SAMPLES = sample_inputs("cpu")  # names and shapes, for the parametrization
SAMPLE_NAMES = [s.name for s in SAMPLES]


def _interpreted(device) -> bool:
    """Whether ``device`` runs the Triton kernels through Triton's interpreter (slow: one program after another,
    each operation a NumPy call): its gradchecks use fast mode (finite differences along random directions rather
    than one per input entry), its largest sizes fewer cases and frames."""
    return getattr(device, "backend", "compiled") == "triton" and device == "cpu"


# Under the interpreter, n <= INTERPRETED_N in every case (every dtype, stride order, block and stack count, short
# row and permutation); above it (larger tiles, and from n = 512 the plans of several windows and backward chunks,
# the same code at every size) one case per size, two blocks of two stacks, the dtypes in turn.
INTERPRETED_N = 64
# Compiled for a GPU, each new size, dtype, row tile, block count or stride order is a compilation of the Triton
# kernels (seconds each): every case at n <= GPU_TRITON_N, above it one case per size and dtype (two blocks of two
# stacks), the short rows and permutations in complex64. About 150 compilations, shared out between the GPU run's
# test processes.
GPU_TRITON_N = 16


def _compiled_triton(device) -> bool:
    return getattr(device, "backend", "compiled") == "triton" and device == "cuda"


def _interpreter_runs(sample: Sample) -> bool:
    if sample.n <= INTERPRETED_N:
        return True
    log_n = sample.n.bit_length() - 1
    return (sample.name.startswith(f"n{sample.n}-") and sample.nblocks == 2 and sample.nstacks == 2
            and sample.dtype == DTYPES[(log_n + 1) % len(DTYPES)])


def _gpu_triton_runs(sample: Sample) -> bool:
    if sample.n <= GPU_TRITON_N:
        return True
    if sample.name.startswith(f"n{sample.n}-"):
        return sample.nblocks == 2 and sample.nstacks == 2
    return sample.name.startswith(("short", "perm")) and sample.nblocks == 2 and sample.dtype == torch.complex64


def _reduced_matrix(device, index) -> bool:
    """The cases Triton's matrices leave out (the interpreter's, compiled Triton's)."""
    return ((_interpreted(device) and not _interpreter_runs(SAMPLES[index]))
            or (_compiled_triton(device) and not _gpu_triton_runs(SAMPLES[index])))


@pytest.mark.left_out(rule=_reduced_matrix)
@pytest.mark.parametrize("index", range(len(SAMPLE_NAMES)), ids=SAMPLE_NAMES)
@pytest.mark.parametrize("device", DEVICES)
def test_matches_reference(device, index):
    sample = sample_inputs(device)[index]
    _check_against_reference(sample.twiddle, sample.x, sample.increasing_stride, sample.seed, sample.perm)


def _batch(device, n: int, batch: int = 37) -> int:
    """Frames of a test: fewer where the interpreter runs a large n."""
    return 3 if _interpreted(device) and n > 256 else batch


def _one_dtype_at_large_n(device, log_n: int, dtype, **_) -> bool:
    """The interpreter runs n > 256 in single precision only (double runs the same code)."""
    return _interpreted(device) and log_n > 8 and dtype in (torch.float64, torch.complex128)


REAL_INPUT = [(1, 1, 1, True), (3, 1, 2, False), (6, 2, 1, True), (9, 1, 1, False), (9, 2, 2, True),
              (9, 3, 1, False), (12, 1, 1, True)]
# (log_n, nblocks, nstacks, increasing_stride, L): real rows shorter than n (the front-end's frames).
REAL_SHORT_ROWS = [(1, 1, 1, True, 1), (3, 1, 2, False, 5), (5, 2, 1, True, 1), (6, 1, 1, False, 7),
                   (9, 2, 2, True, 200), (9, 1, 1, False, 511), (10, 2, 1, False, 400), (10, 1, 2, True, 1023)]


@pytest.mark.left_out(rule=_one_dtype_at_large_n)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=_short)
@pytest.mark.parametrize("log_n,nblocks,nstacks,increasing_stride", REAL_INPUT)
@pytest.mark.parametrize("device", DEVICES)
def test_real_input_matches_reference(device, log_n, nblocks, nstacks, increasing_stride, dtype):
    """A real x with a complex twiddle: a complex output and a real input gradient, as the reference (which
    promotes x to complex) gives them."""
    n, real = 1 << log_n, torch.empty(0, dtype=dtype).real.dtype
    x = _frames((_batch(device, n), nstacks, n), real, log_n, device)
    _check_against_reference(_twiddle(nstacks, nblocks, n, dtype, log_n, device), x, increasing_stride)


@pytest.mark.left_out(rule=_one_dtype_at_large_n)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=_short)
@pytest.mark.parametrize("log_n,nblocks,nstacks,increasing_stride,length", REAL_SHORT_ROWS)
@pytest.mark.parametrize("device", DEVICES)
def test_real_short_rows_match_reference(device, log_n, nblocks, nstacks, increasing_stride, length, dtype):
    """Real rows of L < n samples with a complex twiddle: the output of the rows zero-padded to n, a real
    gradient of x's shape."""
    n, real = 1 << log_n, torch.empty(0, dtype=dtype).real.dtype
    x = _frames((_batch(device, n), nstacks, length), real, log_n + length, device)
    _check_against_reference(_twiddle(nstacks, nblocks, n, dtype, log_n, device), x, increasing_stride)


# (log_n, nblocks, nstacks, increasing_stride, L): a permuted real input (a real frame into a complex tile, its
# values on the permuted rows and the imaginary rows zero).
REAL_PERMUTED = [(1, 1, 1, True, 2), (3, 2, 1, False, 5), (6, 1, 2, True, 64), (9, 1, 1, True, 400),
                 (9, 2, 1, False, 512), (10, 2, 2, True, 1000)]


@pytest.mark.left_out(rule=_one_dtype_at_large_n)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=_short)
@pytest.mark.parametrize("log_n,nblocks,nstacks,increasing_stride,length", REAL_PERMUTED)
@pytest.mark.parametrize("device", DEVICES)
def test_real_permuted_input_matches_reference(device, log_n, nblocks, nstacks, increasing_stride, length, dtype):
    n, real = 1 << log_n, torch.empty(0, dtype=dtype).real.dtype
    x = _frames((_batch(device, n), nstacks, length), real, log_n + length, device)
    _check_against_reference(_twiddle(nstacks, nblocks, n, dtype, log_n, device), x, increasing_stride,
                             perm=_perm(n, length, device))


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64], ids=_short)
@pytest.mark.parametrize("device", DEVICES)
def test_short_rows_of_overlapping_frames(device, dtype):
    """Short rows cut from a signal as overlapping strided frames (unfold: 200 samples every 80, of n = 512),
    real and complex, the way the front-end passes them."""
    signal = _frames((3, 1000 if _interpreted(device) else 4000), torch.empty(0, dtype=dtype).real.dtype, 5, device)
    frames = signal.unfold(-1, 200, 80).unsqueeze(-2)  # (3, 48, 1, 200) (11 frames interpreted), a strided view
    tw = _twiddle(1, 2, 512, dtype, 5, device)
    _check_against_reference(tw, frames, False)
    if dtype.is_complex:
        packed = torch.view_as_complex(signal.unfold(-1, 400, 80).unflatten(-1, (200, 2)))  # (3, 46, 200), strided
        _check_against_reference(tw, packed.unsqueeze(-2), True)


@pytest.mark.parametrize("device", DEVICES)
def test_three_cache_blocking_phases(device, monkeypatch):
    """n = 2^15: on the CPU every block splits into three cache-blocking phases, on CUDA the forward into several
    launches and the backward into several chunks with a workspace (both implementations). The reference's backward
    is too slow there, so gradients are checked through identities that only need forward passes. Two blocks: both
    orders. Triton's interpreter takes the same plans at n = 2^7, with windows of 2^4 elements."""
    n, dtype, increasing_stride = 1 << 15, torch.complex128, False
    if _interpreted(device):
        n = 1 << 7
        for knob in ("KFRONT_TRITON_WINDOW_LOG2", "KFRONT_TRITON_BW_WINDOW_LOG2"):
            monkeypatch.setenv(knob, "4")
    tw = _twiddle(1, 2, n, dtype, 15, device)
    x, v, g = (_frames((3, 1, n), dtype, seed, device) for seed in (15, 16, 17))
    _compare("output", butterfly_multiply(tw, x, increasing_stride),
             butterfly_multiply_reference(tw, x, increasing_stride))
    d_tw, d_x = ops(device).butterfly_multiply_backward(g, tw, x, increasing_stride)

    def loss(t, inp):  # L = Re <g, f(t, inp)>; PyTorch's gradients satisfy dL = Re <grad, d input>
        return torch.vdot(g.flatten(), butterfly_multiply(t, inp, increasing_stride).flatten()).real.item()

    # Linear in x: Re <d_x, v> = L(tw, v) exactly.
    assert torch.vdot(d_x.flatten(), v.flatten()).real.item() == pytest.approx(loss(tw, v), rel=1e-9)
    # Multilinear in the twiddles: a central difference along a random direction.
    delta, eps = _twiddle(1, 2, n, dtype, 16, device), 1e-6
    slope = (loss(tw + eps * delta, x) - loss(tw - eps * delta, x)) / (2 * eps)
    assert torch.vdot(d_tw.flatten(), delta.flatten()).real.item() == pytest.approx(slope, rel=1e-6)


@pytest.mark.parametrize("batch_shape", [(0,), (2, 0, 3), (), (2, 3)], ids=str)
@pytest.mark.parametrize("device", DEVICES)
def test_batch_shapes(device, batch_shape):
    x = _frames((*batch_shape, 2, 32), torch.complex64, 0, device)
    _check_against_reference(_twiddle(2, 2, 32, torch.complex64, device=device), x, True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64], ids=_short)
@pytest.mark.parametrize("device", DEVICES)
def test_empty_batch(device, dtype):
    """No frames: an empty output and d_x, a zero twiddle gradient (every entry written)."""
    tw = _twiddle(2, 2, 64, dtype, device=device).requires_grad_()
    x = torch.zeros(0, 2, 64, dtype=dtype, device=device, requires_grad=True)
    out = butterfly_multiply(tw, x)
    out.abs().sum().backward()
    assert out.shape == (0, 2, 64) and x.grad.shape == x.shape and torch.equal(tw.grad, torch.zeros_like(tw))
    _poison(device, tw)
    d_tw, d_x = ops(device).butterfly_multiply_backward(torch.zeros_like(x), tw.detach(), x.detach(), True)
    assert torch.equal(d_tw, torch.zeros_like(tw)) and d_x.shape == x.shape


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64], ids=_short)
@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs(device, dtype):
    base = _frames((40, 2, 128), dtype, 0, device)
    x = base[::2, :, ::2]  # (20, 2, 64), strided in batch and in n
    tw = _twiddle(2, 2, 64, dtype, device=device).transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous
    assert not x.is_contiguous() and not tw.is_contiguous()
    _check_against_reference(tw, x, True)
    expanded = _frames((7, 1, 64), dtype, 1, device).expand(7, 2, 64)  # stride 0 across stacks, as in Butterfly
    _check_against_reference(_twiddle(2, 1, 64, dtype, device=device), expanded, False)


@pytest.mark.parametrize("device", DEVICES)
def test_views_off_the_vector_alignment(device):
    """A twiddle view 8 bytes off a 16-byte boundary, and frames one element off it (x and the gradient)."""
    tw = _twiddle(1, 2, 128, torch.complex64, 7, device)
    storage = torch.empty(tw.numel() + 1, dtype=tw.dtype, device=device)
    tw_view = storage[1:].view(tw.shape).copy_(tw)  # complex64: 8 bytes past the allocation start
    x_storage = torch.empty(6 * 128 + 1, dtype=tw.dtype, device=device)
    x_view = x_storage[1:].view(6, 1, 128).copy_(_frames((6, 1, 128), tw.dtype, 7, device))
    assert tw_view.data_ptr() % 16 == 8 and x_view.data_ptr() % 16 == 8
    _check_against_reference(tw_view, x_view, True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=_short)
@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, dtype):
    tw = _twiddle(2, 2, 4, dtype, device=device).requires_grad_()  # every twiddle entry of two stacks, two blocks
    x = _frames((3, 2, 4), dtype, 0, device).requires_grad_()
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, False), (tw, x),
                                    fast_mode=_interpreted(device))
    tw = _twiddle(1, 1, 64, dtype, device=device).requires_grad_()  # a size with several tile layouts, fast mode
    x = _frames((3, 1, 64), dtype, 1, device).requires_grad_()
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, True), (tw, x), fast_mode=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64], ids=_short)
@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device, dtype):
    tw = _twiddle(2, 2, 16, dtype, device=device).requires_grad_()
    x = _frames((5, 2, 16), dtype, 0, device).requires_grad_()
    torch.library.opcheck(ops(device).butterfly_multiply.default, (tw, x, True))
    grad = _frames((5, 2, 16), dtype, 1, device)
    torch.library.opcheck(ops(device).butterfly_multiply_backward.default, (grad, tw.detach(), x.detach(), False))
    torch.library.opcheck(ops(device).butterfly_multiply_backward.default,
                          (grad, tw.detach(), x.detach(), False, False))


def _opcheck_forward_and_backward(namespace, tw, x, grad, forward_stride: bool, backward_stride: bool) -> None:
    """opcheck of the forward op, and of the backward op with and without the input's gradient."""
    torch.library.opcheck(namespace.butterfly_multiply.default, (tw, x, forward_stride))
    for input_grad in (True, False):
        torch.library.opcheck(namespace.butterfly_multiply_backward.default,
                              (grad, tw.detach(), x.detach(), backward_stride, input_grad))


@pytest.mark.parametrize("device", DEVICES)
def test_real_input_gradcheck_and_opcheck(device):
    tw = _twiddle(2, 2, 8, torch.complex128, device=device).requires_grad_()
    x = _frames((3, 2, 8), torch.float64, 0, device).requires_grad_()
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, True), (tw, x),
                                    fast_mode=_interpreted(device))
    tw = _twiddle(2, 2, 16, torch.complex64, device=device).requires_grad_()
    x = _frames((5, 2, 16), torch.float32, 1, device).requires_grad_()
    _opcheck_forward_and_backward(ops(device), tw, x, _frames((5, 2, 16), torch.complex64, 2, device), False, True)


@pytest.mark.parametrize("device", DEVICES)
def test_short_rows_gradcheck_and_opcheck(device):
    """Rows of L < n samples: gradcheck against finite differences (the gradient for x has x's shape), and
    opcheck of the forward and backward ops (the fake kernels give the (batch, nstacks, n) output)."""
    for dtype, x_dtype in ((torch.float64, torch.float64), (torch.complex128, torch.complex128),
                           (torch.complex128, torch.float64)):
        tw = _twiddle(2, 2, 8, dtype, device=device).requires_grad_()
        x = _frames((3, 2, 5), x_dtype, 0, device).requires_grad_()
        assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, False), (tw, x),
                                        fast_mode=_interpreted(device))
    for dtype, x_dtype in ((torch.float32, torch.float32), (torch.complex64, torch.complex64),
                           (torch.complex64, torch.float32)):
        tw = _twiddle(2, 2, 16, dtype, device=device).requires_grad_()
        x = _frames((5, 2, 11), x_dtype, 1, device).requires_grad_()
        _opcheck_forward_and_backward(ops(device), tw, x, _frames((5, 2, 16), dtype, 2, device), True, False)


@pytest.mark.parametrize("device", DEVICES)
def test_permuted_input_gradcheck_and_opcheck(device):
    """An input permutation: gradcheck (the gradient for x in x's order), opcheck of both ops with perm."""
    for dtype, x_dtype, length in ((torch.float64, torch.float64, 8), (torch.complex128, torch.float64, 5),
                                   (torch.complex128, torch.complex128, 6)):
        tw = _twiddle(2, 2, 8, dtype, device=device).requires_grad_()
        x = _frames((3, 2, length), x_dtype, 0, device).requires_grad_()
        perm = _perm(8, length, device)
        assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply(t, v, False, perm), (tw, x),
                                        fast_mode=_interpreted(device))
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = _frames((5, 1, 11), torch.float32, 1, device).requires_grad_()
    grad, perm = _frames((5, 1, 16), torch.complex64, 2, device), _perm(16, 3, device)
    torch.library.opcheck(ops(device).butterfly_multiply.default, (tw, x, True, perm))
    for input_grad in (True, False):
        torch.library.opcheck(ops(device).butterfly_multiply_backward.default,
                              (grad, tw.detach(), x.detach(), True, input_grad, perm))


@pytest.mark.parametrize("device", DEVICES)
def test_bad_permutations_raise_value_errors_naming_them(device):
    """perm must be an (n,) int64 permutation on x's device: the public function, the op on every device and the
    reference backend say so, naming the value."""
    tw, x = _twiddle(1, 1, 8, torch.complex64, device=device), _frames((3, 1, 8), torch.complex64, 0, device)
    op = ops(device).butterfly_multiply
    with pytest.raises(ValueError, match=r"perm must be a \(8,\) int64 tensor .* got \(4,\) torch.int64"):
        butterfly_multiply(tw, x, True, torch.arange(4, device=device))
    with pytest.raises(ValueError, match=r"perm must be a \(8,\) int64 tensor .* got \(8,\) torch.int32"):
        butterfly_multiply(tw, x, True, torch.arange(8, dtype=torch.int32, device=device))
    with pytest.raises(ValueError, match=r"perm must be a \(n,\) = \(8,\) int64 tensor, got \[8\] Int"):
        op(tw, x, True, torch.arange(8, dtype=torch.int32, device=device))
    repeated = torch.tensor([0, 1, 2, 3, 4, 5, 6, 6], device=device)
    out_of_range = torch.tensor([0, 1, 2, 3, 4, 5, 6, 8], device=device)
    for bad in (repeated, out_of_range):
        with pytest.raises(ValueError, match=r"perm must be a permutation of 0 \.\. 7"):
            op(tw, x, True, bad)
        with pytest.raises(ValueError, match=r"perm must be a permutation of 0 \.\. 7"):
            butterfly_multiply_reference_backend(tw, x, bad)
    # every implementation names the first bad entry, on every device
    with pytest.raises(ValueError, match=r"perm\[7\] = 6 is repeated"):
        op(tw, x, True, repeated)
    with pytest.raises(ValueError, match=r"perm\[7\] = 8 is out of range"):
        op(tw, x, True, out_of_range)


def butterfly_multiply_reference_backend(tw, x, perm):
    """butterfly_multiply with the compiled op unavailable (the reference backend)."""
    from unittest import mock

    with mock.patch.object(_backend, "compiled_op", lambda op, device_type, dtype: None):
        return butterfly_multiply(tw, x, True, perm)


@pytest.mark.parametrize("device", DEVICES)
def test_double_backward_says_it_is_unsupported(device):
    tw = _twiddle(1, 1, 8, torch.float64, device=device).requires_grad_()
    x = _frames((4, 1, 8), torch.float64, 0, device).requires_grad_()
    (gx,) = torch.autograd.grad(butterfly_multiply(tw, x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        gx.sum().backward()


@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile(device):
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = _frames((6, 1, 16), torch.complex64, 0, device)

    def power(t, v):
        return butterfly_multiply(t, v, True).abs().square().sum()

    compiled_fn = torch.compile(power, backend="aot_eager", fullgraph=True)
    (g_compiled,) = torch.autograd.grad(compiled_fn(tw, x), tw)
    (g_eager,) = torch.autograd.grad(power(tw, x), tw)
    torch.testing.assert_close(g_compiled, g_eager, rtol=2e-5, atol=2e-5 * g_eager.abs().max().item())


@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile_short_rows(device):
    """Rows of L < n under torch.compile: the graph's shapes come from the fake kernel ((batch, nstacks, n) out,
    x's shape for its gradient), and values and gradients equal eager ones."""
    tw = _twiddle(1, 2, 16, torch.complex64, device=device).requires_grad_()
    x = _frames((6, 1, 11), torch.float32, 0, device).requires_grad_()

    def power(t, v):
        y = butterfly_multiply(t, v, False)  # (6, 1, 16)
        return (y.abs().square() * torch.arange(16, device=v.device)).sum()

    compiled_fn = torch.compile(power, backend="aot_eager", fullgraph=True)
    g_compiled = torch.autograd.grad(compiled_fn(tw, x), (tw, x))
    g_eager = torch.autograd.grad(power(tw, x), (tw, x))
    assert g_compiled[1].shape == x.shape
    for got, want in zip(g_compiled, g_eager):
        torch.testing.assert_close(got, want, rtol=2e-5, atol=2e-5 * want.abs().max().item())


def _value_error(fn) -> str:
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value).splitlines()[0]


@pytest.mark.parametrize("device", DEVICES)
def test_bad_arguments_raise_the_same_value_error_on_every_device(device):
    """One argument check for every backend: the op's ValueError on this device is the CPU's, word for word (the
    Triton op's checks are a port of the C++ header's)."""

    def cases(dev, namespace):
        op, op_bw = namespace.butterfly_multiply, namespace.butterfly_multiply_backward
        tw = _twiddle(1, 1, 8, torch.float32, device=dev)
        return [
            lambda: op(tw, torch.randn(3, 1, 16, device=dev), True),  # wrong n
            lambda: op(tw, torch.randn(3, 1, 8, dtype=torch.float64, device=dev), True),  # wrong dtype
            lambda: op(_twiddle(1, 1, 8, torch.complex128, device=dev), torch.randn(3, 1, 8, device=dev), True),
            lambda: op(tw.to(torch.bfloat16), torch.randn(3, 1, 8, device=dev).to(torch.bfloat16), True),
            lambda: op(tw[..., :1], torch.randn(3, 1, 8, device=dev), True),  # not (..., 2, 2)
            lambda: op_bw(torch.randn(3, 1, 4, device=dev), tw, torch.randn(3, 1, 8, device=dev), True),
            lambda: op(tw, torch.randn(3, 1, 0, device=dev), True),  # rows of L = 0 samples
            lambda: op(tw, torch.randn(3, 1, 9, device=dev), True),  # L = n + 1
            # rows of L < n: grad has the output's shape (batch, nstacks, n), not x's
            lambda: op_bw(torch.randn(3, 1, 5, device=dev), tw, torch.randn(3, 1, 5, device=dev), True),
        ]

    messages = [_value_error(fn) for fn in cases(device, ops(device))]
    assert "(batch, nstacks, n)" in messages[0] and "dtype" in messages[1] and "real counterpart" in messages[2]
    assert "float32, float64, complex64 and complex128" in messages[3] and "grad must have the shape" in messages[5]
    assert "(L = 0)" in messages[6] and "(L = 9)" in messages[7] and "1 <= L < n" in messages[6]
    assert "grad must have the shape of the output (batch, nstacks, n) = (3, 1, 8), got [3, 1, 5]" in messages[8]
    if _backend.ensure_loaded("cpu"):
        assert messages == [_value_error(fn) for fn in cases("cpu", torch.ops.kfront)]


@pytest.mark.parametrize("length", [0, 17])
def test_bad_row_length_raises_value_error_naming_it(length):
    """The public function checks L before any backend runs: 1 <= L <= n, named in the message."""
    match = rf"n=16\), or rows of 1 <= L < n samples, zero-padded to n \(L = {length}\)"
    with pytest.raises(ValueError, match=match):
        butterfly_multiply(_twiddle(1, 1, 16, torch.complex64), torch.randn(3, 1, length))


@pytest.mark.parametrize("device", DEVICES)
def test_real_input_needs_a_complex_twiddle_of_its_precision(device):
    with pytest.raises(ValueError, match="real counterpart"):
        butterfly_multiply(_twiddle(1, 1, 8, torch.complex128, device=device), torch.randn(3, 1, 8, device=device))
    with pytest.raises(ValueError, match="complex twiddle"):
        butterfly_multiply(_twiddle(1, 1, 8, torch.float32, device=device),
                           torch.randn(3, 1, 8, dtype=torch.complex64, device=device))


@pytest.mark.left_out(rule=lambda device, n, **_: _interpreted(device) and n > 256)  # as the matrix
@pytest.mark.parametrize("dtype", DTYPES, ids=_short)
@pytest.mark.parametrize("n,nblocks,increasing_stride", [(2, 1, True), (64, 2, False), (512, 1, False),
                                                         (512, 2, True), (512, 3, False)])
@pytest.mark.parametrize("device", DEVICES)
def test_twiddle_gradient_without_input_gradient(device, n, nblocks, increasing_stride, dtype):
    """With input_grad=False the backward returns the same twiddle gradient (bit for bit where it is summed in a
    fixed order) and an empty d_x; autograd asks for it when x needs no gradient."""
    tw = _twiddle(2, nblocks, n, dtype, n, device)
    x, g = (_frames((_batch(device, n), 2, n), dtype, n + k, device) for k in (1, 2))
    d_tw, d_x = ops(device).butterfly_multiply_backward(g, tw, x, increasing_stride, True)
    d_tw_only, no_d_x = ops(device).butterfly_multiply_backward(g, tw, x, increasing_stride, False)
    assert no_d_x.shape == (0,) and d_x.shape == x.shape
    if deterministic(device):
        assert torch.equal(d_tw_only, d_tw)
    else:
        assert ((d_tw_only - d_tw).norm() / d_tw.norm()).item() < 1e-6
    tw_c = tw.clone().requires_grad_()
    tw_r = tw.to(WIDE[dtype]).requires_grad_()
    butterfly_multiply(tw_c, x, increasing_stride).backward(g)
    butterfly_multiply_reference(tw_r, x.to(WIDE[dtype]), increasing_stride).backward(g.to(WIDE[dtype]))
    _compare("grad twiddle", tw_c.grad, tw_r.grad)


@pytest.mark.parametrize("device", DEVICES)
def test_zero_blocks_is_the_identity(device):
    tw = _twiddle(2, 1, 16, torch.complex64, device=device)[:, :0]  # (2, 0, 4, 8, 2, 2)
    x = _frames((5, 2, 16), torch.float32, 0, device)
    out = ops(device).butterfly_multiply(tw, x, True)
    assert out.dtype == torch.complex64 and torch.equal(out.real, x) and not out.imag.any()
    g = _frames((5, 2, 16), torch.complex64, 1, device)
    d_tw, d_x = ops(device).butterfly_multiply_backward(g, tw, x, True)
    assert d_tw.shape == tw.shape and torch.equal(d_x, g.real)


def test_the_samples_cover_the_promised_range():
    """sample_inputs holds n = 2 ... 4096 in every dtype and both stride orders, several blocks and stacks."""
    samples = sample_inputs("cpu")
    seen = {(s.n, s.dtype, s.increasing_stride) for s in samples}
    assert seen == {(1 << k, d, i) for k in range(1, 13) for d in DTYPES for i in (True, False)}
    assert any(s.nblocks == 3 for s in samples) and any(s.nstacks == 2 for s in samples)
    assert len({s.name for s in samples}) == len(samples)
    assert math.gcd(*{s.batch for s in samples}) == 1  # batches that are no multiple of a tile width
    short = [s for s in samples if s.length is not None]
    assert {s.length for s in short} >= {1} and any(s.length == s.n - 1 for s in short)
    assert {s.dtype for s in short} == set(DTYPES) and any(s.nstacks > 1 for s in short)
    assert all(1 <= s.length < s.n and s.x.shape == (s.batch, s.nstacks, s.length) for s in short)
    permuted = [s for s in samples if s.permuted]
    assert {s.dtype for s in permuted} == set(DTYPES) and {s.length is None for s in permuted} == {True, False}
    assert all(sorted(s.perm.tolist()) == list(range(s.n)) for s in permuted)
    s = samples[0]
    assert s.twiddle.shape == (s.nstacks, s.nblocks, 1, 1, 2, 2) and s.x.shape == (s.batch, s.nstacks, 2)
