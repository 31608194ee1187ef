"""``butterfly_multiply``: the one entry point to the butterfly op, whichever backend runs it (the power of its
outputs, fused where a backend has that kernel, is :mod:`kfront.core.power`)."""
import torch

from . import _backend
from ._reference import butterfly_multiply_reference


def check_butterfly_args(twiddle: torch.Tensor, x: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the sizes or dtypes when ``twiddle`` and ``x`` do not fit together: ``x`` must be
    ``(..., nstacks, L)`` with ``1 <= L <= n`` (rows shorter than ``n`` are zero-padded)."""
    if not isinstance(twiddle, torch.Tensor) or not isinstance(x, torch.Tensor):
        raise ValueError(f"twiddle and x must be tensors, got {type(twiddle).__name__} and {type(x).__name__}")
    if twiddle.dim() != 6 or twiddle.shape[-2:] != (2, 2):
        raise ValueError("twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), "
                         f"got {tuple(twiddle.shape)}")
    nstacks, _, log_n, half = twiddle.shape[:4]
    if nstacks < 1:
        raise ValueError(f"twiddle has nstacks = 0 (shape {tuple(twiddle.shape)}): a product needs at least one stack")
    if log_n < 1 or half != 1 << (log_n - 1):
        raise ValueError(f"twiddle shape {tuple(twiddle.shape)} is inconsistent: with log2 n = {log_n} "
                         f"dimension 3 must be n/2 = {(1 << log_n) // 2 if log_n >= 1 else 'n/a'}, got {half}")
    n = 1 << log_n
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., nstacks, n) = (..., {nstacks}, {n}), or rows of 1 <= L < n "
                         f"samples, zero-padded to n: (..., {nstacks}, L); got {tuple(x.shape)}")
    if not 1 <= x.shape[-1] <= n or x.shape[-2] != nstacks:
        raise ValueError(f"x has shape {tuple(x.shape)} but twiddle {tuple(twiddle.shape)} expects "
                         f"(..., nstacks={nstacks}, n={n}), or rows of 1 <= L < n samples, zero-padded to n "
                         f"(L = {x.shape[-1]})")
    if x.is_complex() and not twiddle.is_complex():
        raise ValueError(f"a complex x needs a complex twiddle, got twiddle {twiddle.dtype} and x {x.dtype}")
    if twiddle.dtype != x.dtype and x.dtype != twiddle.real.dtype:  # a real x with a complex twiddle: real input
        raise ValueError(f"x must have the dtype of twiddle or, with a complex twiddle, its real counterpart, got "
                         f"twiddle {twiddle.dtype} and x {x.dtype}")
    if not (x.is_floating_point() or x.is_complex()):
        raise ValueError(f"x must be a floating-point or complex tensor, got {x.dtype}")
    if twiddle.device != x.device:
        raise ValueError(f"twiddle is on {twiddle.device} but x is on {x.device}")


def check_increasing_stride(increasing_stride) -> None:
    """Raise ``ValueError`` naming the value unless ``increasing_stride`` is a bool (a string such as ``"no"``
    would otherwise be read as ``True``)."""
    if not isinstance(increasing_stride, bool) and not (isinstance(increasing_stride, int)
                                                        and increasing_stride in (0, 1)):
        raise ValueError(f"increasing_stride must be a bool, got {increasing_stride!r}")


def check_perm(perm: torch.Tensor | None, twiddle: torch.Tensor, x: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the value when ``perm`` is not an input permutation for ``twiddle``: ``(n,)``
    int64 on ``x``'s device. (Its values are checked by whichever implementation reads it.)"""
    if perm is None:
        return
    n = 2 * twiddle.shape[3]
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1 or perm.shape[0] != n or perm.dtype != torch.long:
        what = f"{tuple(perm.shape)} {perm.dtype}" if isinstance(perm, torch.Tensor) else type(perm).__name__
        raise ValueError(f"perm must be a ({n},) int64 tensor (a permutation of the n = {n} inputs), got {what}")
    if perm.device != x.device:
        raise ValueError(f"perm is on {perm.device} but x is on {x.device}")


def check_perm_values(perm: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``perm`` holds each of ``0 .. n - 1`` once (the reference's own check; the
    compiled kernels check it themselves)."""
    if not torch.equal(torch.sort(perm).values, torch.arange(perm.shape[0], device=perm.device)):
        raise ValueError(f"perm must be a permutation of 0 .. {perm.shape[0] - 1}")


def butterfly_multiply(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool = True,
                       perm: torch.Tensor | None = None) -> torch.Tensor:
    """Multiply ``x`` by the butterfly matrices held in ``twiddle``.

    Runs the compiled kernel for the tensor's device when one is loaded (see :func:`kfront.backend`) and the
    pure-PyTorch reference otherwise; both give the same result and gradients for ``x`` and ``twiddle``.

    Args:
        twiddle (Tensor): ``(nstacks, nblocks, log2 n, n/2, 2, 2)``, real or complex. Block ``b`` applies
            ``log2 n`` factors; blocks alternate stride order, starting with ``increasing_stride``.
        x (Tensor): ``(..., nstacks, L)``, ``1 <= L <= n``, with the dtype of ``twiddle`` or, when ``twiddle`` is
            complex, its real counterpart (a real input, read without a copy to complex; its gradient is real);
            any number of leading batch dims. Rows shorter than ``n`` (``L < n``) are the first ``L`` entries of
            rows zero-padded to ``n``: the compiled CPU kernel reads them without a padded copy, and the gradient
            for ``x`` has ``x``'s shape.
        increasing_stride (bool): ``True`` applies strides 1, 2, ..., n/2 in the first block (a butterfly
            ``B``), ``False`` applies n/2, ..., 1 (its transpose pattern ``B*``). (Default: ``True``)
        perm (LongTensor, optional): ``(n,)``, a permutation of ``0 .. n - 1`` applied to the input first: the
            product's input ``j`` is entry ``perm[j]`` of the row zero-padded to ``n`` (entries past ``L`` read
            zero). The compiled CPU kernel applies it while loading its tiles, so no permuted copy of ``x`` is
            made; ``x``'s gradient comes back in ``x``'s order. (Default: none)

    Returns:
        Tensor: ``(..., nstacks, n)``, with the dtype of ``twiddle``.

    Example:
        >>> from kfront.core import twiddles
        >>> tw = twiddles.fft_twiddle(8).reshape(1, 1, 3, 4, 2, 2)
        >>> x = torch.randn(5, 1, 8, dtype=torch.complex64)
        >>> y = butterfly_multiply(tw, x, perm=bitreversal_permutation(8))  # == torch.fft.fft(x)
    """
    check_butterfly_args(twiddle, x)
    check_perm(perm, twiddle, x)
    check_increasing_stride(increasing_stride)
    batch_shape, (nstacks, length), n = x.shape[:-2], x.shape[-2:], 2 * twiddle.shape[3]
    x3 = x.reshape(-1, nstacks, length)  # (batch, nstacks, L)
    op = _backend.compiled_op("butterfly_multiply", x.device.type, twiddle.dtype)
    if op is not None:
        # The C++ kernels read dense rows; the Triton kernels any strides (the front-end's overlapping frames).
        x_in = x3 if _backend.reads_strided(x.device.type) else x3.contiguous()
        out = op(twiddle.contiguous(), x_in, bool(increasing_stride), perm)
    else:
        if perm is not None and not torch.compiler.is_compiling():  # a data-dependent check: eager only
            check_perm_values(perm)
        out = butterfly_multiply_reference(twiddle, x3, bool(increasing_stride), perm)  # pads the rows
    return out.reshape(*batch_shape, nstacks, n)
