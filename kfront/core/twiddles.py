"""Named initialisations of butterfly twiddles.

A twiddle for one butterfly of size ``n`` has shape ``(log2 n, n/2, 2, 2)``: one 2x2 block per pair and per
layer, layers in the order they are applied. Modules stack these into
``(nstacks, nblocks, log2 n, n/2, 2, 2)``; where each goes is :mod:`kfront.core.constructions`.
"""
import math

import torch

from .permutation import is_power_of_2


def _check_size(n: int) -> int:
    if n < 2 or not is_power_of_2(n):
        raise ValueError(f"butterfly size must be a power of 2 >= 2, got {n}")
    return n.bit_length() - 1


def fft_twiddle(n: int, normalized: bool = False, inverse: bool = False, increasing_stride: bool = True,
                dtype: torch.dtype = torch.complex64, device=None) -> torch.Tensor:
    """Twiddle of a butterfly that computes the (inverse) DFT of size ``n`` exactly.

    With ``increasing_stride=True`` (decimation in time) the DFT is ``B @ P``: the bit-reversal permutation
    ``P`` is applied to the input first. Layer ``l = 1 .. log2 n`` (stride ``2^(l-1)``) has, at pair ``i`` with
    ``k = i mod 2^(l-1)``, the block ``[[1, w^k], [1, -w^k]]``, ``w = exp(-2 pi i / 2^l)``. With
    ``increasing_stride=False`` (decimation in frequency) the DFT is ``P @ B^T`` (the DFT is symmetric): every
    block transposed, layers reversed, and ``P`` applied to the output.

    Args:
        n (int): transform size, a power of 2.
        normalized (bool): divide every factor by sqrt(2), giving the unitary DFT (1/sqrt(n) overall).
            (Default: ``False``)
        inverse (bool): the inverse DFT (``exp(+2 pi i / 2^l)``, 1/2 per factor unless ``normalized``),
            equal to ``torch.fft.ifft``. (Default: ``False``)
        increasing_stride (bool): the stride order the twiddle is laid out for. (Default: ``True``)
        dtype (torch.dtype): a complex dtype. (Default: ``torch.complex64``)

    Returns:
        Tensor: ``(log2 n, n/2, 2, 2)``.
    """
    if not dtype.is_complex:
        raise ValueError(f"the DFT needs a complex dtype, got {dtype}")
    log_n = _check_size(n)
    sign = 1.0 if inverse else -1.0
    layers = []
    for level in range(1, log_n + 1):
        size = 1 << level
        k = torch.arange(size // 2, dtype=torch.float64, device=device)
        w = torch.polar(torch.ones_like(k), sign * 2 * math.pi * k / size)  # (size/2,) complex128
        one = torch.ones_like(w)
        block = torch.stack((torch.stack((one, w), -1), torch.stack((one, -w), -1)), -2)  # (size/2, 2, 2)
        layers.append(block.repeat(n // size, 1, 1))  # pair i = j * size/2 + k
    tw = torch.stack(layers)  # (log n, n/2, 2, 2)
    if normalized:
        tw = tw / math.sqrt(2)
    elif inverse:
        tw = tw / 2
    if not increasing_stride:
        tw = tw.transpose(-1, -2).flip(0)
    return tw.to(dtype)


def identity_twiddle(shape, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Twiddle of ``shape`` ``(..., 2, 2)`` whose every factor is the identity matrix."""
    eye = torch.eye(2, dtype=dtype, device=device)
    return eye.expand(*shape[:-2], 2, 2).clone()


def ortho_twiddle(shape, dtype: torch.dtype = torch.float32, device=None, generator=None) -> torch.Tensor:
    """Random orthogonal (real) or unitary (complex) 2x2 blocks, so every factor preserves norms.

    Real blocks are rotations or reflections with a uniform angle; complex blocks are Haar-random unitaries
    (QR of a complex Gaussian matrix with the phases of R's diagonal divided out).
    """
    lead = tuple(shape[:-2])
    if dtype.is_complex:
        real_dtype = torch.float64
        g = torch.complex(torch.randn(*lead, 2, 2, dtype=real_dtype, generator=generator),
                          torch.randn(*lead, 2, 2, dtype=real_dtype, generator=generator))
        q, r = torch.linalg.qr(g)
        d = torch.diagonal(r, dim1=-2, dim2=-1)
        q = q * (d / d.abs()).unsqueeze(-2)
        return q.to(dtype=dtype, device=device)
    theta = torch.rand(*lead, dtype=torch.float64, generator=generator) * 2 * math.pi
    c, s = torch.cos(theta), torch.sin(theta)
    flip = torch.where(torch.rand(*lead, dtype=torch.float64, generator=generator) < 0.5, -1.0, 1.0)
    block = torch.stack((torch.stack((c, -s), -1), torch.stack((s * flip, c * flip), -1)), -2)
    return block.to(dtype=dtype, device=device)


def randn_twiddle(shape, dtype: torch.dtype = torch.float32, device=None, generator=None) -> torch.Tensor:
    """Gaussian twiddles scaled by 1/sqrt(2) so that each factor keeps the expected squared norm of its input."""
    if dtype.is_complex:
        real = torch.randn(*shape, 2, dtype=torch.float64, generator=generator) / math.sqrt(2)
        tw = torch.view_as_complex(real) / math.sqrt(2)
    else:
        tw = torch.randn(*shape, dtype=torch.float64, generator=generator) / math.sqrt(2)
    return tw.to(dtype=dtype, device=device)
