"""``KMatrix``: a learnable member of the kaleidoscope hierarchy (BB*)^w_e."""
import torch

from .butterfly import Butterfly
from .permutation import next_power_of_2


class KMatrix(Butterfly):
    """A K-matrix in ``(BB*)^w_e``: the top-left ``out_size x in_size`` corner of a product of ``w`` factors
    ``B_i B_i*`` of size ``e * n`` (``n`` the next power of 2 of ``max(in_size, out_size)``).

    Applied to a vector, each ``B B*`` runs ``B*`` (strides n/2 ... 1) then ``B`` (strides 1 ... n/2), so the
    twiddle holds ``2 w`` blocks of shape ``(1, 2w, log2(e n), e n / 2, 2, 2)``:
    ``4 w e n log2(e n)`` parameters (times two real numbers when complex).

    With ``init="fft"`` the K-matrix is the DFT of size ``n`` exactly: a fixed bit-reversal permutation of the
    input (itself a member of BB*, Theorem 2 of Dao et al. 2020, kept as a free index gather rather than
    learned), the first ``B*`` at identity, the first ``B`` the decimation-in-time FFT, and every further factor
    at identity; with ``e > 1`` the extra layers are identity too. Other inits fill every factor.

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

    Example:
        >>> k = KMatrix(512, 257, width=2)  # the DFT at init, 2 * 4 * 512 * 9 complex parameters
        >>> spec = k(frames)  # (..., 512) -> (..., 257)
    """

    def __init__(self, in_size: int, out_size: int, width: int = 1, expansion: int = 1, complex: bool = True,
                 init: str = "fft", normalized: bool = False, permutation: str = "auto", bias: bool = False,
                 dtype: torch.dtype | None = None, device=None):
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        if expansion < 1 or expansion & (expansion - 1):
            raise ValueError(f"expansion must be a power of 2 >= 1, got {expansion}")
        self.width, self.expansion = width, expansion
        self._n = next_power_of_2(max(in_size, out_size, 2))
        super().__init__(in_size, out_size, bias=bias, complex=complex, increasing_stride=False,
                         nblocks=2 * width, init=init, normalized=normalized, permutation=permutation,
                         dtype=dtype, device=device, _size=expansion * self._n)

    def _dft_size(self) -> int:
        return self._n

    def extra_repr(self) -> str:
        return (f"in_size={self.in_size}, out_size={self.out_size}, width={self.width}, "
                f"expansion={self.expansion}, size={self.size}, complex={self.complex}, init={self.init!r}, "
                f"permutation={self.permutation!r}, bias={self.bias is not None}")
