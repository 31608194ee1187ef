"""Every named initialisation of ``Butterfly`` and ``KMatrix`` over a grid of layouts, as tensors to compare.

``states(grid)`` builds each module of the grid (seeded, so random inits are reproducible), and records its twiddle,
fixed permutation, where that acts, and its output on a fixed input; a layout the modules refuse is recorded as the
``ValueError``'s message. Two versions of the code are the same construction when these agree bitwise:

    python tests/_init_states.py save before.pt    # on one version
    python tests/_init_states.py compare before.pt  # on the other: prints the first differences, exit 1 if any

``tests/test_constructions_unchanged.py`` keeps the SHA-256 digests of the small grid.
"""
import hashlib
import itertools
import sys

import torch

from kfront.core import Butterfly, KMatrix

INITS = ("fft", "ifft", "identity", "ortho", "randn")


def _butterfly_grid(sizes, dtypes):
    for (i, o), init, nblocks, inc, perm, norm, dft, dtype in itertools.product(
            sizes, INITS, (1, 2, 3), (True, False), ("auto", "bitrev", "none"), (False, True), (None, "in"), dtypes):
        if init not in ("fft", "ifft") and (norm or dft):
            continue  # arguments of the DFT only
        dft_size = i if dft == "in" else None
        for complex_ in ((True,) if init in ("fft", "ifft") else (False, True)):
            yield ("Butterfly", dict(in_size=i, out_size=o, complex=complex_, increasing_stride=inc, nblocks=nblocks,
                                     init=init, normalized=norm, permutation=perm, dtype=dtype, dft_size=dft_size))


def _kmatrix_grid(sizes, dtypes):
    for (i, o), init, width, expansion, perm, norm, dft, dtype in itertools.product(
            sizes, INITS, (1, 2), (1, 2, 4), ("auto", "bitrev", "none"), (False, True), (None, "pow2"), dtypes):
        if init not in ("fft", "ifft") and (norm or dft):
            continue
        dft_size = 1 << (max(i, o) - 1).bit_length() if dft == "pow2" else None
        for complex_ in ((True,) if init in ("fft", "ifft") else (False, True)):
            yield ("KMatrix", dict(in_size=i, out_size=o, width=width, expansion=expansion, complex=complex_, init=init,
                                   normalized=norm, permutation=perm, dtype=dtype, dft_size=dft_size))


SMALL = dict(sizes=[(1, 1), (3, 2), (8, 8), (12, 7), (20, 40)],
             dtypes=(torch.float32, torch.float64))
LARGE = dict(sizes=[(64, 64), (100, 51), (300, 1000), (400, 201), (441, 441), (512, 257)],
             dtypes=(torch.float64,))


def grid(which: str = "small"):
    """The layouts of ``"small"`` (n <= 64: the test's) or ``"all"`` (small and up to 1024)."""
    parts = [SMALL] if which == "small" else [SMALL, LARGE]
    for part in parts:
        yield from _butterfly_grid(**part)
        yield from _kmatrix_grid(**part)


def _name(kind: str, kwargs: dict) -> str:
    return kind + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def states(which: str = "small", outputs: bool = True) -> dict:
    """``{layout name: {"twiddle", "perm", "perm_at", "out"} or {"error": message}}`` (``"out"`` with
    ``outputs``)."""
    out = {}
    for kind, kwargs in grid(which):
        name = _name(kind, kwargs)
        torch.manual_seed(0)  # the global generator: the default path of the random inits
        try:
            module = (Butterfly if kind == "Butterfly" else KMatrix)(**kwargs)
        except ValueError as err:
            out[name] = {"error": str(err)}
            continue
        if module.init in ("ortho", "randn"):
            module.reset_parameters(generator=torch.Generator().manual_seed(1))
        out[name] = {"twiddle": module.twiddle.detach().clone(), "perm": module.perm,
                     "perm_at": str(module.permutation_at)}
        if outputs:
            real = module.twiddle.real.dtype
            x = torch.randn(3, module.in_size, dtype=real, generator=torch.Generator().manual_seed(2))
            with torch.no_grad():
                out[name]["out"] = module(x)
    return out


def digest(state: dict) -> str:
    """SHA-256 of a layout's state: tensors by dtype, shape and bytes; strings as they are."""
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        h.update(key.encode())
        if isinstance(value, torch.Tensor):
            h.update(f"{value.dtype}{tuple(value.shape)}".encode())
            v = value.contiguous()
            h.update((torch.view_as_real(v) if v.is_complex() else v).numpy().tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return a == b


def compare(before: dict, after: dict) -> list:
    """Names (with the differing key) of the layouts whose states differ, or that only one side has."""
    bad = [f"{name}: only before" for name in before if name not in after]
    bad += [f"{name}: only after" for name in after if name not in before]
    for name in before.keys() & after.keys():
        b, a = before[name], after[name]
        for key in b.keys() | a.keys():
            if not _same(b.get(key), a.get(key)):
                bad.append(f"{name}: {key}")
    return sorted(bad)


def main(argv) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__)
        return 2
    now = states("all")
    if argv[0] == "save":
        torch.save(now, argv[1])
        print(f"{len(now)} layouts ({sum('error' in s for s in now.values())} refused) -> {argv[1]}")
        return 0
    bad = compare(torch.load(argv[1]), now)
    print(f"{len(now)} layouts compared, {len(bad)} differ")
    for line in bad[:20]:
        print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
