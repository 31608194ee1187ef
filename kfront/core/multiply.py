"""``butterfly_multiply``: the one entry point to the butterfly op, whichever backend runs it; and
``butterfly_multiply_power``, the power of its first outputs in one fused op where the compiled kernel has it."""
import torch
from torch import nn

from . import _backend
from ._reference import butterfly_multiply_reference

_COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def check_butterfly_args(twiddle: torch.Tensor, x: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the sizes or dtypes when ``twiddle`` and ``x`` do not fit together."""
    if not isinstance(twiddle, torch.Tensor) or not isinstance(x, torch.Tensor):
        raise ValueError(f"twiddle and x must be tensors, got {type(twiddle).__name__} and {type(x).__name__}")
    if twiddle.dim() != 6 or twiddle.shape[-2:] != (2, 2):
        raise ValueError("twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), "
                         f"got {tuple(twiddle.shape)}")
    nstacks, _, log_n, half = twiddle.shape[:4]
    if log_n < 1 or half != 1 << (log_n - 1):
        raise ValueError(f"twiddle shape {tuple(twiddle.shape)} is inconsistent: with log2 n = {log_n} "
                         f"dimension 3 must be n/2 = {(1 << log_n) // 2 if log_n >= 1 else 'n/a'}, got {half}")
    n = 1 << log_n
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., nstacks, n) = (..., {nstacks}, {n}), got {tuple(x.shape)}")
    if x.shape[-1] != n or x.shape[-2] != nstacks:
        raise ValueError(f"x has shape {tuple(x.shape)} but twiddle {tuple(twiddle.shape)} expects "
                         f"(..., nstacks={nstacks}, n={n})")
    if x.is_complex() and not twiddle.is_complex():
        raise ValueError(f"a complex x needs a complex twiddle, got twiddle {twiddle.dtype} and x {x.dtype}")
    if twiddle.dtype != x.dtype and x.dtype != twiddle.real.dtype:  # a real x with a complex twiddle: real input
        raise ValueError(f"x must have the dtype of twiddle or, with a complex twiddle, its real counterpart, got "
                         f"twiddle {twiddle.dtype} and x {x.dtype}")
    if not (x.is_floating_point() or x.is_complex()):
        raise ValueError(f"x must be a floating-point or complex tensor, got {x.dtype}")
    if twiddle.device != x.device:
        raise ValueError(f"twiddle is on {twiddle.device} but x is on {x.device}")


def butterfly_multiply(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool = True) -> torch.Tensor:
    """Multiply ``x`` by the butterfly matrices held in ``twiddle``.

    Runs the compiled kernel for the tensor's device when one is loaded (see :func:`kfront.backend`) and the
    pure-PyTorch reference otherwise; both give the same result and gradients for ``x`` and ``twiddle``.

    Args:
        twiddle (Tensor): ``(nstacks, nblocks, log2 n, n/2, 2, 2)``, real or complex. Block ``b`` applies
            ``log2 n`` factors; blocks alternate stride order, starting with ``increasing_stride``.
        x (Tensor): ``(..., nstacks, n)`` with the dtype of ``twiddle`` or, when ``twiddle`` is complex, its
            real counterpart (a real input, read without a copy to complex; its gradient is real); any number
            of leading batch dims.
        increasing_stride (bool): ``True`` applies strides 1, 2, ..., n/2 in the first block (a butterfly
            ``B``), ``False`` applies n/2, ..., 1 (its transpose pattern ``B*``). (Default: ``True``)

    Returns:
        Tensor: ``(..., nstacks, n)``, with the dtype of ``twiddle``.

    Example:
        >>> from kfront.core import twiddles
        >>> tw = twiddles.fft_twiddle(8).reshape(1, 1, 3, 4, 2, 2)
        >>> x = torch.randn(5, 1, 8, dtype=torch.complex64)
        >>> y = butterfly_multiply(tw, x[..., bitreversal_permutation(8)])  # == torch.fft.fft(x)
    """
    check_butterfly_args(twiddle, x)
    batch_shape = x.shape[:-2]
    nstacks, n = x.shape[-2:]
    x3 = x.reshape(-1, nstacks, n)  # (batch, nstacks, n)
    op = _backend.compiled_op(x.device.type) if x.dtype in _COMPILED_DTYPES else None
    if op is not None:
        out = op(twiddle.contiguous(), x3.contiguous(), bool(increasing_stride))  # the kernel reads dense rows
    else:
        out = butterfly_multiply_reference(twiddle, x3, bool(increasing_stride))
    return out.reshape(*batch_shape, nstacks, n)


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
    """Power ``|y|^2`` of the first ``k`` entries of the last dimension of complex ``y``: ``(..., m) -> (..., k)``."""
    return _HeadPower.apply(y, k)


def separate(z_spec: torch.Tensor, separation: torch.Tensor) -> torch.Tensor:
    """``X_k = a_k Z_(k mod N) + b_k conj(Z_((N - k) mod N))`` for ``k = 0 .. N``: ``(..., N) -> (..., N + 1)``.

    The separation stage of a real frame packed as ``N`` complex numbers; ``separation`` is ``(2, N + 1)``
    (rows ``a``, ``b``)."""
    z_k = torch.cat((z_spec, z_spec[..., :1]), -1)  # Z_(k mod N), k = 0 .. N
    z_rev = torch.cat((z_spec[..., :1], z_spec.flip(-1)), -1)  # Z_((N - k) mod N)
    return separation[0] * z_k + separation[1] * z_rev.conj()


def butterfly_multiply_power(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool = True,
                             k: int | None = None, separation: torch.Tensor | None = None) -> torch.Tensor:
    """Power ``|y|^2`` of the first ``k`` outputs of ``y = butterfly_multiply(twiddle, x, increasing_stride)``,
    or with ``separation`` the power ``|separate(y[..., :k - 1], separation)|^2``.

    A frame's stacks count as one row of ``nstacks * n`` outputs. On CPU the compiled kernel computes the power
    straight from its tiles and never writes ``y`` (its backward recomputes it): a fraction of the memory traffic
    of the separate steps. Elsewhere, and on the reference backend, it is ``butterfly_multiply``, then
    :func:`separate`, then the power, with the same results and gradients.

    Args:
        twiddle (Tensor): ``(nstacks, nblocks, log2 n, n/2, 2, 2)``, complex.
        x (Tensor): ``(..., nstacks, n)``, as for :func:`butterfly_multiply`.
        increasing_stride (bool): as for :func:`butterfly_multiply`. (Default: ``True``)
        k (int, optional): outputs kept, at most ``nstacks * n``. (Default: all of them, or with ``separation``
            its ``N + 1``)
        separation (Tensor, optional): ``(2, N + 1)`` coefficients, ``N <= n``, dtype of ``twiddle``.

    Returns:
        Tensor: ``(..., k)``, real.
    """
    check_butterfly_args(twiddle, x)
    if not twiddle.is_complex():
        raise ValueError(f"the power is taken of complex outputs: twiddle must be complex, got {twiddle.dtype}")
    batch_shape, (nstacks, n) = x.shape[:-2], x.shape[-2:]
    if separation is not None:
        if separation.dim() != 2 or separation.shape[0] != 2 or not 2 <= separation.shape[1] <= n + 1:
            raise ValueError(f"separation must be (2, N + 1) with 1 <= N <= n = {n}, got {tuple(separation.shape)}")
        if separation.dtype != twiddle.dtype:
            raise ValueError(f"separation must have the twiddle's dtype {twiddle.dtype}, got {separation.dtype}")
        if k is not None and k != separation.shape[1]:
            raise ValueError(f"with a separation k is its N + 1 = {separation.shape[1]}, got {k}")
        k = separation.shape[1]
    k = nstacks * n if k is None else int(k)
    if separation is None and not 0 <= k <= nstacks * n:
        raise ValueError(f"k must lie in [0, nstacks * n] = [0, {nstacks * n}], got {k}")
    x3 = x.reshape(-1, nstacks, n)  # (batch, nstacks, n)
    if x.device.type == "cpu" and _backend.compiled_op("cpu") is not None:
        out = torch.ops.kfront.butterfly_multiply_power(twiddle.contiguous(), x3.contiguous(),
                                                        bool(increasing_stride), k, separation)  # (batch, k)
    else:
        y = butterfly_multiply(twiddle, x3, increasing_stride).reshape(-1, nstacks * n)  # (batch, nstacks * n)
        out = head_power(y, k) if separation is None else head_power(separate(y[:, :k - 1], separation), k)
    return out.reshape(*batch_shape, k)
