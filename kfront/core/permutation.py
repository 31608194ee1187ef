"""Fixed permutations used with butterfly matrices, and the package's one home for power-of-2 arithmetic."""
import torch


def is_power_of_2(n: int) -> bool:
    """Whether the int ``n`` is 1, 2, 4, 8, ... (``False`` for ``n < 1``)."""
    return n >= 1 and n & (n - 1) == 0


def next_power_of_2(n: int) -> int:
    """Smallest power of 2 that is >= ``n`` (``n >= 1``)."""
    if n < 1:
        raise ValueError(f"size must be >= 1, got {n}")
    return 1 << (n - 1).bit_length()


def bitreversal_permutation(n: int, device=None) -> torch.Tensor:
    """Bit-reversal permutation of ``range(n)``: entry ``i`` is ``i`` with its ``log2 n`` bits reversed.

    ``x[..., bitreversal_permutation(n)]`` is the reordering a decimation-in-time FFT applies to its input
    (n = 8: ``[0, 4, 2, 6, 1, 5, 3, 7]``). The permutation is its own inverse.

    Args:
        n (int): a power of 2.
        device: where to put the result.

    Returns:
        LongTensor of shape ``(n,)``.
    """
    if not is_power_of_2(n):
        raise ValueError(f"bit reversal needs a power of 2, got n={n}")
    log_n = n.bit_length() - 1
    idx = torch.arange(n, device=device)
    rev = torch.zeros_like(idx)
    for bit in range(log_n):
        rev |= ((idx >> bit) & 1) << (log_n - 1 - bit)
    return rev


def invert_permutation(perm: torch.Tensor) -> torch.Tensor:
    """The permutation ``q`` with ``q[perm] == arange(n)``."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel(), device=perm.device)
    return inv
