"""``KMatrix``: a learnable member of the kaleidoscope hierarchy (BB*)^w_e."""
import torch

from .bluestein import dft_butterfly_size
from .butterfly import Butterfly
from .constructions import dft_length
from .permutation import is_power_of_2, next_power_of_2


#: the largest butterfly size ``expansion * n`` a KMatrix is built with (see the class docstring's "Cost")
MAX_SIZE = 1 << 16


class KMatrix(Butterfly):
    """A K-matrix in ``(BB*)^w_e``: the top-left ``out_size x in_size`` corner of a product of ``w`` factors
    ``B_i B_i*`` of size ``e * n``.

    Applied to a vector, each ``B B*`` runs ``B*`` (strides n/2 ... 1) then ``B`` (strides 1 ... n/2), so the
    twiddle holds ``2 w`` blocks of shape ``(1, 2w, log2(e n), e n / 2, 2, 2)``:
    ``4 w e n log2(e n)`` parameters (times two real numbers when complex).

    With ``init="fft"`` the K-matrix is the DFT of length ``N = dft_size`` exactly (by default
    ``N = max(in_size, out_size)``): its first ``out_size`` bins of the input zero-padded to ``N``, so
    ``KMatrix(400, 201)`` is ``torch.fft.rfft`` of a 400-sample frame. Two constructions (:attr:`construction`):

    - ``"cooley-tukey"``, ``N`` a power of 2 (``n = N``): a fixed bit-reversal permutation of the input (itself a
      member of BB*, Theorem 2 of Dao et al. 2020, kept as a free index gather rather than learned), the first
      ``B*`` at identity, the first ``B`` the decimation-in-time FFT.
    - ``"bluestein"``, any other ``N`` (``n`` = the next power of 2 >= ``2N - 1``): the first ``B B*`` is
      Bluestein's chirp-z identity (:mod:`kfront.core.bluestein`), with no permutation at all.

    Cost: ``4 w s log2(s)`` complex twiddles, ``s = e n`` (``KMatrix(512, 257)``: 18,432, 147 kB in complex64),
    built in float64 first. Sizes above :data:`MAX_SIZE` (65,536) are refused before anything is allocated; raise
    ``kfront.core.kmatrix.MAX_SIZE`` to build one anyway.

    Every further factor is at identity, and with ``e > 1`` so are the extra layers. Other inits fill every
    factor, with ``n`` the next power of 2 of ``max(in_size, out_size)``. The DFT of the input zero-padded to
    a longer power of 2 is ``dft_size=next_power_of_2(N)``. Other exact maps (the DCT, the Hadamard transform,
    convolutions, permutations) are the factories of :mod:`kfront.core.constructions`.

    Args:
        in_size (int): size of the input's last dimension.
        out_size (int): size of the output's last dimension.
        width (int): number ``w`` of BB* factors. (Default: ``1``)
        expansion (int): expansion ``e``, a power of 2. (Default: ``1``)
        complex (bool): complex twiddles. (Default: ``True``)
        init (str): as for :class:`Butterfly`. (Default: ``"fft"``)
        normalized (bool): with ``"fft"``/``"ifft"``, the unitary DFT. (Default: ``False``)
        permutation (str): ``"auto"``, ``"bitrev"`` or ``"none"``. (Default: ``"auto"``)
        bias (bool): add a learnable bias. (Default: ``False``)
        dft_size (int, optional): with ``"fft"``/``"ifft"``, the DFT's length ``N >= max(in_size, out_size)``.
            (Default: ``max(in_size, out_size)``)

    Example:
        >>> k = KMatrix(512, 257, width=2)  # the DFT at init, 2 * 4 * 512 * 9 complex parameters
        >>> spec = k(frames)  # (..., 512) -> (..., 257)
        >>> k400 = KMatrix(400, 201)  # the length-400 DFT: Bluestein, one B B* of size 1024
        >>> spec = k400(frames[..., :400])  # (..., 400) -> (..., 201), equals torch.fft.rfft
    """

    def __init__(self, in_size: int, out_size: int, width: int = 1, expansion: int = 1, complex: bool = True,
                 init: str = "fft", normalized: bool = False, permutation: str = "auto", bias: bool = False,
                 dtype: torch.dtype | None = None, device=None, *, dft_size: int | None = None):
        """Build the K-matrix; the arguments, and the cost in memory, are described in the class docstring."""
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        if not is_power_of_2(expansion):
            raise ValueError(f"expansion must be a power of 2 >= 1, got {expansion}")
        self.width, self.expansion = width, expansion
        n_dft = dft_length(init, dft_size, in_size, out_size, default=max(in_size, out_size, 1))
        if n_dft is not None and n_dft < out_size:  # a K-matrix has one stack: no periodic copies of the bins
            raise ValueError(f"dft_size must be >= out_size = {out_size}, got {n_dft}")
        self._n = next_power_of_2(max(in_size, out_size, 2)) if n_dft is None else dft_butterfly_size(n_dft)
        _check_size(in_size, out_size, expansion * self._n, width)
        super().__init__(in_size, out_size, bias=bias, complex=complex, increasing_stride=False,
                         nblocks=2 * width, init=init, normalized=normalized, permutation=permutation,
                         dtype=dtype, device=device, dft_size=n_dft, size=expansion * self._n)

    def _base_size(self) -> int:
        return self._n

    def extra_repr(self) -> str:
        return (f"in_size={self.in_size}, out_size={self.out_size}, width={self.width}, "
                f"expansion={self.expansion}, size={self.size}, complex={self.complex}, init={self.init!r}"
                f"{self._dft_repr()}, permutation={self.permutation!r}, bias={self.bias is not None}")


def _check_size(in_size: int, out_size: int, size: int, width: int) -> None:
    """Refuse a butterfly size above :data:`MAX_SIZE`, naming the size and what it would cost."""
    if size > MAX_SIZE:
        entries = 4 * width * size * (size.bit_length() - 1)
        raise ValueError(f"KMatrix({in_size}, {out_size}) needs butterflies of size {size}: {entries:,} complex "
                         f"twiddles ({entries * 8 / 2**30:.1f} GiB in complex64, several times that while they are "
                         f"initialised), above MAX_SIZE = {MAX_SIZE}; raise kfront.core.kmatrix.MAX_SIZE to build it")
