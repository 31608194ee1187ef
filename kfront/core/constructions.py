"""Named constructions: the maps a ``Butterfly`` or ``KMatrix`` holds exactly, and its random starts.

``Butterfly`` and ``KMatrix`` are structure (sizes, blocks, stride order, a fixed permutation); what their twiddles
hold comes from here. Two kinds of entry point:

- the factories, each returning a :class:`~kfront.core.KMatrix` that equals its map to float rounding:
  :func:`dft` / :func:`idft` (any length), :func:`dct` (orthonormal DCT-II, any length), :func:`hadamard`,
  :func:`circular_convolution` (any length), :func:`permutation` (any length), :func:`identity` and :func:`random`;
- :func:`initial_state`, which the modules' ``init=`` convenience calls: the twiddle, fixed permutation and its
  place for ``"fft"``, ``"ifft"``, ``"identity"``, ``"ortho"`` or ``"randn"`` in any module layout.

Parameter counts (real numbers; a complex twiddle counts 2): a K-matrix of width ``w`` and size ``M`` has
``4 w M log2 M`` twiddles, against ``N^2`` (real) or ``2 N^2`` (complex) entries of the dense matrix.
"""
import math

import torch

from .bluestein import bluestein_twiddle, check_dft_size, chirp, convolution_twiddle, dft_construction
from .permutation import benes_twiddle, bitreversal_permutation, is_power_of_2, next_power_of_2
from .twiddles import fft_twiddle, identity_twiddle, ortho_twiddle, randn_twiddle

# Design note. Where each construction sits, in the K-matrix's blocks ``B*_1, B_1, B*_2, B_2, ...`` (``B*`` decreasing
# strides, applied first), of size ``M``:
#
# - DFT, ``N`` a power of 2 (Cooley-Tukey): a bit-reversal gather of the input, ``B*_1`` the identity, ``B_1`` the
#   decimation-in-time FFT. Width 1, ``M = N``.
# - DFT, any other ``N`` (Bluestein, :mod:`kfront.core.bluestein`): ``B*_1 B_1`` the chirp-z identity, no permutation.
#   Width 1, ``M`` = the next power of 2 >= ``2N - 1``.
# - Circular convolution with ``h``: ``IDFT diag(DFT h) DFT`` as one ``B B*`` (DIF, the spectrum in bit-reversed
#   order, DIT; :func:`kfront.core.bluestein.convolution_twiddle`). For ``N`` not a power of 2 the length-``N``
#   convolution is the length-``M`` one (``M >= 2N - 1``) with ``h`` repeated over ``(-N, N)``: ``k - n`` never wraps
#   onto another lag. Width 1, ``M = N`` or the next power of 2 >= ``2N - 1``.
# - Permutation: the Benes network (:func:`kfront.core.permutation.benes_twiddle`), the input zero-padded to ``M = ``
#   the next power of 2 >= N and the padding mapped to itself. Width 1, real.
# - Walsh-Hadamard (Sylvester order, ``N`` a power of 2): ``B*_1`` the identity, every 2x2 block of ``B_1`` ``[[1, 1],
#   [1, -1]]`` (over sqrt 2 for the orthonormal one). Width 1, real.
# - DCT-II of length ``N`` (Makhoul): ``y_k = s_k / 2 e^(-i pi k / 2N) Z_k`` for ``k < N``, where ``Z`` is the DFT of
#   length ``2N`` of the symmetric extension ``z = [x, x reversed]`` and ``s_0 = sqrt(1/N)``, ``s_k = sqrt(2/N)``.
#   ``B*_1 B_1`` builds ``z``: the first layer copies ``x`` into both halves (2x2 blocks ``[[1, 0], [1, 0]]``) and the
#   rest is the Benes network that moves the copies where ``z`` needs them. ``B*_2 B_2`` is the DFT of length 2N
#   restricted to its first ``N`` outputs: for a power-of-2 ``N``, the DIT FFT of size ``M = 2N`` (the copies are
#   placed in bit-reversed order, so no gather is needed) with the output diagonal in its last layer; otherwise
#   Bluestein's convolution, of length ``M`` >= ``3N - 1`` only, since ``k - m`` lies in ``(-2N, N)`` when only ``k <
#   N`` is kept. Width 2; complex twiddles whose product is the real DCT matrix (imaginary parts at rounding).

INITS = ("fft", "ifft", "identity", "ortho", "randn")
DFT_INITS = ("fft", "ifft")


# --- the modules' init= convenience ---------------------------------------------------------------------------------
def dft_length(init: str, dft_size: int | None, in_size: int, out_size: int, default: int) -> int | None:
    """The length ``N`` of the DFT an ``"fft"``/``"ifft"`` init builds (``None`` for other inits), checked."""
    if init not in DFT_INITS:
        if dft_size is not None:
            raise ValueError(f"dft_size is the length of the DFT of init='fft'/'ifft', got dft_size={dft_size} "
                             f"with init={init!r}")
        return None
    n = check_dft_size(default if dft_size is None else dft_size)
    if n < in_size:
        raise ValueError(f"dft_size must be >= in_size = {in_size} (the DFT reads every input), got {n}")
    if dft_construction(n) == "bluestein" and n < out_size:
        raise ValueError(f"out_size must be <= dft_size = {n} for a DFT that is not of a power-of-2 length "
                         f"(Bluestein: outputs past N are not the DFT), got out_size={out_size}")
    return n


def check_dft_layout(n: int, nblocks: int, increasing_stride: bool, permutation: str) -> None:
    """Raise ``ValueError`` unless a module of ``nblocks`` blocks can hold the length-``n`` DFT (Bluestein only)."""
    if dft_construction(n) != "bluestein":
        return
    if nblocks < 2 + increasing_stride:
        raise ValueError(f"the DFT of length {n} (not a power of 2) is one B B* (Bluestein): it needs a "
                         "decreasing-stride block followed by an increasing-stride one, i.e. nblocks >= 2 with "
                         f"increasing_stride=False or nblocks >= 3, got nblocks={nblocks}, "
                         f"increasing_stride={increasing_stride}")
    if permutation == "bitrev":
        raise ValueError(f"the DFT of length {n} (Bluestein) needs no permutation, got permutation='bitrev'; "
                         "use 'auto' or 'none'")


def default_permutation(construction: str | None) -> str:
    """What ``permutation="auto"`` means: bit reversal for a Cooley-Tukey DFT, none otherwise."""
    return "bitrev" if construction == "cooley-tukey" else "none"


@torch.no_grad()
def initial_state(module, generator: torch.Generator | None = None) -> tuple:
    """``(twiddle, perm, perm_at)`` for ``module.init`` in the module's layout (``Butterfly`` or ``KMatrix``).

    The DFT goes into the first block that runs increasing strides (decimation in time, bit reversal on the input)
    or, for one decreasing-stride block alone, into that block (decimation in frequency, bit reversal on the
    output); Bluestein's ``B B*`` into the first decreasing-stride block and the next. Every other block is the
    identity; an expanded size repeats the DFT in every chunk. Random inits fill every factor from ``generator``.
    """
    t = module.twiddle
    if module.construction == "bluestein":
        new, perm_at = _bluestein_layout(module, t.dtype), "input"  # no permutation: where one would act
    elif module.construction == "cooley-tukey":
        new = identity_twiddle(t.shape, dtype=t.dtype)
        block, dit = _dft_block(module)
        nd = module.dft_size
        log_nd = nd.bit_length() - 1
        dft = fft_twiddle(nd, normalized=module.normalized, inverse=module.init == "ifft", increasing_stride=dit,
                          dtype=t.dtype)  # (log nd, nd/2, 2, 2)
        # The first log nd layers act inside blocks of nd; later layers (an expanded K-matrix) stay identity.
        new[:, block, :log_nd] = dft.repeat(1, module.size // nd, 1, 1)
        perm_at = "input" if dit else "output"
    else:
        make = {"identity": lambda s, d: identity_twiddle(s, dtype=d),
                "ortho": lambda s, d: ortho_twiddle(s, dtype=d, generator=generator),
                "randn": lambda s, d: randn_twiddle(s, dtype=d, generator=generator)}[module.init]
        new, perm_at = make(t.shape, t.dtype), "input"
    perm = None
    if module.permutation == "bitrev":
        nd = module.dft_size if module.construction == "cooley-tukey" else module._base_size()
        within = bitreversal_permutation(nd, device=t.device)
        perm = (torch.arange(0, module.size, nd, device=t.device)[:, None] + within).reshape(-1)
    return new, perm, perm_at


def _dft_block(module) -> tuple:
    """Which block holds the Cooley-Tukey DFT and whether it runs increasing strides (decimation in time)."""
    if module.increasing_stride:
        return 0, True
    if module.nblocks >= 2:
        return 1, True  # block 0 (B*) stays at identity; block 1 (B) is the DIT FFT
    return 0, False


def _bluestein_layout(module, dtype: torch.dtype) -> torch.Tensor:
    """Identity twiddles with Bluestein's B B* of size M in the first decreasing-stride block and the next: its DIF
    layers are the last log M of the first (strides M/2 .. 1), its DIT layers the first log M of the second (strides
    1 .. M/2); with an expanded size they repeat in every chunk of M and the rest is identity."""
    new = identity_twiddle(module.twiddle.shape, dtype=dtype)  # (nstacks, nblocks, log n, n/2, 2, 2)
    dft = bluestein_twiddle(module.dft_size, normalized=module.normalized, inverse=module.init == "ifft",
                            dtype=dtype)  # (2, log M, M/2, 2, 2)
    log_m = dft.shape[1]
    reps = module.size // (2 * dft.shape[2])
    block = 1 if module.increasing_stride else 0  # the first decreasing-stride block
    new[:, block, module.log_n - log_m:] = dft[0].repeat(1, reps, 1, 1)
    new[:, block + 1, :log_m] = dft[1].repeat(1, reps, 1, 1)
    return new


# --- factories ------------------------------------------------------------------------------------------------------
def dft(n: int, out_size: int | None = None, *, inverse: bool = False, normalized: bool = False, width: int = 1,
        expansion: int = 1, dtype: torch.dtype | None = None, device=None):
    """The DFT of length ``n`` (any ``n >= 1``) as a K-matrix: ``torch.fft.fft`` of its ``(..., n)`` input.

    Args:
        n (int): transform length.
        out_size (int, optional): keep the first ``out_size`` bins (``n // 2 + 1``: ``rfft`` of real frames).
            (Default: ``n``)
        inverse (bool): the inverse DFT, ``torch.fft.ifft``. (Default: ``False``)
        normalized (bool): the unitary transform (``norm="ortho"``). (Default: ``False``)
        width (int): width ``w`` of the K-matrix; the factors past the first are the identity. (Default: ``1``)
        expansion (int): expansion ``e``, a power of 2. (Default: ``1``)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Returns:
        KMatrix: width ``w``, size ``e n`` (power of 2) or ``e M`` (Bluestein, ``M >= 2n - 1``).

    Example:
        >>> k = dft(400, 201)  # (..., 400) -> (..., 201), equal to torch.fft.rfft
    """
    from .kmatrix import KMatrix

    return KMatrix(n, n if out_size is None else out_size, width=width, expansion=expansion, complex=True,
                   init="ifft" if inverse else "fft", normalized=normalized, dtype=dtype, device=device, dft_size=n)


def idft(n: int, out_size: int | None = None, **kwargs):
    """The inverse DFT of length ``n`` as a K-matrix (:func:`dft` with ``inverse=True``; the same arguments)."""
    return dft(n, out_size, inverse=True, **kwargs)


def identity(n: int, out_size: int | None = None, *, width: int = 1, expansion: int = 1, complex: bool = False,
             dtype: torch.dtype | None = None, device=None):
    """The identity (its first ``out_size`` rows) as a K-matrix: every 2x2 block the identity matrix.

    Args:
        n (int): input size.
        out_size (int, optional): output size. (Default: ``n``)
        width (int): width ``w``. (Default: ``1``)
        expansion (int): expansion ``e``, a power of 2. (Default: ``1``)
        complex (bool): complex twiddles. (Default: ``False``)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Example:
        >>> k = identity(64, width=2)
    """
    from .kmatrix import KMatrix

    return KMatrix(n, n if out_size is None else out_size, width=width, expansion=expansion, complex=complex,
                   init="identity", permutation="none", dtype=dtype, device=device)


def random(n: int, out_size: int | None = None, *, width: int = 1, expansion: int = 1, complex: bool = True,
           orthogonal: bool = False, generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
           device=None):
    """A random K-matrix: Gaussian 2x2 blocks scaled to keep the expected norm (``init="randn"``) or, with
    ``orthogonal``, random rotations / unitaries (``init="ortho"``), drawn from ``generator``.

    Args:
        n (int): input size.
        out_size (int, optional): output size. (Default: ``n``)
        width (int): width ``w``. (Default: ``1``)
        expansion (int): expansion ``e``, a power of 2. (Default: ``1``)
        complex (bool): complex twiddles. (Default: ``True``)
        orthogonal (bool): orthogonal / unitary 2x2 blocks instead of Gaussian ones. (Default: ``False``)
        generator (torch.Generator, optional): the random source. (Default: the global one)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Example:
        >>> k = random(256, generator=torch.Generator().manual_seed(0))
    """
    from .kmatrix import KMatrix

    k = KMatrix(n, n if out_size is None else out_size, width=width, expansion=expansion, complex=complex,
                init="ortho" if orthogonal else "randn", permutation="none", dtype=dtype, device=device)
    k.reset_parameters(generator=generator)
    return k


def dct(n: int, out_size: int | None = None, *, dtype: torch.dtype | None = None, device=None):
    """The orthonormal DCT-II of length ``n`` (any ``n >= 1``) as a K-matrix of width 2: MFCC's DCT.

    ``y_k = s_k sum_j x_j cos(pi k (2j + 1) / 2n)``, ``s_0 = sqrt(1/n)``, ``s_k = sqrt(2/n)`` (``scipy.fft.dct(x,
    norm="ortho")``; ``kfront.frontend.functional.create_dct(out_size, n)`` is its transpose). The module docstring
    gives the construction. The twiddles are complex; on a real input the imaginary part of the output is rounding.

    Args:
        n (int): transform length (the number of mel bands in an MFCC).
        out_size (int, optional): keep the first ``out_size`` coefficients. (Default: ``n``)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Returns:
        KMatrix: width 2, size ``2n`` (``n`` a power of 2) or the next power of 2 >= ``3n - 1``.

    Example:
        >>> k = dct(40, 13)  # (..., 40) -> (..., 13) complex; .real is the MFCC of 40 log-mel bands
    """
    out_size = n if out_size is None else out_size
    _check_length(n, "n")
    if not 1 <= out_size <= n:
        raise ValueError(f"out_size must be in 1 .. n = {n}, got {out_size}")
    cooley = is_power_of_2(n)
    big = max(2, 2 * n if cooley else next_power_of_2(3 * n - 1))
    half = big // 2
    # z = [x, x reversed], z_m at position place[m]: bit-reversed for the DIT FFT, in order for Bluestein
    place = bitreversal_permutation(big).tolist() if cooley else list(range(big))
    src = [-1] * big  # after the copy layer, positions j and j + M/2 both hold x_j (zero past n)
    for m in range(n):
        src[place[m]], src[place[2 * n - 1 - m]] = m, m + half
    spare = iter(sorted(set(range(big)) - set(src)))
    src = [s if s >= 0 else next(spare) for s in src]
    build = benes_twiddle(torch.tensor(src)).to(torch.complex128)  # (2, log M, M/2, 2, 2)
    build[0, 0] = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.complex128)  # copy; a swap after it is moot
    k = torch.arange(n, dtype=torch.float64)
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=torch.float64)
    scale[0] = math.sqrt(1.0 / n)
    d_out = torch.zeros(big, dtype=torch.complex128)  # (M,): s_k / 2 e^(-i pi k / 2n) on the kept bins
    d_out[:n] = torch.polar(scale / 2, -math.pi * k / (2 * n))
    if cooley:
        fft = fft_twiddle(big, dtype=torch.complex128)  # (log M, M/2, 2, 2), DIT, unnormalised
        fft[-1] = fft[-1] * torch.stack((d_out[:half], d_out[half:]), -1).unsqueeze(-1)  # rows of stride M/2
        transform = torch.stack((identity_twiddle(fft.shape, dtype=torch.complex128), fft))
    else:
        w = chirp(2 * n)  # (2n,) exp(i pi m^2 / 2n)
        h = torch.zeros(big, dtype=torch.complex128)  # lags (-2n, n), wrapped
        h[:n] = w[:n]
        h[big - 2 * n + 1:] = w[1:].flip(0)
        d_in = torch.ones(big, dtype=torch.complex128)
        d_in[:2 * n] = w.conj()
        d_out[:n] = d_out[:n] * w[:n].conj()
        transform = convolution_twiddle(h, d_in, d_out)
    return _kmatrix(n, out_size, [build[0], build[1], transform[0], transform[1]], big, True, dtype, device)


def hadamard(n: int, *, normalized: bool = False, dtype: torch.dtype | None = None, device=None):
    """The Walsh-Hadamard transform of size ``n`` (a power of 2, Sylvester order, ``scipy.linalg.hadamard``) as a
    real K-matrix of width 1: ``B*`` the identity, every block of ``B`` ``[[1, 1], [1, -1]]``.

    Args:
        n (int): size, a power of 2 >= 2.
        normalized (bool): the orthonormal transform (``1/sqrt(n)`` overall). (Default: ``False``)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Example:
        >>> k = hadamard(1024)  # 40,960 parameters against 1,048,576 entries
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or not is_power_of_2(n):
        raise ValueError(f"the Hadamard transform needs a size that is a power of 2 >= 2, got {n!r}")
    log_n = n.bit_length() - 1
    block = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64) / (math.sqrt(2) if normalized else 1)
    butterfly = block.expand(log_n, n // 2, 2, 2)
    return _kmatrix(n, n, [identity_twiddle(butterfly.shape, dtype=torch.float64), butterfly], n, False, dtype,
                    device)


def circular_convolution(kernel: torch.Tensor, *, dtype: torch.dtype | None = None, device=None):
    """Circular convolution with ``kernel`` (any length ``n``) as a K-matrix of width 1:
    ``y_k = sum_j kernel[(k - j) mod n] x_j``, i.e. ``ifft(fft(kernel) * fft(x))``.

    Args:
        kernel (Tensor): ``(n,)``, real or complex.
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Returns:
        KMatrix: width 1, complex, size ``n`` (a power of 2) or the next power of 2 >= ``2n - 1``.

    Example:
        >>> k = circular_convolution(torch.randn(100, dtype=torch.float64), dtype=torch.float64)
        >>> y = k(x).real  # (..., 100), x real
    """
    if not isinstance(kernel, torch.Tensor) or kernel.dim() != 1 or kernel.numel() < 1:
        raise ValueError(f"kernel must be a non-empty 1-d tensor, got {kernel!r}")
    n = kernel.numel()
    h = kernel.detach().to(device="cpu", dtype=torch.complex128)
    if n >= 2 and is_power_of_2(n):
        big, wrapped = n, h
    else:
        big = max(2, next_power_of_2(2 * n - 1))
        wrapped = torch.zeros(big, dtype=torch.complex128)  # lags (-n, n) of the length-n convolution
        wrapped[:n] = h
        wrapped[big - n + 1:] = h[1:]
    conv = convolution_twiddle(wrapped)
    return _kmatrix(n, n, [conv[0], conv[1]], big, True, dtype, device)


def permutation(perm: torch.Tensor, *, complex: bool = False, dtype: torch.dtype | None = None, device=None):
    """The permutation ``x -> x[..., perm]`` (any length) as a K-matrix of width 1: the Benes network, 0/1 blocks.

    Args:
        perm (LongTensor): ``(n,)``, a permutation of ``0 .. n - 1``.
        complex (bool): complex twiddles. (Default: ``False``)
        dtype (torch.dtype, optional): real dtype of the parameters. (Default: the default dtype)

    Example:
        >>> k = permutation(torch.randperm(40))
    """
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1 or perm.numel() < 1:
        raise ValueError(f"perm must be a non-empty 1-d tensor, got {perm!r}")
    n = perm.numel()
    if not torch.equal(torch.sort(perm.cpu()).values, torch.arange(n)):
        raise ValueError(f"perm must be a permutation of 0 .. {n - 1}, got {perm.tolist()}")
    big = next_power_of_2(max(n, 2))
    benes = benes_twiddle(torch.cat((perm.cpu(), torch.arange(n, big))))
    return _kmatrix(n, n, [benes[0], benes[1]], big, complex, dtype, device)


def _check_length(n, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an int >= 1, got {n!r}")


def _kmatrix(in_size: int, out_size: int, blocks: list, size: int, complex: bool, dtype, device):
    """A ``KMatrix`` of width ``len(blocks) / 2`` and size ``size`` whose twiddle holds ``blocks`` (each
    ``(log2 size, size/2, 2, 2)``, in the order they are applied)."""
    from .kmatrix import KMatrix  # a factory builds a module of that class, whose init= comes from here

    base = next_power_of_2(max(in_size, out_size, 2))
    k = KMatrix(in_size, out_size, width=len(blocks) // 2, expansion=size // base, complex=complex,
                init="identity", permutation="none", dtype=dtype, device=device)
    with torch.no_grad():
        k.twiddle.copy_(torch.stack(blocks)[None].to(k.twiddle.dtype))  # (1, 2w, log M, M/2, 2, 2)
    return k
