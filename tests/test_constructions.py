"""The named constructions of :mod:`kfront.core.constructions` against dense references in float64, with their
widths, expansions and parameter counts."""
import math

import numpy as np
import pytest
import scipy.fft
import scipy.linalg
import torch

from kfront.core import Butterfly, KMatrix, butterfly_multiply, constructions
from kfront.core.permutation import benes_twiddle
from kfront.frontend.functional import create_dct

F64 = torch.float64
TOL = 1e-12


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def real_params(k: KMatrix) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in k.parameters())


def kmatrix_params(width: int, size: int, complex_: bool) -> int:
    """kmatrix.md: 4 w (e n) log2(e n) twiddles, two real numbers each when complex."""
    return 4 * width * size * (size.bit_length() - 1) * (2 if complex_ else 1)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 16, 23, 40, 64, 80, 100, 128, 257])
def test_dct_is_the_orthonormal_dct_ii(n):
    k = constructions.dct(n, dtype=F64)
    dense = k.to_dense()  # (n, n) complex
    want = torch.tensor(scipy.fft.dct(np.eye(n), type=2, norm="ortho", axis=0))
    assert rel_err(dense.real, want) < TOL and dense.imag.abs().max() < TOL
    pow2 = n & (n - 1) == 0
    size = max(2, 2 * n) if pow2 else 1 << (3 * n - 2).bit_length()  # 2n, or the next power of 2 >= 3n - 1
    assert (k.width, k.size, k.expansion) == (2, size, size // (1 << max(n - 1, 1).bit_length()))
    assert real_params(k) == kmatrix_params(2, size, True)


@pytest.mark.parametrize("n_mels,n_mfcc", [(40, 13), (23, 20), (80, 13), (128, 40)])
def test_dct_is_mfccs_matrix(n_mels, n_mfcc):
    k = constructions.dct(n_mels, n_mfcc, dtype=F64)
    x = torch.randn(5, 7, n_mels, dtype=F64)  # (..., n_mels) log-mel rows
    assert rel_err(k(x).real, x @ create_dct(n_mfcc, n_mels, F64)) < TOL


@pytest.mark.parametrize("n", [2, 4, 8, 64, 1024])
@pytest.mark.parametrize("normalized", [False, True])
def test_hadamard(n, normalized):
    k = constructions.hadamard(n, normalized=normalized, dtype=F64)
    want = torch.tensor(scipy.linalg.hadamard(n), dtype=F64) / (math.sqrt(n) if normalized else 1)
    assert not k.twiddle.is_complex() and (k.width, k.expansion, k.size) == (1, 1, n)
    assert rel_err(k.to_dense(), want) < TOL
    assert real_params(k) == kmatrix_params(1, n, False)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12, 64, 100, 257])
@pytest.mark.parametrize("complex_kernel", [False, True])
def test_circular_convolution(n, complex_kernel):
    g = torch.Generator().manual_seed(n)
    h = torch.randn(n, dtype=torch.complex128 if complex_kernel else F64, generator=g)
    k = constructions.circular_convolution(h, dtype=F64)
    want = torch.tensor(scipy.linalg.circulant(h.numpy()))  # want[i, j] = h[(i - j) mod n]
    assert rel_err(k.to_dense(), want.to(torch.complex128)) < TOL
    x = torch.randn(4, n, dtype=F64, generator=g)
    assert rel_err(k(x), torch.fft.ifft(torch.fft.fft(h) * torch.fft.fft(x))) < TOL
    size = n if n & (n - 1) == 0 and n > 1 else max(2, 1 << (2 * n - 2).bit_length())  # n, or >= 2n - 1
    assert (k.width, k.size) == (1, size) and real_params(k) == kmatrix_params(1, size, True)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 40, 64, 100, 1000])
def test_permutation_is_exact(n):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    k = constructions.permutation(perm, dtype=F64)
    x = torch.randn(3, n, dtype=F64)
    assert torch.equal(k(x), x[:, perm])  # 0/1 twiddles: no rounding at all
    assert not k.twiddle.is_complex() and k.width == 1 and k.size == max(2, 1 << (n - 1).bit_length())


@pytest.mark.parametrize("n", [2, 4, 8, 16, 256])
def test_benes_twiddle_every_kind_of_permutation(n):
    g = torch.Generator().manual_seed(0)
    for perm in (torch.arange(n), torch.arange(n).flip(0), torch.randperm(n, generator=g),
                 torch.roll(torch.arange(n), 1)):
        tw = benes_twiddle(perm)  # (2, log n, n/2, 2, 2)
        x = torch.randn(2, 1, n, dtype=F64, generator=g)
        assert torch.equal(butterfly_multiply(tw[None], x, increasing_stride=False), x[..., perm])


@pytest.mark.parametrize("n", [5, 64, 400])
def test_dft_factories_are_the_init_convenience(n):
    for inverse in (False, True):
        k = constructions.dft(n, inverse=inverse, dtype=F64)
        same = KMatrix(n, n, init="ifft" if inverse else "fft", dtype=F64)
        assert torch.equal(k.twiddle, same.twiddle) and k.dft_size == n
        x = torch.randn(3, n, dtype=torch.complex128)
        assert rel_err(k(x), (torch.fft.ifft if inverse else torch.fft.fft)(x)) < TOL
    assert rel_err(constructions.idft(n, dtype=F64)(x), torch.fft.ifft(x)) < TOL


def test_identity_and_random():
    x = torch.randn(4, 40, dtype=F64)
    assert torch.equal(constructions.identity(40, width=2, dtype=F64)(x), x)
    a = constructions.random(64, generator=torch.Generator().manual_seed(3), dtype=F64)
    b = constructions.random(64, generator=torch.Generator().manual_seed(3), dtype=F64)
    assert torch.equal(a.twiddle, b.twiddle) and a.init == "randn"
    q = constructions.random(64, orthogonal=True, dtype=F64)
    y = torch.randn(4, 64, dtype=torch.complex128)
    assert torch.allclose(q(y).norm(dim=-1), y.norm(dim=-1), rtol=1e-12)


@pytest.mark.parametrize("bad,match", [
    (lambda: constructions.dct(0), "got 0"),
    (lambda: constructions.dct(40, 41), "got 41"),
    (lambda: constructions.dct(12.0), "12.0"),
    (lambda: constructions.hadamard(12), "got 12"),
    (lambda: constructions.circular_convolution(torch.randn(2, 3)), "kernel"),
    (lambda: constructions.permutation(torch.tensor([0, 0, 1])), r"\[0, 0, 1\]"),
    (lambda: benes_twiddle(torch.tensor([1, 0, 2])), r"\[1, 0, 2\]"),
    (lambda: Butterfly(100, 100, size=64), ">= 128, got 64"),
    (lambda: Butterfly(100, 100, size=200), "got 200"),
])
def test_bad_input_raises_value_error_naming_it(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
