"""The K-matrix stage as pure functions, shared by :class:`KaleidoFrontend` and its frozen export.

Two ways to feed real frames to a complex K-matrix:

- ``"complex"``: the frame (n real samples) is a complex vector with zero imaginary part; a K-matrix of size
  n maps it to n outputs, of which the first n/2 + 1 are kept.
- ``"packed"``: the classic real-FFT trick. ``z_k = x_2k + i x_2k+1`` (n/2 complex numbers, a free view of
  the frame), a K-matrix of size n/2 gives ``Z``, and a separation stage with learnable coefficients
  ``X_k = a_k Z_k + b_k conj(Z_{n/2-k})`` (exact at ``a_k = (1 - i w^k) / 2``, ``b_k = (1 + i w^k) / 2``,
  ``w = exp(-2 pi i / n)``) gives the n/2 + 1 bins: half the butterfly work, about half the parameters, and
  no real-to-complex copy. ``KaleidoFrontend``'s docstring discusses what it can and cannot learn.
"""
import math

import torch
from torch import nn

from ..core import butterfly_multiply


def separation_init(n_fft: int, dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    """Coefficients ``(2, n_fft // 2 + 1)`` (rows ``a``, ``b``) that turn the size-n/2 DFT of the packed frame
    into the n/2 + 1 bins of the real frame's DFT."""
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    w = torch.polar(torch.ones_like(k), -2 * math.pi * k / n_fft)  # w^k
    return torch.stack(((1 - 1j * w) / 2, (1 + 1j * w) / 2)).to(dtype=dtype, device=device)


def separate(z_spec: torch.Tensor, separation: torch.Tensor) -> torch.Tensor:
    """``X_k = a_k Z_(k mod N) + b_k conj(Z_((N - k) mod N))`` for ``k = 0 .. N``: ``(..., N) -> (..., N + 1)``."""
    z_k = torch.cat((z_spec, z_spec[..., :1]), -1)  # Z_(k mod N), k = 0 .. N
    z_rev = torch.cat((z_spec[..., :1], z_spec.flip(-1)), -1)  # Z_((N - k) mod N)
    return separation[0] * z_k + separation[1] * z_rev.conj()


class _HeadPower(torch.autograd.Function):
    """``|y[..., :k]|^2`` of a complex ``y`` in one pass each way.

    Slicing then squaring costs autograd a zero-filled full-width gradient plus three elementwise passes; here the
    backward writes ``2 y g`` for the kept bins and zeros for the rest straight into one output.
    """

    @staticmethod
    def forward(ctx, y: torch.Tensor, k: int) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.k = k
        r = torch.view_as_real(y)[..., :k, :]  # (..., k, 2)
        return torch.addcmul(r[..., 0] * r[..., 0], r[..., 1], r[..., 1])  # (..., k)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (y,) = ctx.saved_tensors
        k = ctx.k
        # d|y|^2 in PyTorch's convention for complex inputs is 2 y g; computed on real views straight into the
        # output (a complex-by-real product would first copy g to complex).
        out = torch.empty_like(y)
        o = torch.view_as_real(out)  # (..., m, 2)
        torch.mul(torch.view_as_real(y)[..., :k, :], (2 * grad).unsqueeze(-1), out=o[..., :k, :])
        o[..., k:, :].zero_()
        return out, None


def head_power(y: torch.Tensor, k: int) -> torch.Tensor:
    """Power ``|y|^2`` of the first ``k`` entries of the last dimension of complex ``y``: ``(..., m) -> (..., k)``."""
    return _HeadPower.apply(y, k)


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[..., index]`` through ``torch.gather``, several times faster than advanced indexing on a strided
    view of frames on CPU."""
    return torch.gather(x, -1, index.expand(*x.shape[:-1], index.shape[0]))


def kmatrix_spectrum(frames: torch.Tensor, window: torch.Tensor, twiddle: torch.Tensor, perm: torch.Tensor | None,
                     increasing_stride: bool, n_freqs: int, separation: torch.Tensor | None = None,
                     multiply=butterfly_multiply, power: bool = False) -> torch.Tensor:
    """Windowed K-matrix transform of real frames.

    Args:
        frames (Tensor): ``(..., n_fft)`` real (may be a strided view).
        window (Tensor): ``(n_fft,)``.
        twiddle (Tensor): the K-matrix's ``(nstacks, nblocks, log2 size, size / 2, 2, 2)`` complex twiddle.
        perm (LongTensor or None): the K-matrix's input permutation ``(size,)`` (``None``: identity); entries
            past its input length address the zero padding.
        increasing_stride (bool): stride order of the K-matrix's first block.
        n_freqs (int): outputs kept (``n_fft // 2 + 1``).
        separation (Tensor, optional): ``(2, n_fft // 2 + 1)`` coefficients; given, the frame is packed.
        multiply: the butterfly op (the compiled dispatcher, or the reference for export).
        power (bool): return the power ``|X|^2`` of the bins instead of the bins. (Default: ``False``)

    Returns:
        Tensor: ``(..., n_freqs)``, complex, or real with ``power``.
    """
    n_fft = frames.shape[-1]
    nstacks, size = twiddle.shape[0], 2 * twiddle.shape[3]
    if perm is None:
        perm = torch.arange(size, device=frames.device)
    if separation is None:
        # Fold the zero padding, the permutation and the window into one gather: K-matrix input j is frame
        # sample perm[j] times its window value, or zero when perm[j] is past the frame.
        w = nn.functional.pad(window, (0, size - n_fft))[perm]  # (size,)
        x = (_gather(frames, perm.clamp(max=n_fft - 1)) * w).to(twiddle.dtype)  # (..., size)
    else:
        half = n_fft // 2
        z = torch.view_as_complex((frames * window).unflatten(-1, (half, 2)))  # (..., half): x_2k + i x_2k+1
        x = _gather(z, perm.clamp(max=half - 1))  # (..., size)
        if size > half:  # an expanded K-matrix: zero padding
            x = x * (perm < half).to(window.dtype)
    x = x.unsqueeze(-2).expand(*x.shape[:-1], nstacks, size)  # (..., nstacks, size)
    y = multiply(twiddle, x, increasing_stride)  # (..., nstacks, size)
    y = y.reshape(*y.shape[:-2], nstacks * size)  # (..., nstacks * size)
    if separation is None:
        return head_power(y, n_freqs) if power else y[..., :n_freqs]
    spec = separate(y[..., :n_fft // 2], separation)  # (..., n_freqs)
    return head_power(spec, n_freqs) if power else spec
