"""The butterfly / K-matrix core: exact DFT initialisations, module shapes, reference gradients, learning."""
import math

import pytest
import torch

from kfront.core import (Butterfly, KMatrix, bitreversal_permutation, butterfly_multiply,
                         butterfly_multiply_reference, fft_twiddle, invert_permutation, ortho_twiddle)

SIZES = [1 << k for k in range(1, 13)]  # 2 ... 4096


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def test_bitreversal_permutation():
    assert bitreversal_permutation(8).tolist() == [0, 4, 2, 6, 1, 5, 3, 7]
    p = bitreversal_permutation(1024)
    assert torch.equal(p[p], torch.arange(1024))  # an involution
    assert torch.equal(invert_permutation(p), p)
    with pytest.raises(ValueError, match="12"):
        bitreversal_permutation(12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("increasing_stride", [True, False])
def test_fft_init_equals_torch_fft(n, increasing_stride):
    x32 = torch.randn(7, n, dtype=torch.complex64)
    b32 = Butterfly(n, n, complex=True, init="fft", increasing_stride=increasing_stride)
    # float32 rounding: log2 n layers, each adding ~eps relative to the running magnitude
    assert rel_err(b32(x32), torch.fft.fft(x32)) < 5e-7 * math.log2(n) + 1e-7
    x64 = x32.to(torch.complex128)
    b64 = Butterfly(n, n, complex=True, init="fft", increasing_stride=increasing_stride, dtype=torch.float64)
    assert rel_err(b64(x64), torch.fft.fft(x64)) < 1e-12


@pytest.mark.parametrize("n", [2, 16, 512, 4096])
@pytest.mark.parametrize("normalized", [False, True])
def test_ifft_init_and_round_trip(n, normalized):
    x = torch.randn(5, n, dtype=torch.complex128)
    norm = "ortho" if normalized else "backward"
    fwd = Butterfly(n, n, complex=True, init="fft", normalized=normalized, dtype=torch.float64)
    inv = Butterfly(n, n, complex=True, init="ifft", normalized=normalized, dtype=torch.float64)
    assert rel_err(fwd(x), torch.fft.fft(x, norm=norm)) < 1e-12
    assert rel_err(inv(x), torch.fft.ifft(x, norm=norm)) < 1e-12
    assert rel_err(inv(fwd(x)), x) < 1e-12


def test_fft_twiddle_needs_complex_and_power_of_2():
    with pytest.raises(ValueError, match="float32"):
        fft_twiddle(8, dtype=torch.float32)
    with pytest.raises(ValueError, match="6"):
        fft_twiddle(6)
    with pytest.raises(ValueError, match="complex=True"):
        Butterfly(8, 8, complex=False, init="fft")


@pytest.mark.parametrize("width,expansion", [(1, 1), (2, 1), (3, 1), (1, 2), (2, 4)])
def test_kmatrix_fft_init_is_the_dft(width, expansion):
    k = KMatrix(512, 257, width=width, expansion=expansion, dtype=torch.float64)
    assert k.twiddle.shape == (1, 2 * width, (512 * expansion).bit_length() - 1, 256 * expansion, 2, 2)
    frames = torch.randn(3, 4, 512, dtype=torch.float64)
    assert rel_err(k(frames), torch.fft.rfft(frames)) < 1e-12
    # width > 1: every factor other than the one FFT block is the identity
    eye = torch.eye(2, dtype=k.twiddle.dtype)
    blocks_at_identity = [b for b in range(2 * width) if torch.equal(k.twiddle[0, b], eye.expand_as(k.twiddle[0, b]))]
    assert len(blocks_at_identity) == 2 * width - 1


def test_kmatrix_non_power_of_2_and_parameter_count():
    # pads 400 -> 512, keeps 201 outputs: the DFT of the zero-padded frame (the default is now the length-400 DFT,
    # tests/test_dft_any_length.py)
    k = KMatrix(400, 201, width=2, dft_size=512)
    x = torch.randn(6, 400)
    assert rel_err(k(x), torch.fft.rfft(x, n=512)[..., :201]) < 1e-5
    w, e, n = 2, 1, 512
    # kmatrix.md: 4 w e n log2(e n) (complex) parameters
    assert sum(p.numel() for p in k.parameters()) == 4 * w * e * n * int(math.log2(e * n))


def test_butterfly_shapes_stacks_and_bias():
    b = Butterfly(300, 1000, bias=True, init="randn")
    assert b.nstacks == 2 and b.size == 512
    y = b(torch.randn(2, 5, 300))
    assert y.shape == (2, 5, 1000)
    dense = b.to_dense()
    x = torch.randn(4, 300)
    assert torch.allclose(b(x), x @ dense.T + b.bias, atol=1e-5)
    assert "nstacks=2" in repr(b) and "in_size=300" in repr(b)
    # inputs shorter than the butterfly go to the op unpadded: the same as the reference on zero-padded rows
    assert b.perm is None
    padded = torch.nn.functional.pad(x, (0, 512 - 300))[:, None, :].expand(4, 2, 512)
    want = butterfly_multiply_reference(b.twiddle, padded, b.increasing_stride).reshape(4, 1024)[:, :1000] + b.bias
    torch.testing.assert_close(b(x), want, rtol=1e-5, atol=1e-5)


def test_twiddles_flagged_for_no_weight_decay():
    k = KMatrix(64, 64, bias=True)
    assert getattr(k.twiddle, "_no_weight_decay", False)
    assert not getattr(k.bias, "_no_weight_decay", False)


def test_ortho_init_preserves_norm():
    for complex_ in (False, True):
        b = Butterfly(256, 256, complex=complex_, init="ortho", nblocks=2, dtype=torch.float64)
        x = torch.randn(10, 256, dtype=b.twiddle.dtype)
        assert torch.allclose(b(x).norm(dim=-1), x.norm(dim=-1), rtol=1e-10)
    q = ortho_twiddle((3, 2, 2), dtype=torch.complex128)
    assert torch.allclose(q @ q.conj().transpose(-1, -2), torch.eye(2, dtype=q.dtype).expand(3, 2, 2))


def test_identity_init_is_identity():
    b = Butterfly(64, 64, init="identity", nblocks=3)
    x = torch.randn(5, 64)
    assert torch.equal(b(x), x)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("increasing_stride", [True, False])
def test_reference_gradcheck(complex_, increasing_stride):
    dtype = torch.complex128 if complex_ else torch.float64
    n, nstacks, nblocks = 8, 2, 2
    tw = torch.randn(nstacks, nblocks, 3, n // 2, 2, 2, dtype=dtype, requires_grad=True)
    x = torch.randn(3, nstacks, n, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, v: butterfly_multiply_reference(t, v, increasing_stride), (tw, x))


def test_reference_matches_dense_product_of_factors():
    """Build each factor as an explicit n x n matrix from kmatrix.md's pairing rule and multiply them out."""
    n, log_n = 16, 4
    tw = torch.randn(1, 2, log_n, n // 2, 2, 2, dtype=torch.float64)
    dense = torch.eye(n, dtype=torch.float64)
    for block, increasing in ((0, False), (1, True)):
        for layer in range(log_n):
            s = 1 << (layer if increasing else log_n - 1 - layer)
            f = torch.zeros(n, n, dtype=torch.float64)
            for i in range(n // 2):
                p = 2 * (i - i % s) + i % s
                t = tw[0, block, layer, i]
                f[p, p], f[p, p + s], f[p + s, p], f[p + s, p + s] = t[0, 0], t[0, 1], t[1, 0], t[1, 1]
            dense = f @ dense
    x = torch.randn(5, 1, n, dtype=torch.float64)
    assert torch.allclose(butterfly_multiply(tw, x, increasing_stride=False)[:, 0], x[:, 0] @ dense.T, atol=1e-12)


@pytest.mark.parametrize("bad,match", [
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2, 2), torch.randn(5, 1, 16)), "n=8"),
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2), torch.randn(5, 1, 8)), r"\(1, 1, 3, 4, 2\)"),
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 3, 2, 2), torch.randn(5, 1, 8)), "n/2 = 4"),
    (lambda: butterfly_multiply(torch.randn(2, 1, 3, 4, 2, 2), torch.randn(5, 1, 8)), "nstacks=2"),
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2, 2), torch.randn(5, 1, 8, dtype=torch.complex64)),
     "complex64"),
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2, 2, dtype=torch.complex128), torch.randn(5, 1, 8)),
     "its real counterpart"),  # a real x is a real input only at the twiddle's precision
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2, 2), torch.randn(5, 1, 8, dtype=torch.float64)),
     "float64"),
    (lambda: butterfly_multiply(torch.randn(1, 1, 3, 4, 2, 2), torch.randn(8)), r"\(8,\)"),
    (lambda: Butterfly(8, 8)(torch.randn(3, 9)), r"\(3, 9\)"),
    (lambda: KMatrix(8, 8, width=0), "width"),
    (lambda: KMatrix(8, 8, expansion=3), "expansion"),
    (lambda: Butterfly(8, 8, init="dct"), "dct"),
])
def test_bad_input_raises_value_error_naming_it(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_learns_the_dft_from_random_init():
    """ICML 2019: a butterfly with the permutation fixed to bit reversal recovers the FFT to machine precision."""
    n, steps = 64, 500
    g = torch.Generator().manual_seed(0)
    b = Butterfly(n, n, complex=True, init="randn", permutation="bitrev", dtype=torch.float64)
    b.reset_parameters(generator=g)
    start = b.twiddle.detach().clone()
    x = torch.randn(2 * n, n, dtype=torch.complex128, generator=g)
    y = torch.fft.fft(x)
    opt = torch.optim.Adam(b.parameters(), lr=0.02)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = (b(x) - y).abs().pow(2).sum() / y.abs().pow(2).sum()
        loss.backward()
        opt.step()
        sched.step()
    held_out = torch.randn(100, n, dtype=torch.complex128, generator=g)
    with torch.no_grad():
        err = ((b(held_out) - torch.fft.fft(held_out)).norm() / torch.fft.fft(held_out).norm()).item()
    assert err < 1e-4
    assert not torch.allclose(b.twiddle.detach(), start)
