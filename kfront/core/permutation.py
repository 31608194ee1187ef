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


def benes_twiddle(perm: torch.Tensor) -> torch.Tensor:
    """Twiddle of one ``B B*`` (``B*`` first, no permutation) whose product is the permutation ``x -> x[perm]``.

    Every permutation is in BB* (Dao et al. 2020, Theorem 2): this is the Benes network, routed by the looping
    algorithm. The first layer (stride n/2) sends each of its pairs' two inputs to different halves, the last layer
    (stride n/2) takes each of its pairs' two outputs from different halves, and the halves in between are two
    networks of size n/2, routed the same way. Which element goes to which half is a 2-colouring of the cycles that
    alternate between "same input pair" and "same output pair" (both constraints pair elements up, so the cycles are
    even). Block 0 holds the input layers (strides n/2 ... 1), block 1 the output layers (strides 1 ... n/2); every
    2x2 block is the identity or the swap.

    Args:
        perm (LongTensor): ``(n,)``, a permutation of ``0 .. n - 1``, ``n`` a power of 2 >= 2.

    Returns:
        Tensor: ``(2, log2 n, n/2, 2, 2)`` float64 of zeros and ones.

    Example:
        >>> perm = torch.randperm(8)
        >>> tw = benes_twiddle(perm)
        >>> y = butterfly_multiply(tw[None], x[..., None, :], False)[..., 0, :]  # == x[..., perm]
    """
    src = [int(v) for v in perm.tolist()]
    n = len(src)
    if n < 2 or not is_power_of_2(n) or sorted(src) != list(range(n)):
        raise ValueError(f"perm must be a permutation of 0 .. n - 1 with n a power of 2 >= 2, got {perm.tolist()}")
    log_n = n.bit_length() - 1
    tw = torch.eye(2, dtype=torch.float64).expand(2, log_n, n // 2, 2, 2).clone()
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    stack = [(0, 0, src)]  # (depth, offset, the sub-network's gather: its output j reads its input src[j])
    while stack:
        depth, offset, sub = stack.pop()
        size = len(sub)
        h = size // 2
        colour = _two_colour(sub)
        layer_in, layer_out = depth, log_n - 1 - depth  # both of stride h
        for i in range(h):
            pair = _pair_index(offset + i, h)
            if colour[i]:  # the input at i goes to the lower half
                tw[0, layer_in, pair] = swap
            if colour[sub[i]]:  # the output at i comes from the lower half
                tw[1, layer_out, pair] = swap
        if h >= 2:
            halves = ([0] * h, [0] * h)
            for j, k in enumerate(sub):
                halves[colour[k]][j % h] = k % h
            stack += [(depth + 1, offset, halves[0]), (depth + 1, offset + h, halves[1])]
    return tw


def _two_colour(src: list) -> list:
    """Half (0 upper, 1 lower) of each element of a gather ``src`` through a Benes stage: the two elements of an
    input pair ``(k, k + h)``, and the two read by an output pair ``(j, j + h)``, go to different halves."""
    size = len(src)
    h = size // 2
    dst = [0] * size
    for j, k in enumerate(src):
        dst[k] = j
    colour = [-1] * size
    for start in range(size):
        k = start
        while colour[k] < 0:  # walk the cycle: k (upper), its input partner (lower), that one's output partner...
            partner = (k + h) % size
            colour[k], colour[partner] = 0, 1
            k = src[(dst[partner] + h) % size]  # reads at the other output of the partner's pair: upper again
    return colour


def _pair_index(p: int, stride: int) -> int:
    """Index ``i`` of the pair whose first position is ``p`` in a factor of ``stride`` (the inverse of
    ``p = 2 (i - i mod s) + i mod s``)."""
    return (p // (2 * stride)) * stride + p % stride
