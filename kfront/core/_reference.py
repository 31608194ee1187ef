"""Pure-PyTorch butterfly multiply, the reference every kernel is checked against: one batched 2x2 product per
factor, any dtype and device, differentiated by autograd."""
import torch
from torch import nn


def butterfly_multiply_reference(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool = True,
                                 perm: torch.Tensor | None = None) -> torch.Tensor:
    """Apply ``nblocks`` butterfly matrices, ``log2 n`` factors each, to ``x``.

    Block ``b`` uses increasing strides (1, 2, ..., n/2) when ``increasing_stride`` holds and ``b`` is even,
    decreasing strides otherwise: blocks alternate, so ``nblocks=2, increasing_stride=False`` is one
    ``B B*`` product (``B*`` applied first). Layer ``l`` of block ``b`` uses ``twiddle[:, b, l]``; within a
    factor of stride ``s``, pair ``i`` combines positions ``p = 2 (i - i mod s) + i mod s`` and ``p + s``::

        out[p]     = t[i, 0, 0] * x[p] + t[i, 0, 1] * x[p + s]
        out[p + s] = t[i, 1, 0] * x[p] + t[i, 1, 1] * x[p + s]

    Rows shorter than ``n`` are zero-padded at the end.

    Args:
        twiddle (Tensor): ``(nstacks, nblocks, log2 n, n / 2, 2, 2)``.
        x (Tensor): ``(batch, nstacks, L)``, ``1 <= L <= n``, same dtype as ``twiddle`` or, with a complex
            ``twiddle``, real (the output is complex, as with no blocks).
        increasing_stride (bool): stride order of the first block. (Default: ``True``)
        perm (LongTensor, optional): ``(n,)``, a permutation: the product's input ``j`` is entry ``perm[j]`` of
            the padded row. (Default: none)

    Returns:
        Tensor: ``(batch, nstacks, n)``.
    """
    batch, nstacks, length = x.shape
    nblocks, log_n, n = twiddle.shape[1], twiddle.shape[2], 2 * twiddle.shape[3]
    if length < n:
        x = nn.functional.pad(x, (0, n - length))  # (batch, nstacks, n)
    if perm is not None:
        x = x[..., perm]
    # Split the twiddle once into its 2x2 entries per (block, layer): indexing it inside the loop would make
    # autograd scatter a full-size zero gradient for every selection.
    t00, t01, t10, t11 = (t.unbind(1) for t in twiddle.flatten(-2).unbind(-1))  # each nblocks x (ns, log n, n/2)
    out = x if x.dtype == twiddle.dtype or not twiddle.is_complex() else x.to(twiddle.dtype)
    increasing = increasing_stride
    for block in range(nblocks):
        entries = [e[block].unbind(1) for e in (t00, t01, t10, t11)]  # 4 x log_n x (nstacks, n/2)
        for layer in range(log_n):
            log_stride = layer if increasing else log_n - 1 - layer
            s = 1 << log_stride
            # pair i = j*s + k sits at group j, offset k: (nstacks, n/2) -> (nstacks, n/(2s), s)
            a, b, c, d = (e[layer].reshape(nstacks, n // (2 * s), s) for e in entries)
            # (batch, nstacks, n) -> (batch, nstacks, n/(2s), 2, s): halves [p] and [p + s] of each group
            y = out.reshape(batch, nstacks, n // (2 * s), 2, s)
            y0, y1 = y[..., 0, :], y[..., 1, :]
            out = torch.stack((a * y0 + b * y1, c * y0 + d * y1), dim=-2).reshape(batch, nstacks, n)
        increasing = not increasing
    return out
