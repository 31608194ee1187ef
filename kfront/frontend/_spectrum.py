"""The K-matrix stage as pure functions, shared by :class:`KaleidoFrontend` and its frozen export; the two
``real_input`` forms (``"complex"``, ``"packed"``) are described in ``docs/kaleido.md``."""
import math

import torch
from torch import nn

from ..core import butterfly_multiply
from ..core import butterfly_multiply_power, head_power, separate


def separation_init(n_fft: int, dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    """Coefficients ``(2, n_fft // 2 + 1)`` (rows ``a``, ``b``) that turn the size-n/2 DFT of the packed frame
    into the n/2 + 1 bins of the real frame's DFT."""
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    w = torch.polar(torch.ones_like(k), -2 * math.pi * k / n_fft)  # w^k
    return torch.stack(((1 - 1j * w) / 2, (1 + 1j * w) / 2)).to(dtype=dtype, device=device)


def _scale_first_layer(twiddle: torch.Tensor, w: torch.Tensor, increasing_stride: bool) -> torch.Tensor:
    """The twiddles of ``K diag(w)``: the first factor applied (block 0, layer 0) with its columns scaled by the
    entries of ``w`` ``(size,)`` it reads, so that multiplying by ``w`` costs no pass over the batch."""
    half = twiddle.shape[3]
    s = 1 if increasing_stride else half  # the first layer's stride
    i = torch.arange(half, device=w.device)
    p = 2 * (i - i % s) + i % s  # pair i joins inputs p and p + s
    w_pair = torch.stack((w[p], w[p + s]), -1)  # (half, 2): scales column 0 and column 1 of each 2x2 block
    first = twiddle[:, :1, :1] * w_pair.unsqueeze(-2)  # (nstacks, 1, 1, half, 2, 2)
    rest_of_block = twiddle[:, :1, 1:]  # (nstacks, 1, log_n - 1, half, 2, 2)
    return torch.cat((torch.cat((first, rest_of_block), 2), twiddle[:, 1:]), 1)


def kmatrix_spectrum(frames: torch.Tensor, window: torch.Tensor, twiddle: torch.Tensor, perm: torch.Tensor | None,
                     increasing_stride: bool, n_freqs: int, separation: torch.Tensor | None = None,
                     multiply=butterfly_multiply, power: bool = False) -> torch.Tensor:
    """Windowed K-matrix transform of real frames: ``(..., L) -> (..., n_freqs)``, complex (real with ``power``).

    Args:
        frames (Tensor): ``(..., L)`` real, ``L <= n_fft`` (read as zero-padded to ``n_fft``; a strided view).
        window (Tensor): ``(L,)``.
        twiddle (Tensor): the K-matrix's ``(nstacks, nblocks, log2 size, size / 2, 2, 2)`` complex twiddle.
        perm (LongTensor or None): the K-matrix's input permutation ``(size,)``; ``None`` is the identity.
        increasing_stride (bool): stride order of the K-matrix's first block.
        n_freqs (int): outputs kept (``n_fft // 2 + 1``).
        separation (Tensor, optional): ``(2, n_fft // 2 + 1)`` coefficients; given, the frame is packed.
        multiply: the butterfly op (the compiled dispatcher, or the reference for export).
        power (bool): return the power ``|X|^2`` of the bins. (Default: ``False``)
    """
    length = frames.shape[-1]
    nstacks, size = twiddle.shape[0], 2 * twiddle.shape[3]
    # The op reads rows shorter than the K-matrix zero-padded and applies its input permutation while loading
    # them, so neither the padding nor the permutation costs a pass over the frames.
    if separation is None:
        # The window goes into the first layer's twiddles: K-matrix input j is frame sample perm[j] times its
        # window value, or zero when perm[j] is past the frame. The op takes the real frames as they are (no copy
        # to complex, no pass for the window).
        w = nn.functional.pad(window, (0, size - length))  # (size,)
        if perm is not None:
            w = w[perm]
        twiddle = _scale_first_layer(twiddle, w.to(twiddle.real.dtype), increasing_stride)
        x = frames.to(twiddle.real.dtype)  # (..., L), real
    else:
        windowed = frames * window  # the one pass: a window on real samples is no complex scaling of the pairs
        if length % 2:
            windowed = nn.functional.pad(windowed, (0, 1))  # a whole last pair
        x = torch.view_as_complex(windowed.unflatten(-1, (-1, 2)))  # (..., ceil(L / 2)): x_2k + i x_2k+1
    x = x.unsqueeze(-2).expand(*x.shape[:-1], nstacks, x.shape[-1])  # (..., nstacks, L or L / 2)
    if power and multiply is butterfly_multiply:  # the bins themselves are never needed: one fused op
        if separation is None:
            return butterfly_multiply_power(twiddle, x, increasing_stride, n_freqs, perm=perm)  # (..., n_freqs)
        return butterfly_multiply_power(twiddle, x, increasing_stride, separation=separation,
                                        perm=perm)  # (..., n_freqs)
    y = multiply(twiddle, x, increasing_stride, perm)  # (..., nstacks, size)
    y = y.reshape(*y.shape[:-2], nstacks * size)  # (..., nstacks * size)
    if separation is None:
        return head_power(y, n_freqs) if power else y[..., :n_freqs]
    spec = separate(y[..., :n_freqs - 1], separation)  # (..., n_freqs)
    return head_power(spec, n_freqs) if power else spec
