"""The power stage after a butterfly product: ``|y|^2`` of its first outputs, and the separation of a real frame
packed as complex numbers (the real-FFT trick), in one fused op where a backend has that kernel.

``butterfly_multiply_power`` asks the backend (:func:`kfront.core.backend`) whether the implementation has a
fused power kernel for the tensors' device; where it does (the CPU library, and the Triton kernels on CUDA) the
spectrum is taken straight from the kernel's tiles and never written; elsewhere it is
:func:`~kfront.core.butterfly_multiply`, then :func:`separate`, then :func:`head_power`, with the same values and
gradients.
"""
import torch
from torch import nn

from . import _backend
from .multiply import butterfly_multiply, check_butterfly_args, check_increasing_stride, check_perm

_OP = "butterfly_multiply_power"


class _HeadPower(torch.autograd.Function):
    """``|y[..., :k]|^2`` of a complex ``y`` in one pass each way.

    Slicing then squaring costs autograd a zero-filled full-width gradient plus three elementwise passes; here the
    backward computes ``2 y g`` for the kept bins and pads it with zeros to the full width.
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
        k, m = ctx.k, y.shape[-1]
        # d|y|^2 in PyTorch's convention for complex inputs is 2 y g; computed on real views (a complex-by-real
        # product would first copy g to complex), without out= on a strided view, which torch.compile rejects.
        head = torch.view_as_real(y)[..., :k, :] * (2 * grad).unsqueeze(-1)  # (..., k, 2)
        return torch.view_as_complex(nn.functional.pad(head, (0, 0, 0, m - k))), None  # (..., m)


def head_power(y: torch.Tensor, k: int) -> torch.Tensor:
    """Power ``|y|^2`` of the first ``k`` entries of the last dimension of complex ``y``.

    Args:
        y (Tensor): ``(..., m)``, complex.
        k (int): entries kept, ``k <= m``.

    Returns:
        Tensor: ``(..., k)``, real; its gradient is ``2 y g`` on the kept entries and zero beyond.

    Example:
        >>> head_power(torch.tensor([3 + 4j, 1j, 2.0]), 2)
        tensor([25.,  1.])
    """
    return _HeadPower.apply(y, k)


def separate(z_spec: torch.Tensor, separation: torch.Tensor) -> torch.Tensor:
    """The separation stage of a real frame packed as ``N`` complex numbers:
    ``X_k = a_k Z_(k mod N) + b_k conj(Z_((N - k) mod N))`` for ``k = 0 .. N``.

    Args:
        z_spec (Tensor): ``(..., N)``, complex: the transform of the packed frame ``x_2j + i x_2j+1``.
        separation (Tensor): ``(2, N + 1)``, complex: rows ``a`` and ``b``.

    Returns:
        Tensor: ``(..., N + 1)``, complex.

    Example:
        >>> x = torch.randn(8, dtype=torch.float64)
        >>> k = torch.arange(5, dtype=torch.float64)
        >>> w = torch.exp(-2j * torch.pi * k / 8)
        >>> ab = torch.stack(((1 - 1j * w) / 2, (1 + 1j * w) / 2))  # exact for the DFT
        >>> spectrum = separate(torch.fft.fft(torch.view_as_complex(x.view(4, 2))), ab)  # == torch.fft.rfft(x)
    """
    z_k = torch.cat((z_spec, z_spec[..., :1]), -1)  # Z_(k mod N), k = 0 .. N
    z_rev = torch.cat((z_spec[..., :1], z_spec.flip(-1)), -1)  # Z_((N - k) mod N)
    return separation[0] * z_k + separation[1] * z_rev.conj()


def _check_power_args(twiddle, x, k, separation) -> int:
    """Raise ``ValueError`` naming the bad value; returns the number of outputs."""
    if not twiddle.is_complex():
        raise ValueError(f"the power is taken of complex outputs: twiddle must be complex, got {twiddle.dtype}")
    nstacks, n = x.shape[-2], 2 * twiddle.shape[3]  # x's rows may be shorter than n
    if separation is not None:
        if separation.dim() != 2 or separation.shape[0] != 2 or not 2 <= separation.shape[1] <= n + 1:
            raise ValueError(f"separation must be (2, N + 1) with 1 <= N <= n = {n}, got {tuple(separation.shape)}")
        if separation.dtype != twiddle.dtype:
            raise ValueError(f"separation must have the twiddle's dtype {twiddle.dtype}, got {separation.dtype}")
        if k is not None and k != separation.shape[1]:
            raise ValueError(f"with a separation k is its N + 1 = {separation.shape[1]}, got {k}")
        return separation.shape[1]
    k = nstacks * n if k is None else int(k)
    if not 0 <= k <= nstacks * n:
        raise ValueError(f"k must lie in [0, nstacks * n] = [0, {nstacks * n}], got {k}")
    return k


def butterfly_multiply_power(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool = True,
                             k: int | None = None, separation: torch.Tensor | None = None,
                             perm: torch.Tensor | None = None) -> torch.Tensor:
    """Power ``|y|^2`` of the first ``k`` outputs of ``y = butterfly_multiply(twiddle, x, increasing_stride)``,
    or with ``separation`` the power ``|separate(y[..., :k - 1], separation)|^2``.

    A frame's stacks count as one row of ``nstacks * n`` outputs. A fused kernel (where the device has one) takes
    the power from its tiles and never writes ``y``; elsewhere the steps run one after another, with the same
    results and gradients.

    Args:
        twiddle (Tensor): ``(nstacks, nblocks, log2 n, n/2, 2, 2)``, complex.
        x (Tensor): ``(..., nstacks, L)``, ``1 <= L <= n``, as for :func:`~kfront.core.butterfly_multiply`
            (rows shorter than ``n`` are zero-padded).
        increasing_stride (bool): as for :func:`~kfront.core.butterfly_multiply`. (Default: ``True``)
        k (int, optional): outputs kept, at most ``nstacks * n``. (Default: all of them, or with ``separation``
            its ``N + 1``)
        separation (Tensor, optional): ``(2, N + 1)`` coefficients, ``N <= n``, dtype of ``twiddle``.
        perm (LongTensor, optional): the input permutation, as for :func:`~kfront.core.butterfly_multiply`.

    Returns:
        Tensor: ``(..., k)``, real.

    Example:
        >>> from kfront.core import bitreversal_permutation, fft_twiddle
        >>> tw = fft_twiddle(8).reshape(1, 1, 3, 4, 2, 2)
        >>> x = torch.randn(5, 1, 8)
        >>> power = butterfly_multiply_power(tw, x, k=5, perm=bitreversal_permutation(8))  # |rfft(x)|^2
    """
    check_butterfly_args(twiddle, x)
    check_increasing_stride(increasing_stride)
    check_perm(perm, twiddle, x)
    k = _check_power_args(twiddle, x, k, separation)
    batch_shape, (nstacks, length), n = x.shape[:-2], x.shape[-2:], 2 * twiddle.shape[3]
    x3 = x.reshape(-1, nstacks, length)  # (batch, nstacks, L)
    op = _backend.compiled_op(_OP, x.device.type, twiddle.dtype)
    if op is not None:
        x_in = x3 if _backend.reads_strided(x.device.type) else x3.contiguous()  # as butterfly_multiply
        out = op(twiddle.contiguous(), x_in, bool(increasing_stride), k, separation, perm)  # (batch, k)
    else:
        y = butterfly_multiply(twiddle, x3, increasing_stride, perm).reshape(-1, nstacks * n)  # (batch, nstacks * n)
        out = head_power(y, k) if separation is None else head_power(separate(y[:, :k - 1], separation), k)
    return out.reshape(*batch_shape, k)
