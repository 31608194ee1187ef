"""``Butterfly``: a learnable product of butterfly factors, usable where ``nn.Linear`` is."""
import math
import warnings

import torch
from torch import nn

from . import twiddles as tw_init
from .multiply import butterfly_multiply
from .permutation import bitreversal_permutation, next_power_of_2

_PERMUTATIONS = ("auto", "bitrev", "none")


class Butterfly(nn.Module):
    """Product of ``nblocks`` butterfly matrices of size ``n`` (the next power of 2 of ``in_size``).

    Inputs are zero-padded to ``n``; when ``out_size > n``, ``ceil(out_size / n)`` stacks of butterflies see
    the same input and their outputs are concatenated; the first ``out_size`` outputs are kept. Parameters:
    ``twiddle`` of shape ``(nstacks, nblocks, log2 n, n/2, 2, 2)`` (flagged ``_no_weight_decay``) and an
    optional ``bias``. A fixed permutation (a buffer) can be applied to the input or, for a decimation-in-
    frequency FFT, to the output.

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
        permutation (str): ``"bitrev"``, ``"none"``, or ``"auto"`` (bit reversal for ``"fft"``/``"ifft"``,
            none otherwise). (Default: ``"auto"``)
        dtype (torch.dtype, optional): real dtype of the parameters (complex twiddles use its complex
            counterpart). (Default: ``torch.float32``)

    Example:
        >>> dft = Butterfly(512, 257, complex=True, init="fft")
        >>> spec = dft(frames)  # (..., 512) -> (..., 257), equals torch.fft.rfft(frames)
    """

    def __init__(self, in_size: int, out_size: int, bias: bool = False, complex: bool = False,
                 increasing_stride: bool = True, nblocks: int = 1, init: str = "randn", normalized: bool = False,
                 permutation: str = "auto", dtype: torch.dtype | None = None, device=None, *, _size: int | None = None):
        super().__init__()
        if in_size < 1 or out_size < 1:
            raise ValueError(f"in_size and out_size must be >= 1, got in_size={in_size}, out_size={out_size}")
        if nblocks < 1:
            raise ValueError(f"nblocks must be >= 1, got {nblocks}")
        if init not in tw_init.INITS:
            raise ValueError(f"init must be one of {tw_init.INITS}, got {init!r}")
        if permutation not in _PERMUTATIONS:
            raise ValueError(f"permutation must be one of {_PERMUTATIONS}, got {permutation!r}")
        if init in ("fft", "ifft") and not complex:
            raise ValueError(f"init={init!r} needs complex=True (the DFT is complex)")
        real_dtype = dtype or torch.get_default_dtype()
        if real_dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {real_dtype}")
        self.in_size, self.out_size = in_size, out_size
        self.size = _size or next_power_of_2(max(in_size, 2))
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
        self.permutation = ("bitrev" if init in ("fft", "ifft") else "none") if permutation == "auto" else permutation
        self.register_buffer("perm", None)
        self.reset_parameters()

    # --- initialisation -------------------------------------------------------------------------------------
    def _dft_size(self) -> int:
        """Size of the DFT the ``"fft"`` init computes (smaller than ``size`` only for an expanded K-matrix)."""
        return self.size

    def _dft_block(self) -> tuple[int, bool]:
        """Which block holds the DFT and whether it runs with increasing strides (decimation in time)."""
        if self.increasing_stride:
            return 0, True
        if self.nblocks >= 2:
            return 1, True  # block 0 (B*) stays at identity; block 1 (B) is the DIT FFT
        return 0, False

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """(Re)initialise the twiddles from ``self.init`` and zero the bias."""
        t = self.twiddle
        if self.init in ("fft", "ifft"):
            new = tw_init.identity_twiddle(t.shape, dtype=t.dtype)
            block, dit = self._dft_block()
            nd = self._dft_size()
            log_nd = nd.bit_length() - 1
            dft = tw_init.fft_twiddle(nd, normalized=self.normalized, inverse=self.init == "ifft",
                                      increasing_stride=dit, dtype=t.dtype)  # (log nd, nd/2, 2, 2)
            # The first log nd layers act inside blocks of nd; later layers (an expanded K-matrix) stay identity.
            new[:, block, :log_nd] = dft.repeat(1, self.size // nd, 1, 1)
            perm_at = "input" if dit else "output"
        else:
            make = {"identity": lambda s, d: tw_init.identity_twiddle(s, dtype=d),
                    "ortho": lambda s, d: tw_init.ortho_twiddle(s, dtype=d, generator=generator),
                    "randn": lambda s, d: tw_init.randn_twiddle(s, dtype=d, generator=generator)}[self.init]
            new = make(t.shape, t.dtype)
            perm_at = "input"
        t.copy_(new.to(t.device))
        self._perm_at = perm_at
        if self.permutation == "bitrev":
            nd = self._dft_size()
            within = bitreversal_permutation(nd, device=t.device)
            self.perm = (torch.arange(0, self.size, nd, device=t.device)[:, None] + within).reshape(-1)
        else:
            self.perm = None
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
            if x.is_complex() and not self.complex:
                raise ValueError(f"complex input {x.dtype} to a real butterfly ({dtype})")
            x = x.to(dtype)
        batch_shape = x.shape[:-1]
        if self.in_size < self.size:
            x = nn.functional.pad(x, (0, self.size - self.in_size))  # (..., n)
        if self.perm is not None and self._perm_at == "input":
            x = x[..., self.perm]
        x = x.unsqueeze(-2).expand(*batch_shape, self.nstacks, self.size)  # (..., nstacks, n)
        y = butterfly_multiply(self.twiddle, x, self.increasing_stride)
        if self.perm is not None and self._perm_at == "output":
            y = y[..., self.perm]
        y = y.reshape(*batch_shape, self.nstacks * self.size)[..., :self.out_size]  # (..., out_size)
        return y + self.bias if self.bias is not None else y

    @torch.no_grad()
    def to_dense(self) -> torch.Tensor:
        """The ``(out_size, in_size)`` matrix this module applies (without the bias)."""
        eye = torch.eye(self.in_size, dtype=self.twiddle.dtype, device=self.twiddle.device)
        bias, self.bias = self.bias, None
        try:
            return self(eye).transpose(0, 1).contiguous()
        finally:
            self.bias = bias

    def extra_repr(self) -> str:
        return (f"in_size={self.in_size}, out_size={self.out_size}, size={self.size}, nstacks={self.nstacks}, "
                f"nblocks={self.nblocks}, complex={self.complex}, increasing_stride={self.increasing_stride}, "
                f"init={self.init!r}, permutation={self.permutation!r}, bias={self.bias is not None}")
