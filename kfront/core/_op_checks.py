"""The argument checks of the ``kfront`` ops, for implementations written in Python (the Triton kernels).

A port of ``csrc/butterfly_checks.h``, message for message: the same bad input raises the same ``ValueError`` from
every implementation of an op, compiled or not. Sizes print as C++ prints them (``[3, 1, 8]``) and dtypes by
their C++ names (``Float``).
"""
import weakref

import torch

MAX_LOG_N = 30  # kMaxLogN: a frame's positions and pair indices fit a 32-bit int
_INT_MAX = 2**31 - 1
_SCALAR_NAMES = {
    torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16",
    torch.complex64: "ComplexFloat", torch.complex128: "ComplexDouble", torch.complex32: "ComplexHalf",
    torch.int64: "Long", torch.int32: "Int", torch.int16: "Short", torch.int8: "Char", torch.uint8: "Byte",
    torch.bool: "Bool",
}
COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def scalar_name(dtype: torch.dtype) -> str:
    return _SCALAR_NAMES.get(dtype, str(dtype).removeprefix("torch."))


def _sizes(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _check(cond: bool, *parts) -> None:
    if not cond:
        raise ValueError("".join(str(p) for p in parts))


def check_butterfly_inputs(twiddle: torch.Tensor, x: torch.Tensor, op: str) -> None:
    """twiddle (nstacks, nblocks, log2 n, n/2, 2, 2) and x (batch, nstacks, 1 <= L <= n) of one device, x of the
    twiddle's dtype or, with a complex twiddle, of its real counterpart."""
    _check(twiddle.dim() == 6 and twiddle.shape[4] == 2 and twiddle.shape[5] == 2, op,
           ": twiddle must have shape (nstacks, nblocks, log2 n, n/2, 2, 2), got ", _sizes(twiddle))
    log_n = twiddle.shape[2]
    _check(1 <= log_n <= MAX_LOG_N and twiddle.shape[3] == 1 << (log_n - 1) and twiddle.shape[1] <= _INT_MAX, op,
           ": twiddle shape ", _sizes(twiddle), " is inconsistent: dimension 3 must be n/2 = ",
           "2^(log2 n - 1) with 1 <= log2 n <= ", MAX_LOG_N)
    n, nstacks = 1 << log_n, twiddle.shape[0]
    _check(x.dim() == 3 and x.shape[1] == nstacks and 1 <= x.shape[2] <= n, op,
           ": x must have shape (batch, nstacks, n) = (batch, ", nstacks, ", ", n, ") for twiddle ", _sizes(twiddle),
           ", or rows of 1 <= L < n samples, zero-padded to n: (batch, ", nstacks, ", L); got ", _sizes(x),
           f" (L = {x.shape[2]})" if x.dim() == 3 else "")
    _check(twiddle.dtype == x.dtype or (twiddle.is_complex() and x.dtype == twiddle.real.dtype), op,
           ": x must have the dtype of twiddle or, with a complex twiddle, its real counterpart; got ", "twiddle ",
           scalar_name(twiddle.dtype), " and x ", scalar_name(x.dtype))
    _check(twiddle.device == x.device, op, ": twiddle is on ", twiddle.device, " but x is on ", x.device)


def check_butterfly_dtype(twiddle: torch.Tensor, op: str) -> None:
    _check(twiddle.dtype in COMPILED_DTYPES, op,
           ": the compiled kernels support float32, float64, complex64 and complex128, got ",
           scalar_name(twiddle.dtype))


def check_butterfly_grad(grad: torch.Tensor, twiddle: torch.Tensor, x: torch.Tensor, op: str) -> None:
    """grad: the gradient of the output, (batch, nstacks, n), of the twiddle's dtype."""
    n = 2 * twiddle.shape[3]
    _check(grad.dim() == 3 and tuple(grad.shape) == (x.shape[0], x.shape[1], n), op,
           ": grad must have the shape of the output (batch, nstacks, n) = (", x.shape[0], ", ", x.shape[1], ", ", n,
           "), got ", _sizes(grad))
    _check(grad.dtype == twiddle.dtype, op, ": grad must have the dtype of the output (", scalar_name(twiddle.dtype),
           "), got ", scalar_name(grad.dtype))
    _check(grad.device == x.device, op, ": grad is on ", grad.device, " but x is on ", x.device)


def check_power_args(twiddle: torch.Tensor, x: torch.Tensor, k: int, separation: torch.Tensor | None,
                     op: str) -> None:
    """The power ops: k <= nstacks * n outputs of a complex twiddle, or a separation (2, k), 2 <= k <= n + 1."""
    check_butterfly_inputs(twiddle, x, op)
    _check(twiddle.is_complex(), op, ": the power is taken of complex outputs: twiddle must be complex, got ",
           scalar_name(twiddle.dtype))
    n = 2 * twiddle.shape[3]
    if separation is None:
        _check(0 <= k <= x.shape[1] * n, op, ": k must lie in [0, nstacks * n] = [0, ", x.shape[1] * n, "], got ", k)
        return
    s = separation
    _check(s.dim() == 2 and s.shape[0] == 2 and s.shape[1] == k and k >= 2 and k - 1 <= n, op,
           ": separation must be (2, k) with 2 <= k <= n + 1 (k = ", k, ", n = ", n, "), got ", _sizes(s))
    _check(s.dtype == twiddle.dtype and s.device == twiddle.device, op,
           ": separation must have the twiddle's dtype and device, got ", scalar_name(s.dtype), " on ", s.device)


def check_power_grad(grad: torch.Tensor, twiddle: torch.Tensor, x: torch.Tensor, k: int, op: str) -> None:
    real = twiddle.real.dtype
    _check(grad.dim() == 2 and grad.shape[0] == x.shape[0] and grad.shape[1] == k and grad.dtype == real
           and grad.device == x.device, op, ": grad must be (batch, k) = (", x.shape[0], ", ", k, ") ",
           scalar_name(real), ", got ", _sizes(grad), " ", scalar_name(grad.dtype))


def check_perm(perm: torch.Tensor | None, twiddle: torch.Tensor, x: torch.Tensor, op: str) -> None:
    """perm, when given: (n,) int64 on x's device (its values: check_perm_values)."""
    if perm is None:
        return
    n = 2 * twiddle.shape[3]
    _check(perm.dim() == 1 and perm.shape[0] == n and perm.dtype == torch.int64, op, ": perm must be a (n,) = (", n,
           ",) int64 tensor, got ", _sizes(perm), " ", scalar_name(perm.dtype))
    _check(perm.device == x.device, op, ": perm is on ", perm.device, " but x is on ", x.device)


def check_perm_values(perm: torch.Tensor, op: str) -> None:
    """Raise ``ValueError`` unless ``perm`` holds each of ``0 .. n - 1`` once, naming the first entry that does not,
    as the C++ ops do (``perm_inverse``): its values are read on the host."""
    n = perm.shape[0]
    seen = [False] * n
    for j, v in enumerate(perm.tolist()):
        in_range = 0 <= v < n
        _check(in_range and not seen[v], op, ": perm must be a permutation of 0 .. ", n - 1, ", but perm[", j, "] = ",
               v, " is repeated" if in_range else " is out of range")
        seen[v] = True


# Permutations checked once per buffer, as the C++ ops keep them (csrc/butterfly_perm.h): a module passes the same
# perm buffer to every call, and reading its values is, on a GPU, a synchronisation with the host per call. An
# entry holds the buffer (weakly: the check of a new tensor at a reused address is not mistaken for it), its version
# counter, which an in-place change bumps, and a copy of the values as checked, which the kernels read, so a change
# that bypasses the version counter (through .data) never reaches them.
_PERM_ENTRIES = 16  # a model has a few permutations (one per frame size); older entries are dropped first
_checked_perms: dict[int, tuple] = {}


def checked_perm(perm: torch.Tensor | None, op: str) -> torch.Tensor | None:
    """``perm``'s values as checked (:func:`check_perm_values`), checked again only after an in-place change;
    inference tensors, which have no version counter, on every call."""
    if perm is None:
        return None
    if perm.is_inference():
        check_perm_values(perm, op)
        return perm
    entry = _checked_perms.get(id(perm))
    if entry is not None and entry[0]() is perm and entry[1] == perm._version:
        return entry[2]
    check_perm_values(perm, op)
    _checked_perms[id(perm)] = (weakref.ref(perm), perm._version, perm.detach().clone())
    while len(_checked_perms) > _PERM_ENTRIES:
        del _checked_perms[next(iter(_checked_perms))]
    return _checked_perms[id(perm)][2]
