"""``Butterfly``: a learnable product of butterfly factors, usable where ``nn.Linear`` is."""
import math
import warnings

import torch
from torch import nn

from .bluestein import dft_butterfly_size, dft_construction
from .constructions import INITS, check_dft_layout, default_permutation, dft_length, initial_state
from .multiply import butterfly_multiply, check_increasing_stride
from .permutation import is_power_of_2, next_power_of_2

_PERMUTATIONS = ("auto", "bitrev", "none")
_MAX_DENSE = 1 << 28  # entries of to_dense's (in_size, size) probe: 2 GiB in complex64


class Butterfly(nn.Module):
    """Product of ``nblocks`` butterfly matrices of size ``n`` (the next power of 2 of ``in_size``, or the size
    that holds the DFT of length ``dft_size``).

    Inputs are zero-padded to ``n``; when ``out_size > n``, ``ceil(out_size / n)`` stacks of butterflies see
    the same input and their outputs are concatenated; the first ``out_size`` outputs are kept. Parameters:
    ``twiddle`` of shape ``(nstacks, nblocks, log2 n, n/2, 2, 2)`` (flagged ``_no_weight_decay``) and an
    optional ``bias``. A fixed permutation ``perm`` (a buffer) can be applied to the input or, for a
    decimation-in-frequency FFT, to the output (:attr:`permutation_at` says which).

    The module is structure; ``init`` names a construction of :mod:`kfront.core.constructions` to start from.
    ``init="fft"`` is the DFT of length ``N = dft_size`` (by default ``n``: the DFT of the input zero-padded to
    ``n``): for a power of 2, the Cooley-Tukey FFT (one block, a bit-reversal permutation); otherwise Bluestein's
    ``B B*`` of size ``n`` = the next power of 2 >= ``2N - 1``, with no permutation, which needs a
    decreasing-stride block followed by an increasing-stride one (``nblocks >= 2`` with
    ``increasing_stride=False``, or ``nblocks >= 3``) and ``out_size <= N``. :attr:`construction` says which.

    Args:
        in_size (int): size of the input's last dimension.
        out_size (int): size of the output's last dimension.
        bias (bool): add a learnable bias. (Default: ``False``)
        complex (bool): complex twiddles (and outputs). (Default: ``False``)
        increasing_stride (bool): stride order of the first block; blocks alternate. (Default: ``True``)
        nblocks (int): number of butterfly matrices in the product. (Default: ``1``)
        init (str): ``"fft"``, ``"ifft"`` (the exact (inverse) DFT, complex only, other blocks at identity),
            ``"identity"``, ``"ortho"`` (random orthogonal / unitary 2x2 blocks) or ``"randn"``.
            (Default: ``"randn"``)
        normalized (bool): with ``"fft"``/``"ifft"``, the unitary transform. (Default: ``False``)
        permutation (str): ``"bitrev"``, ``"none"``, or ``"auto"`` (bit reversal for a Cooley-Tukey
            ``"fft"``/``"ifft"``, none otherwise). (Default: ``"auto"``)
        dtype (torch.dtype, optional): real dtype of the parameters (complex twiddles use its complex
            counterpart). (Default: ``torch.float32``)
        dft_size (int, optional): with ``"fft"``/``"ifft"``, the DFT's length ``N``, at least ``in_size``.
            (Default: ``n``, the next power of 2 of ``in_size``)
        size (int, optional): the butterfly size ``n``, a power of 2 at least the default. (Default: the next
            power of 2 of ``in_size``, or the size that holds the DFT of length ``dft_size``)

    Example:
        >>> dft = Butterfly(512, 257, complex=True, init="fft")
        >>> spec = dft(frames)  # (..., 512) -> (..., 257), equals torch.fft.rfft(frames)
        >>> dft400 = Butterfly(400, 201, complex=True, init="fft", dft_size=400, nblocks=2, increasing_stride=False)
        >>> spec = dft400(frames[..., :400])  # (..., 400) -> (..., 201), equals torch.fft.rfft(frames[..., :400])
    """

    def __init__(self, in_size: int, out_size: int, bias: bool = False, complex: bool = False,
                 increasing_stride: bool = True, nblocks: int = 1, init: str = "randn", normalized: bool = False,
                 permutation: str = "auto", dtype: torch.dtype | None = None, device=None, *,
                 dft_size: int | None = None, size: int | None = None):
        """Build the butterfly product; the arguments are described under Args in the class docstring."""
        super().__init__()
        if in_size < 1 or out_size < 1:
            raise ValueError(f"in_size and out_size must be >= 1, got in_size={in_size}, out_size={out_size}")
        if nblocks < 1:
            raise ValueError(f"nblocks must be >= 1, got {nblocks}")
        check_increasing_stride(increasing_stride)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if permutation not in _PERMUTATIONS:
            raise ValueError(f"permutation must be one of {_PERMUTATIONS}, got {permutation!r}")
        if init in ("fft", "ifft") and not complex:
            raise ValueError(f"init={init!r} needs complex=True (the DFT is complex)")
        real_dtype = dtype or torch.get_default_dtype()
        if real_dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {real_dtype}")
        self.in_size, self.out_size = in_size, out_size
        self.dft_size = dft_length(init, dft_size, in_size, out_size, default=next_power_of_2(max(in_size, 2)))
        self.construction = None if self.dft_size is None else dft_construction(self.dft_size)
        if self.construction is not None:
            check_dft_layout(self.dft_size, nblocks, increasing_stride, permutation)
        default_size = next_power_of_2(max(in_size, 2)) if self.dft_size is None else dft_butterfly_size(self.dft_size)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not is_power_of_2(size)
                                 or size < default_size):
            raise ValueError(f"size must be a power of 2 >= {default_size}, got {size!r}")
        self.size = size or default_size
        self.log_n = self.size.bit_length() - 1
        self.nstacks = math.ceil(out_size / self.size)
        self.nblocks, self.complex, self.increasing_stride = nblocks, complex, increasing_stride
        self.init, self.normalized = init, normalized
        param_dtype = {torch.float32: torch.complex64, torch.float64: torch.complex128}[real_dtype] if complex \
            else real_dtype
        shape = (self.nstacks, nblocks, self.log_n, self.size // 2, 2, 2)
        self.twiddle = nn.Parameter(torch.empty(shape, dtype=param_dtype, device=device))
        self.twiddle._no_weight_decay = True  # structure, not scale: decaying it pulls the map toward zero
        self.bias = nn.Parameter(torch.zeros(out_size, dtype=param_dtype, device=device)) if bias else None
        self.permutation = default_permutation(self.construction) if permutation == "auto" else permutation
        self.register_buffer("perm", None)
        self.reset_parameters()

    @property
    def permutation_at(self) -> str | None:
        """Where the fixed permutation :attr:`perm` acts: ``"input"`` (gathered before the first factor),
        ``"output"`` (after the last), or ``None`` when there is none."""
        return None if self.perm is None else self._perm_at

    # --- initialisation -------------------------------------------------------------------------------------
    def _base_size(self) -> int:
        """Size of the chunks a bit-reversal permutation of a non-DFT init acts within (``size`` unless expanded)."""
        return self.size

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """(Re)initialise the twiddles from ``self.init`` (:func:`kfront.core.constructions.initial_state`) and zero
        the bias."""
        twiddle, self.perm, self._perm_at = initial_state(self, generator)
        self.twiddle.copy_(twiddle.to(self.twiddle.device))
        if self.bias is not None:
            self.bias.zero_()

    def _apply(self, fn, recurse=True):
        # Module.to(float_dtype) would cast complex twiddles to that real dtype, silently dropping their imaginary
        # part. A complex butterfly stays complex: float32/float64 targets map to complex64/complex128, and other
        # targets (half precision) leave the twiddles' precision as it is (the butterfly runs in float32 or wider).
        if self.complex:
            with warnings.catch_warnings():  # the probe itself may be cast to real: that is what we look for
                warnings.simplefilter("ignore")
                probe = fn(torch.zeros((), dtype=self.twiddle.dtype, device=self.twiddle.device))
            if not probe.is_complex():
                target = {torch.float32: torch.complex64, torch.float64: torch.complex128}.get(probe.dtype)

                def keep_complex(t):
                    if not t.is_complex():
                        return fn(t)
                    return t.to(device=probe.device, dtype=target or t.dtype)
                return super()._apply(keep_complex, recurse)
        return super()._apply(fn, recurse)

    # --- forward --------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x (Tensor): ``(..., in_size)``; real input to a complex butterfly is promoted to complex.

        Returns:
            Tensor: ``(..., out_size)``.
        """
        if x.shape[-1] != self.in_size:
            raise ValueError(f"expected input of shape (..., {self.in_size}), got {tuple(x.shape)}")
        dtype = self.twiddle.dtype
        if x.dtype != dtype:
            if not (x.is_floating_point() or x.is_complex()):
                raise ValueError(f"x must be a floating-point or complex tensor, got dtype {x.dtype}; convert it "
                                 f"(x.to({self.twiddle.real.dtype}))")
            if x.is_complex() and not self.complex:
                raise ValueError(f"complex input {x.dtype} to a real butterfly ({dtype})")
            if torch.finfo(x.dtype).bits > torch.finfo(dtype).bits:  # a cast would drop digits without a word
                raise ValueError(f"x is {x.dtype} but the twiddles are {dtype}: build the module with "
                                 f"dtype={x.real.dtype if x.is_complex() else x.dtype} to keep that precision, or "
                                 f"cast x to {self.twiddle.real.dtype}")
            if x.dtype != self.twiddle.real.dtype:  # a real input of the twiddle's precision goes as it is
                x = x.to(dtype)
        batch_shape = x.shape[:-1]
        # Rows of in_size < n samples go to the op as they are (it reads them zero-padded to n), and so does an
        # input permutation (the compiled kernel applies it while loading its tiles).
        perm = self.perm if self._perm_at == "input" else None
        x = x.unsqueeze(-2).expand(*batch_shape, self.nstacks, x.shape[-1])  # (..., nstacks, in_size)
        y = butterfly_multiply(self.twiddle, x, self.increasing_stride, perm)
        if self.perm is not None and self._perm_at == "output":
            y = y[..., self.perm]
        y = y.reshape(*batch_shape, self.nstacks * self.size)[..., :self.out_size]  # (..., out_size)
        return y + self.bias if self.bias is not None else y

    @torch.no_grad()
    def to_dense(self) -> torch.Tensor:
        """The ``(out_size, in_size)`` matrix this module applies (without the bias)."""
        if self.in_size * self.size > _MAX_DENSE:
            raise ValueError(f"to_dense runs in_size = {self.in_size} probes of size {self.size}: "
                             f"{self.in_size * self.size} entries, more than {_MAX_DENSE}")
        eye = torch.eye(self.in_size, dtype=self.twiddle.dtype, device=self.twiddle.device)
        bias, self.bias = self.bias, None
        try:
            return self(eye).transpose(0, 1).contiguous()
        finally:
            self.bias = bias

    def _dft_repr(self) -> str:
        """``dft_size=..., construction=...`` for a DFT init, else nothing."""
        return "" if self.dft_size is None else f", dft_size={self.dft_size}, construction={self.construction!r}"

    def extra_repr(self) -> str:
        return (f"in_size={self.in_size}, out_size={self.out_size}, size={self.size}, nstacks={self.nstacks}, "
                f"nblocks={self.nblocks}, complex={self.complex}, increasing_stride={self.increasing_stride}, "
                f"init={self.init!r}{self._dft_repr()}, permutation={self.permutation!r}, "
                f"bias={self.bias is not None}")
