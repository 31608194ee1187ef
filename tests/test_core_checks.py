"""Bad arguments to the butterfly core named by argument and value: zero stacks, a stride order that is not a
bool, inputs a K-matrix would cast without a word, and a K-matrix too large to build in reasonable time."""
import time

import pytest
import torch

from kfront.core import (Butterfly, KMatrix, butterfly_multiply, butterfly_multiply_power, butterfly_multiply_reference,
                         kmatrix)


@pytest.mark.parametrize("mode", ["default", "reference"])
def test_zero_stacks_is_named(monkeypatch, mode):
    """nstacks = 0 on both backends: named, not 'cannot reshape tensor of 0 elements'."""
    if mode == "reference":
        monkeypatch.setenv("KFRONT_BACKEND", "reference")
    tw = torch.randn(0, 1, 3, 4, 2, 2, dtype=torch.complex64)
    with pytest.raises(ValueError, match=r"nstacks = 0 \(shape \(0, 1, 3, 4, 2, 2\)\)"):
        butterfly_multiply(tw, torch.randn(5, 0, 8, dtype=torch.complex64))


@pytest.mark.parametrize("value", ["no", "False", None, 2, 1.0, torch.tensor(True)])
def test_increasing_stride_must_be_a_bool(value):
    tw = torch.randn(1, 1, 3, 4, 2, 2, dtype=torch.complex64)
    x = torch.randn(5, 1, 8, dtype=torch.complex64)
    with pytest.raises(ValueError, match="increasing_stride must be a bool, got"):
        butterfly_multiply(tw, x, value)
    with pytest.raises(ValueError, match="increasing_stride must be a bool, got"):
        Butterfly(8, 8, increasing_stride=value)
    with pytest.raises(ValueError, match="increasing_stride must be a bool, got"):
        butterfly_multiply_power(tw, x, value, k=5)
    # bools, and 0 / 1, are what they say
    torch.testing.assert_close(butterfly_multiply(tw, x, 0), butterfly_multiply_reference(tw, x, False))


def test_kmatrix_keeps_the_input_precision_or_refuses():
    """float64 / complex128 into a complex64 K-matrix would silently drop to float32 precision: refused, naming
    both dtypes and the fix; integers and bools refused; a float64 K-matrix keeps float64 input in complex128;
    lower precisions are promoted (no digits lost)."""
    k32, k64 = KMatrix(8, 8), KMatrix(8, 8, dtype=torch.float64)
    for dtype in (torch.float64, torch.complex128):
        with pytest.raises(ValueError, match=f"x is {dtype} but the twiddles are torch.complex64.*dtype=torch.float64"):
            k32(torch.randn(3, 8, dtype=dtype))
    for x in (torch.arange(8), torch.ones(8, dtype=torch.bool), torch.arange(8, dtype=torch.int16)):
        with pytest.raises(ValueError, match=f"floating-point or complex tensor, got dtype {x.dtype}"):
            k32(x)
    x = torch.randn(3, 8, dtype=torch.float64)
    y = k64(x)
    assert y.dtype == torch.complex128
    torch.testing.assert_close(y, torch.fft.fft(x), rtol=1e-12, atol=1e-12)
    assert k32(x.float()).dtype == torch.complex64 and k32(x.half()).dtype == torch.complex64
    assert k64(x.float()).dtype == torch.complex128


def test_kmatrix_above_the_documented_size_is_refused_at_once(monkeypatch):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"KMatrix\(1000000, 1000000\) needs butterflies of size 2097152: "
                                         r"176,160,768 complex twiddles \(1.3 GiB.*MAX_SIZE = 65536"):
        KMatrix(10**6, 10**6)
    assert time.perf_counter() - start < 5.0  # before anything is allocated (a generous bound)
    assert "Cost" in KMatrix.__doc__ and "MAX_SIZE" in KMatrix.__doc__
    monkeypatch.setattr(kmatrix, "MAX_SIZE", 1 << 9)  # the limit is inclusive, and a setting
    KMatrix(512, 257)
    KMatrix(256, 129, dft_size=256)
    with pytest.raises(ValueError, match="size 1024"):
        KMatrix(300, 151)  # a length-300 DFT is a butterfly of size 1024
