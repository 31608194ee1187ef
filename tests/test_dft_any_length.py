"""The DFT of any length N as a K-matrix (Bluestein's chirp-z identity) against torch.fft, on both backends."""

import pytest
import torch
from torch import nn

from kfront.core import (Butterfly, KMatrix, backend, bluestein_size, bluestein_twiddle, butterfly_multiply,
                         check_dft_size, dft_construction, fft_twiddle, is_power_of_2, next_power_of_2)

LENGTHS = [1, 2, 3, 5, 7, 12, 100, 257, 400, 441, 1000, 2047, 2048, 4095]
# complex64: u = 2^-24 ~ 6e-8 per rounding; a Bluestein DFT is 2 log2 M <= 26 butterfly layers plus three folded
# diagonals, and on random data the errors add in quadrature: ~3e-7 measured at N = 4095. 2e-6 leaves a margin of
# 6 and still fails a chirp computed in float32 (1e-4 at N = 441, 1e-3 at N = 4095).
TOL32 = 2e-6
# complex128: ~1e-15 measured. 1e-13 also fails chirp angles taken in float64 without reducing m^2 mod 2N first
# (2e-13 at N = 441, 2e-12 at N = 4095).
TOL64 = 1e-13


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(params=["compiled", "reference"])
def backend_name(request, monkeypatch):
    """Runs a test on the compiled op and, with ``KFRONT_BACKEND=reference``, on the pure-PyTorch reference."""
    if request.param == "reference":
        monkeypatch.setenv("KFRONT_BACKEND", "reference")
    elif backend("cpu") != "compiled":
        pytest.skip("the compiled op is unavailable here")
    assert backend("cpu") == request.param
    return request.param


@pytest.mark.parametrize("n", LENGTHS)
def test_kmatrix_dft_equals_torch_fft(n, backend_name):
    g = torch.Generator().manual_seed(n)
    x = torch.randn(7, n, dtype=torch.complex128, generator=g)
    for init, ref in (("fft", torch.fft.fft), ("ifft", torch.fft.ifft)):
        k64 = KMatrix(n, n, init=init, dtype=torch.float64)
        assert rel_err(k64(x), ref(x)) < TOL64, init
        k32 = KMatrix(n, n, init=init)
        assert rel_err(k32(x.to(torch.complex64)), ref(x.to(torch.complex64))) < TOL32, init
    assert k64.construction == dft_construction(n) == ("cooley-tukey" if n >= 2 and is_power_of_2(n) else "bluestein")


@pytest.mark.parametrize("n", [5, 400, 441])
def test_normalized_and_round_trip(n):
    x = torch.randn(5, n, dtype=torch.complex128)
    fwd = KMatrix(n, n, normalized=True, dtype=torch.float64)
    inv = KMatrix(n, n, init="ifft", normalized=True, dtype=torch.float64)
    assert rel_err(fwd(x), torch.fft.fft(x, norm="ortho")) < TOL64
    assert rel_err(inv(x), torch.fft.ifft(x, norm="ortho")) < TOL64
    assert rel_err(inv(fwd(x)), x) < TOL64


@pytest.mark.parametrize("n", [3, 257, 400, 441])
def test_real_frames_give_rfft_bins(n, backend_name):
    """The front-end's shape: real frames of N samples into complex twiddles, the N // 2 + 1 bins out."""
    frames = torch.randn(2, 3, n, dtype=torch.float64)
    k = KMatrix(n, n // 2 + 1, dtype=torch.float64)
    assert rel_err(k(frames), torch.fft.rfft(frames)) < TOL64
    k32 = KMatrix(n, n // 2 + 1)
    assert rel_err(k32(frames.float()), torch.fft.rfft(frames.float())) < TOL32


def test_packed_size_and_shorter_input():
    """in_size = out_size = N / 2 (a packed real frame), and an input shorter than the DFT (zero-padded to N)."""
    z = torch.randn(4, 200, dtype=torch.complex128)
    assert rel_err(KMatrix(200, 200, dtype=torch.float64)(z), torch.fft.fft(z)) < TOL64
    x = torch.randn(4, 300, dtype=torch.complex128)
    k = KMatrix(300, 1000, dtype=torch.float64)  # N = max(in_size, out_size) = 1000
    assert k.dft_size == 1000 and rel_err(k(x), torch.fft.fft(x, n=1000)) < TOL64


@pytest.mark.parametrize("n", [3, 400, 2047])
def test_bluestein_twiddle_is_the_dft_through_the_op(n, backend_name):
    """The functional form: one B B* (decreasing strides first), the input zero-padded to M, no permutation."""
    big = bluestein_size(n)
    assert big == next_power_of_2(2 * n - 1) and big >= 2 * n - 1
    tw = bluestein_twiddle(n, dtype=torch.complex128)
    assert tw.shape == (2, big.bit_length() - 1, big // 2, 2, 2)
    x = torch.randn(6, n, dtype=torch.complex128)
    y = butterfly_multiply(tw[None], nn.functional.pad(x, (0, big - n))[:, None], False)[:, 0, :n]  # (6, n)
    assert rel_err(y, torch.fft.fft(x)) < TOL64


@pytest.mark.parametrize("width,expansion", [(1, 1), (2, 1), (1, 2), (3, 4)])
def test_bluestein_kmatrix_layout(width, expansion):
    n = 400
    k = KMatrix(n, n // 2 + 1, width=width, expansion=expansion, dtype=torch.float64)
    m = bluestein_size(n)
    assert (k.size, k.nstacks, k.increasing_stride) == (expansion * m, 1, False)
    assert k.perm is None and k.permutation_at is None and k.permutation == "none"
    frames = torch.randn(3, n, dtype=torch.float64)
    assert rel_err(k(frames), torch.fft.rfft(frames)) < TOL64
    # the first B B* holds the DFT; every further factor is the identity
    eye = torch.eye(2, dtype=k.twiddle.dtype)
    at_identity = [b for b in range(2 * width) if torch.equal(k.twiddle[0, b], eye.expand_as(k.twiddle[0, b]))]
    assert at_identity == list(range(2, 2 * width))
    log_en = (expansion * m).bit_length() - 1
    assert sum(p.numel() for p in k.parameters()) == 4 * width * expansion * m * log_en  # kmatrix.md's count


def test_powers_of_2_keep_cooley_tukey():
    k = KMatrix(512, 257, dtype=torch.float64)
    assert (k.construction, k.size, k.permutation_at, k.dft_size) == ("cooley-tukey", 512, "input", 512)
    assert torch.equal(k.twiddle[0, 1], fft_twiddle(512, dtype=torch.complex128))
    assert torch.equal(k.perm, torch.tensor([int(f"{i:09b}"[::-1], 2) for i in range(512)]))
    dif = Butterfly(64, 64, complex=True, init="fft", increasing_stride=False)
    assert dif.permutation_at == "output" and dif.construction == "cooley-tukey"
    assert Butterfly(64, 64, init="randn").permutation_at is None


def test_zero_padded_dft_is_still_reachable():
    """``dft_size=512`` keeps the DFT of the frame zero-padded to 512, the meaning of ``init="fft"`` at a
    non-power-of-2 size before the exact construction."""
    x = torch.randn(6, 400, dtype=torch.float64)
    k = KMatrix(400, 201, dft_size=512, dtype=torch.float64)
    assert k.size == 512 and rel_err(k(x), torch.fft.rfft(x, n=512)[..., :201]) < TOL64
    exact = KMatrix(400, 201, dtype=torch.float64)
    assert rel_err(exact(x), torch.fft.rfft(x)) < TOL64


@pytest.mark.parametrize("nblocks,increasing_stride", [(2, False), (3, True), (4, False)])
def test_butterfly_dft_any_length(nblocks, increasing_stride):
    b = Butterfly(441, 221, complex=True, init="fft", dft_size=441, nblocks=nblocks,
                  increasing_stride=increasing_stride, dtype=torch.float64)
    x = torch.randn(4, 441, dtype=torch.float64)
    assert b.construction == "bluestein" and b.size == 1024 and b.perm is None
    assert rel_err(b(x), torch.fft.rfft(x)) < TOL64
    # without dft_size a Butterfly keeps its meaning: the DFT of the input zero-padded to its power-of-2 size
    b512 = Butterfly(441, 221, complex=True, init="fft", dtype=torch.float64)
    assert b512.dft_size == 512 and rel_err(b512(x), torch.fft.rfft(x, n=512)[..., :221]) < TOL64


def test_extra_repr_names_the_construction():
    assert "dft_size=400, construction='bluestein'" in repr(KMatrix(400, 201))
    assert "size=1024" in repr(KMatrix(400, 201))
    assert "dft_size=512, construction='cooley-tukey'" in repr(KMatrix(512, 257))
    assert "construction='bluestein'" in repr(Butterfly(12, 12, complex=True, init="ifft", dft_size=12, nblocks=3))
    assert "construction" not in repr(KMatrix(400, 201, init="randn"))


@pytest.mark.parametrize("n,dtype", [(400, torch.complex64), (441, torch.complex128)])
def test_twiddle_gradients_match_the_reference(n, dtype, monkeypatch):
    """Gradients of a loss through the Bluestein K-matrix, compiled op against the reference op."""
    if backend("cpu") != "compiled":
        pytest.skip("the compiled op is unavailable here")
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    k = KMatrix(n, n // 2 + 1, width=2, dtype=real)
    with torch.no_grad():  # away from the init, where many twiddles are exactly 1 or 0
        k.twiddle.add_(0.05 * torch.randn_like(k.twiddle))
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(5, n, dtype=real, generator=g)
    weight = torch.randn(5, n // 2 + 1, dtype=dtype, generator=g)

    def grads():
        x = frames.clone().requires_grad_()
        k.zero_grad()
        (k(x) * weight).real.sum().backward()
        return k.twiddle.grad.clone(), x.grad
    compiled = grads()
    monkeypatch.setenv("KFRONT_BACKEND", "reference")
    reference = grads()
    tol = 1e-5 if dtype == torch.complex64 else 1e-12
    for c, r in zip(compiled, reference):
        assert rel_err(c, r) < tol


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("real_input", [False, True])
def test_gradcheck_small_odd_length(n, real_input, backend_name):
    k = KMatrix(n, n, dtype=torch.float64)
    tw = k.twiddle.detach().clone().requires_grad_()
    x = torch.randn(2, n, dtype=torch.float64 if real_input else torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, v: torch.func.functional_call(k, {"twiddle": t}, (v,)), (tw, x))


@pytest.mark.parametrize("bad,match", [
    (lambda: KMatrix(0, 0), "in_size=0"),
    (lambda: KMatrix(4, 4, dft_size=0), "got 0"),
    (lambda: check_dft_size(0), "got 0"),
    (lambda: check_dft_size(400.0), "400.0"),
    (lambda: bluestein_twiddle(-3), "got -3"),
    (lambda: bluestein_twiddle(5, dtype=torch.float32), "float32"),
    (lambda: KMatrix(3_000_000, 1), "3000000"),  # Bluestein would need a butterfly of 2^23
    (lambda: KMatrix(1 << 23, 1 << 23), str(1 << 23)),  # a power of 2 past the supported size
    (lambda: KMatrix(400, 201, dft_size=300), "300"),
    (lambda: KMatrix(400, 201, dft_size=200), "200"),
    (lambda: KMatrix(100, 300, dft_size=256), "256"),
    (lambda: KMatrix(400, 201, init="randn", dft_size=400), "dft_size=400"),
    (lambda: Butterfly(400, 400, complex=True, init="fft", dft_size=400), "nblocks=1"),
    (lambda: Butterfly(400, 400, complex=True, init="fft", dft_size=400, nblocks=2), "increasing_stride=True"),
    (lambda: Butterfly(300, 500, complex=True, init="fft", dft_size=400, nblocks=3), "out_size=500"),
    (lambda: KMatrix(400, 201, permutation="bitrev"), "bitrev"),
    (lambda: KMatrix(1 << 15, 4, init="identity").to_dense(), str(1 << 15)),
])
def test_bad_input_raises_value_error_naming_it(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_learns_a_non_power_of_2_dft_from_random_init():
    """A K-matrix of Bluestein's size for N = 12 (M = 32: one B B*, no permutation) recovers the length-12 DFT."""
    n, steps = 12, 2000
    g = torch.Generator().manual_seed(0)
    k = KMatrix(n, n, init="randn", expansion=2, dtype=torch.float64)
    assert k.size == bluestein_size(n)
    k.reset_parameters(generator=g)
    start = k.twiddle.detach().clone()
    x = torch.randn(4 * n, n, dtype=torch.complex128, generator=g)
    y = torch.fft.fft(x)
    opt = torch.optim.Adam(k.parameters(), lr=0.02)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = (k(x) - y).abs().pow(2).sum() / y.abs().pow(2).sum()
        loss.backward()
        opt.step()
        sched.step()
    held_out = torch.randn(100, n, dtype=torch.complex128, generator=g)
    with torch.no_grad():
        err = ((k(held_out) - torch.fft.fft(held_out)).norm() / torch.fft.fft(held_out).norm()).item()
    assert err < 1e-4
    assert not torch.allclose(k.twiddle.detach(), start)
