"""``Butterfly``: a learnable product of butterfly factors, usable where ``nn.Linear`` is."""
import math
import warnings

import torch
from torch import nn

from . import twiddles as tw_init
from .bluestein import bluestein_twiddle, check_dft_size, dft_butterfly_size, dft_construction
from .multiply import butterfly_multiply, check_increasing_stride
from .permutation import bitreversal_permutation, next_power_of_2

_PERMUTATIONS = ("auto", "bitrev", "none")
_DFT_INITS = ("fft", "ifft")
_MAX_DENSE = 1 << 28  # entries of to_dense's (in_size, size) probe: 2 GiB in complex64


class Butterfly(nn.Module):
    """Product of ``nblocks`` butterfly matrices of size ``n`` (the next power of 2 of ``in_size``, or the size
    that holds the DFT of length ``dft_size``).

    Inputs are zero-padded to ``n``; when ``out_size > n``, ``ceil(out_size / n)`` stacks of butterflies see
    the same input and their outputs are concatenated; the first ``out_size`` outputs are kept. Parameters:
    ``twiddle`` of shape ``(nstacks, nblocks, log2 n, n/2, 2, 2)`` (flagged ``_no_weight_decay``) and an
    optional ``bias``. A fixed permutation ``perm`` (a buffer) can be applied to the input or, for a
    decimation-in-frequency FFT, to the output (:attr:`permutation_at` says which).

    ``init="fft"`` builds the DFT of length ``N = dft_size`` (by default ``n``: the DFT of the input zero-padded
    to ``n``). A power of 2 ``N`` is the Cooley-Tukey FFT: one block, a bit-reversal permutation. Any other
    ``N >= 1`` is Bluestein's construction (:mod:`kfront.core.bluestein`): one ``B B*`` of size ``n`` = the next
    power of 2 >= ``2N - 1``, no permutation; it needs a decreasing-stride block followed by an increasing-stride
    one (``nblocks >= 2`` with ``increasing_stride=False``, or ``nblocks >= 3``) and ``out_size <= N``.
    :attr:`construction` says which one is used.

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

    Example:
        >>> dft = Butterfly(512, 257, complex=True, init="fft")
        >>> spec = dft(frames)  # (..., 512) -> (..., 257), equals torch.fft.rfft(frames)
        >>> dft400 = Butterfly(400, 201, complex=True, init="fft", dft_size=400, nblocks=2, increasing_stride=False)
        >>> spec = dft400(frames[..., :400])  # (..., 400) -> (..., 201), equals torch.fft.rfft(frames[..., :400])
    """

    def __init__(self, in_size: int, out_size: int, bias: bool = False, complex: bool = False,
                 increasing_stride: bool = True, nblocks: int = 1, init: str = "randn", normalized: bool = False,
                 permutation: str = "auto", dtype: torch.dtype | None = None, device=None, *,
                 dft_size: int | None = None, _size: int | None = None):
        """Build the butterfly product; the arguments are described under Args in the class docstring."""
        super().__init__()
        if in_size < 1 or out_size < 1:
            raise ValueError(f"in_size and out_size must be >= 1, got in_size={in_size}, out_size={out_size}")
        if nblocks < 1:
            raise ValueError(f"nblocks must be >= 1, got {nblocks}")
        check_increasing_stride(increasing_stride)
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
        self.dft_size = self._resolve_dft_size(init, dft_size, in_size, out_size,
                                               default=next_power_of_2(max(in_size, 2)))
        self.construction = None if self.dft_size is None else dft_construction(self.dft_size)
        if self.construction == "bluestein":
            self._check_bluestein_layout(self.dft_size, nblocks, increasing_stride, permutation)
        default_size = next_power_of_2(max(in_size, 2)) if self.dft_size is None else dft_butterfly_size(self.dft_size)
        self.size = _size or default_size
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
        auto = "bitrev" if self.construction == "cooley-tukey" else "none"
        self.permutation = auto if permutation == "auto" else permutation
        self.register_buffer("perm", None)
        self.reset_parameters()

    @staticmethod
    def _resolve_dft_size(init: str, dft_size: int | None, in_size: int, out_size: int, default: int) -> int | None:
        """The length ``N`` of the DFT an ``"fft"``/``"ifft"`` init builds (``None`` for other inits), checked."""
        if init not in _DFT_INITS:
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

    @staticmethod
    def _check_bluestein_layout(n: int, nblocks: int, increasing_stride: bool, permutation: str) -> None:
        if nblocks < 2 + increasing_stride:
            raise ValueError(f"the DFT of length {n} (not a power of 2) is one B B* (Bluestein): it needs a "
                             "decreasing-stride block followed by an increasing-stride one, i.e. nblocks >= 2 with "
                             f"increasing_stride=False or nblocks >= 3, got nblocks={nblocks}, "
                             f"increasing_stride={increasing_stride}")
        if permutation == "bitrev":
            raise ValueError(f"the DFT of length {n} (Bluestein) needs no permutation, got permutation='bitrev'; "
                             "use 'auto' or 'none'")

    @property
    def permutation_at(self) -> str | None:
        """Where the fixed permutation :attr:`perm` acts: ``"input"`` (gathered before the first factor),
        ``"output"`` (after the last), or ``None`` when there is none."""
        return None if self.perm is None else self._perm_at

    # --- initialisation -------------------------------------------------------------------------------------
    def _base_size(self) -> int:
        """Size of the chunks a bit-reversal permutation of a non-DFT init acts within (``size`` unless expanded)."""
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
        if self.construction == "bluestein":
            new = self._bluestein_init(t.dtype)
            perm_at = "input"  # no permutation; kept for callers that read where one would act
        elif self.construction == "cooley-tukey":
            new = tw_init.identity_twiddle(t.shape, dtype=t.dtype)
            block, dit = self._dft_block()
            nd = self.dft_size
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
            nd = self.dft_size if self.construction == "cooley-tukey" else self._base_size()
            within = bitreversal_permutation(nd, device=t.device)
            self.perm = (torch.arange(0, self.size, nd, device=t.device)[:, None] + within).reshape(-1)
        else:
            self.perm = None
        if self.bias is not None:
            self.bias.zero_()

    def _bluestein_init(self, dtype: torch.dtype) -> torch.Tensor:
        """Identity twiddles with Bluestein's B B* of size M in the first decreasing-stride block and the next:
        its DIF layers are the last log M of the first (strides M/2 .. 1), its DIT layers the first log M of the
        second (strides 1 .. M/2); with an expanded size they repeat in every chunk of M and the rest is identity."""
        new = tw_init.identity_twiddle(self.twiddle.shape, dtype=dtype)  # (nstacks, nblocks, log n, n/2, 2, 2)
        dft = bluestein_twiddle(self.dft_size, normalized=self.normalized, inverse=self.init == "ifft",
                                dtype=dtype)  # (2, log M, M/2, 2, 2)
        log_m = dft.shape[1]
        reps = self.size // (2 * dft.shape[2])
        block = 1 if self.increasing_stride else 0  # the first decreasing-stride block
        new[:, block, self.log_n - log_m:] = dft[0].repeat(1, reps, 1, 1)
        new[:, block + 1, :log_m] = dft[1].repeat(1, reps, 1, 1)
        return new

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
