"""The DFT of any length ``N`` as one ``B B*`` of a power-of-2 size ``M`` (Bluestein's chirp-z identity).

With ``w_m = exp(i pi m^2 / N)`` and ``nk = (n^2 + k^2 - (k - n)^2) / 2``,
``X_k = sum_n x_n exp(-2 pi i nk / N) = conj(w_k) sum_n (x_n conj(w_n)) w_(k-n)``: a chirp, a convolution with
the chirp, a chirp. For ``0 <= k, n < N`` the index ``k - n`` lies in ``(-N, N)``, so the convolution is circular
of any length ``M >= 2N - 1`` with the filter ``h_m = w_m`` (``0 <= m < N``), ``h_(M-m) = w_m`` (``0 < m < N``)
and zeros between (``w`` is even, so wrapped indices read the right value and never overlap):

    X = D_out IDFT_M diag(DFT_M h) DFT_M D_in pad_M(x),   D_in = diag(conj w), D_out = diag(conj w).

Take ``DFT_M`` in decimation-in-frequency form (decreasing strides, natural order in, bit-reversed order out:
``Y[rev]``) and ``IDFT_M`` in decimation-in-time form (increasing strides, bit-reversed order in, natural out).
The two bit reversals meet in the middle and cancel once the diagonal is read in bit-reversed order,
``(DFT_M h)[rev]``, so nothing is permuted. Every diagonal folds into a neighbouring factor: ``D_in`` scales the
columns of the first layer of the first block (stride ``M/2``), the middle diagonal the columns of the first
layer of the second block (stride 1), ``D_out`` the rows of its last layer (stride ``M/2``). The result is the
twiddle of one ``B B*``: ``nblocks = 2``, decreasing strides first. The inverse DFT is the same with every chirp
conjugated and ``1/N`` in ``D_out``; the unitary one puts ``1/sqrt(N)`` there. :func:`convolution_twiddle` is
that ``B B*`` for any filter and diagonals (a circular convolution of length ``M``), of which the DFT is one case.

Chirp angles are reduced exactly (``m^2 mod 2N`` in integers) before the float64 trigonometry, the filter's
spectrum is a float64 FFT, and everything is folded in complex128 and cast once.
"""
import math

import torch

from .permutation import bitreversal_permutation, is_power_of_2, next_power_of_2
from .twiddles import fft_twiddle

# Largest butterfly a DFT initialisation builds: its twiddles alone are 2 * 22 * 2^21 2x2 blocks per B B*
# (3 GB in complex64); beyond that a dense check, or memory, is out of reach.
MAX_DFT_BUTTERFLY_SIZE = 1 << 22

CONSTRUCTIONS = ("cooley-tukey", "bluestein")


def dft_construction(n: int) -> str:
    """How the length-``n`` DFT is built: ``"cooley-tukey"`` for a power of 2 >= 2 (one butterfly of size ``n``
    after a bit-reversal permutation), ``"bluestein"`` otherwise (one ``B B*`` of size :func:`bluestein_size`,
    no permutation). ``n = 1`` counts as Bluestein: its ``B B*`` of size 2 is the identity, the length-1 DFT."""
    return "cooley-tukey" if n >= 2 and is_power_of_2(n) else "bluestein"


def bluestein_size(n: int) -> int:
    """Butterfly size ``M`` of the Bluestein construction: the next power of 2 >= ``2n - 1`` (at least 2)."""
    return max(2, next_power_of_2(2 * n - 1))


def dft_butterfly_size(n: int) -> int:
    """Size of the butterfly that holds the length-``n`` DFT: ``n`` itself or :func:`bluestein_size`."""
    return n if dft_construction(n) == "cooley-tukey" else bluestein_size(n)


def check_dft_size(n) -> int:
    """``n`` as an int if it is a DFT length this package builds, else ``ValueError`` naming it."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the DFT length must be an int >= 1, got {n!r}")
    size = dft_butterfly_size(n)
    if size > MAX_DFT_BUTTERFLY_SIZE:
        how = "" if size == n else " (Bluestein: the next power of 2 >= 2N - 1)"
        raise ValueError(f"the DFT of length {n} needs a butterfly of size {size}{how}, more than the largest "
                         f"supported {MAX_DFT_BUTTERFLY_SIZE} = 2^{MAX_DFT_BUTTERFLY_SIZE.bit_length() - 1}")
    return n


def chirp(n: int, device=None) -> torch.Tensor:
    """``w_m = exp(i pi m^2 / n)`` for ``m = 0 .. n-1``, complex128 ``(n,)``; ``m^2 mod 2n`` is taken in integers
    first, so the angle keeps full precision for any ``n``."""
    m = torch.arange(n, dtype=torch.int64, device=device)
    return torch.polar(torch.ones(n, dtype=torch.float64, device=device),
                       math.pi * ((m * m) % (2 * n)).to(torch.float64) / n)


def bluestein_twiddle(n: int, normalized: bool = False, inverse: bool = False, dtype: torch.dtype = torch.complex64,
                      device=None) -> torch.Tensor:
    """Twiddle of one ``B B*`` of size ``M = bluestein_size(n)`` that computes the (inverse) DFT of length ``n``.

    Block 0 runs decreasing strides, block 1 increasing ones, and no permutation is needed: for ``x`` of shape
    ``(..., n)``, ``butterfly_multiply(tw[None], pad(x, M)[..., None, :], increasing_stride=False)[..., 0, :n]``
    equals ``torch.fft.fft(x)`` (``ifft`` with ``inverse``). Outputs ``n .. M-1`` are not part of the DFT.
    The module docstring derives it.

    Args:
        n (int): transform length, any ``n >= 1``.
        normalized (bool): the unitary DFT (``1/sqrt(n)`` overall). (Default: ``False``)
        inverse (bool): the inverse DFT, equal to ``torch.fft.ifft``. (Default: ``False``)
        dtype (torch.dtype): a complex dtype. (Default: ``torch.complex64``)

    Returns:
        Tensor: ``(2, log2 M, M/2, 2, 2)``.

    Example:
        >>> tw = bluestein_twiddle(400)  # (2, 10, 512, 2, 2)
        >>> x = torch.randn(8, 400, dtype=torch.complex64)
        >>> y = butterfly_multiply(tw[None], nn.functional.pad(x, (0, 624))[:, None], False)[:, 0, :400]
    """
    if not dtype.is_complex:
        raise ValueError(f"the DFT needs a complex dtype, got {dtype}")
    check_dft_size(n)
    big = bluestein_size(n)
    w = chirp(n, device)  # (n,) complex128
    if inverse:
        w = w.conj()  # exp(+2 pi i nk / n) = w_n w_k conj(w_(k-n))
    h = torch.zeros(big, dtype=torch.complex128, device=device)  # (M,) the filter w_(k-n), wrapped
    h[:n] = w
    h[big - n + 1:] = w[1:].flip(0)
    edge = torch.ones(big, dtype=torch.complex128, device=device)  # (M,) chirp on the DFT's n points, 1 past them
    edge[:n] = w.conj()
    scale = 1 / math.sqrt(n) if normalized else 1 / n if inverse else 1.0
    return convolution_twiddle(h, edge, edge, out_scale=scale).to(dtype)  # (2, log M, M/2, 2, 2)


def convolution_twiddle(h: torch.Tensor, d_in: torch.Tensor | None = None, d_out: torch.Tensor | None = None,
                        out_scale: float = 1.0) -> torch.Tensor:
    """Twiddle of one ``B B*`` of size ``M = len(h)`` that computes ``y = out_scale d_out * (h (*) (d_in * x))``, the
    circular convolution of length ``M`` between two diagonals, with no permutation.

    ``DFT_M`` in decimation-in-frequency form, the filter's spectrum read in bit-reversed order, ``IDFT_M`` in
    decimation-in-time form; the diagonals fold into the first layer's columns and the last layer's rows (the module
    docstring derives it). Built in complex128.

    Args:
        h (Tensor): ``(M,)``, the filter, ``M`` a power of 2 >= 2.
        d_in (Tensor, optional): ``(M,)``, scales the input. (Default: ones)
        d_out (Tensor, optional): ``(M,)``, scales the output. (Default: ones)
        out_scale (float): one more factor on the output. (Default: ``1.0``)

    Returns:
        Tensor: ``(2, log2 M, M/2, 2, 2)`` complex128, block 0 for decreasing strides, block 1 for increasing ones.

    Example:
        >>> h = torch.randn(8, dtype=torch.complex128)
        >>> tw = convolution_twiddle(h)
        >>> y = butterfly_multiply(tw[None], x[..., None, :], False)[..., 0, :]  # == ifft(fft(h) * fft(x))
    """
    big = h.shape[-1]
    if h.dim() != 1 or big < 2 or not is_power_of_2(big):
        raise ValueError(f"the filter must be a vector of a power-of-2 length >= 2, got shape {tuple(h.shape)}")
    half, device = big // 2, h.device
    h = h.to(torch.complex128)
    ones = torch.ones(big, dtype=torch.complex128, device=device)
    d_in = ones if d_in is None else d_in.to(torch.complex128)
    d_out = ones if d_out is None else d_out.to(torch.complex128)
    middle = torch.fft.fft(h)[bitreversal_permutation(big, device=device)]  # (M,) in the DIF output's order
    dif = fft_twiddle(big, increasing_stride=False, dtype=torch.complex128, device=device)  # (log M, M/2, 2, 2)
    dit = fft_twiddle(big, inverse=True, dtype=torch.complex128, device=device)  # IDFT_M, 1/2 per layer
    # Layer 0 of the DIF has stride M/2: pair i reads positions i and i + M/2 (its columns 0 and 1).
    dif[0] = dif[0] * torch.stack((d_in[:half], d_in[half:]), -1).unsqueeze(-2)
    # Layer 0 of the DIT has stride 1: pair i reads positions 2i and 2i + 1.
    dit[0] = dit[0] * middle.view(half, 2).unsqueeze(-2)
    # Its last layer has stride M/2: pair i writes positions i and i + M/2 (its rows 0 and 1).
    dit[-1] = dit[-1] * (out_scale * torch.stack((d_out[:half], d_out[half:]), -1)).unsqueeze(-1)
    return torch.stack((dif, dit))  # (2, log M, M/2, 2, 2)
