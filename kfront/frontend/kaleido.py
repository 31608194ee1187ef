"""``KaleidoFrontend``: the MFCC / log-mel pipeline with a learnable K-matrix in place of the FFT (design notes:
``docs/kaleido.md``)."""
import copy

import torch
from torch import nn

from ..core import KMatrix
from . import functional as F
from ._base import FrontendBase, mel_filterbank_of, resolve_dtype
from ._spectrum import kmatrix_spectrum, separation_init
from .conventions import get_convention

STAGES = ("kmatrix", "window", "filterbank", "dct")
FILTERBANKS = ("triangular", "free")
REAL_INPUTS = ("complex", "packed")


def resolve_learn(learn, output: str) -> tuple[str, ...]:
    """Normalise ``learn`` (a stage name, an iterable of them, ``"all"``, ``"none"`` or ``None``)."""
    if learn is None or learn == "none":
        return ()
    if learn == "all":
        return tuple(s for s in STAGES if s != "dct" or output == "mfcc")
    names = (learn,) if isinstance(learn, str) else tuple(learn)
    for name in names:
        if name not in STAGES:
            raise ValueError(f"learn names stages among {STAGES} (or 'all' / 'none'), got {name!r}")
    if "dct" in names and output != "mfcc":
        raise ValueError(f"learn includes 'dct' but output={output!r} has no DCT; use output='mfcc'")
    return tuple(s for s in STAGES if s in names)


class KaleidoFrontend(FrontendBase):
    """Log-mel or MFCC features whose DFT is a learnable K-matrix (Dao et al., "Kaleidoscope", ICLR 2020).

    The fixed stages are the ``convention``'s; with ``init="fft"`` the module equals its fixed twin
    (:class:`~kfront.Fbank` / :class:`~kfront.MFCC` with the same arguments) until it trains. ``docs/kaleido.md``
    describes the ``real_input`` and ``filterbank`` choices.

    Args:
        convention (str or Convention): the fixed stages and their defaults. (Default: ``"torchaudio"``)
        output (str, optional): ``"fbank"`` or ``"mfcc"``, where the convention defines both. (Default: its own)
        kmatrix_width (int): width ``w`` of the K-matrix, a product of ``w`` factors ``B B*``. (Default: ``1``)
        learn (str or iterable of str): stages that train, among ``"kmatrix"``, ``"window"``, ``"filterbank"``,
            ``"dct"``; or ``"all"`` / ``"none"``. (Default: ``("kmatrix",)``)
        init (str): ``"fft"`` (the DFT, exact), ``"identity"``, ``"ortho"`` or ``"randn"``. (Default: ``"fft"``)
        filterbank (str): ``"triangular"`` (learnable filter edges) or ``"free"`` (learnable non-negative weights
            inside the initial support). (Default: ``"triangular"``)
        kmatrix_expansion (int): expansion ``e`` of the K-matrix, a power of 2. (Default: ``1``)
        real_input (str): ``"complex"`` (a K-matrix of size ``n_fft``) or ``"packed"`` (of size ``n_fft / 2``,
            on ``x_even + i x_odd``, and a learnable separation). (Default: ``"complex"``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``. (Default: the default dtype)
        **feature_args: :class:`~kfront.frontend.config.FeatureConfig` fields that override the convention.

    Example:
        >>> frontend = KaleidoFrontend(output="mfcc", learn=("kmatrix", "filterbank"))
        >>> feats = frontend(torch.randn(4, 16000))  # (4, 13, 101), equal to MFCC() at init
    """

    def __init__(self, *, convention="torchaudio", output: str | None = None, kmatrix_width: int = 1,
                 learn=("kmatrix",), init: str = "fft", filterbank: str = "triangular", kmatrix_expansion: int = 1,
                 real_input: str = "complex", dtype: torch.dtype | None = None, **feature_args):
        """Build the front-end (see the class docstring)."""
        if output is not None:
            feature_args["output"] = output
        config = get_convention(convention, **feature_args)
        if filterbank not in FILTERBANKS:
            raise ValueError(f"filterbank must be one of {FILTERBANKS}, got {filterbank!r}")
        if real_input not in REAL_INPUTS:
            raise ValueError(f"real_input must be one of {REAL_INPUTS}, got {real_input!r}")
        n_fft = config.n_fft
        if real_input == "packed" and (n_fft % 2 or n_fft < 4):
            raise ValueError(f"real_input='packed' splits a frame into n_fft / 2 (even, odd) sample pairs: n_fft must "
                             f"be even and >= 4, got {n_fft}; use real_input='complex' for an odd n_fft")
        dtype = resolve_dtype(dtype)
        super().__init__(config, dtype, convention=convention)
        self._learn = resolve_learn(learn, config.output)
        self.init, self.filterbank_type, self.real_input = init, filterbank, real_input

        window = F.make_window(config.window, config.win_length, dtype, config.periodic)  # (win_length,)
        self._register("window", window, "window")
        self.register_buffer("window_init", window.clone(), persistent=False)  # rebuilt from the arguments
        k_in, k_out = (n_fft, self.config.n_freqs) if real_input == "complex" else (n_fft // 2, n_fft // 2)
        self.kmatrix = KMatrix(k_in, k_out, width=kmatrix_width, expansion=kmatrix_expansion, complex=True,
                               init=init, dtype=dtype)
        if self.kmatrix.bias is not None or self.kmatrix.permutation_at not in (None, "input"):
            raise ValueError("KaleidoFrontend needs a K-matrix without bias whose permutation acts on its input")
        for p in self.kmatrix.parameters():
            p.requires_grad_("kmatrix" in self._learn)
        cdtype = self.kmatrix.twiddle.dtype
        sep = separation_init(n_fft, cdtype) if real_input == "packed" else None
        self._register("separation", sep, "kmatrix")  # (2, n_freqs) complex, or None
        # At init="fft" the starting point is the DFT itself; a random start is kept to measure drift from.
        self.register_buffer("twiddle_init", None if init == "fft" else self.kmatrix.twiddle.detach().clone())

        # Mel edges m_0 < ... < m_{n_mels+1}: m_0 fixed at f_min, spacings mel_step * exp(mel_log_steps).
        scale = config.mel_scale
        self._mel_min = float(F.hz_to_mel(config.f_min, scale))
        self._mel_step = (float(F.hz_to_mel(config.f_max, scale)) - self._mel_min) / (config.n_mels + 1)
        if filterbank == "triangular":
            self._register("mel_log_steps", torch.zeros(config.n_mels + 1, dtype=dtype), "filterbank")  # (n_mels + 1,)
        else:
            self._register("fb_sqrt", mel_filterbank_of(config).sqrt().to(dtype), "filterbank")  # (n_freqs, n_mels)
        dct = F.create_dct(config.n_mfcc, config.n_mels, dtype) if config.output == "mfcc" else None
        self._register("dct_mat", dct, "dct")  # (n_mels, n_mfcc) or None

    def _register(self, name: str, tensor: torch.Tensor | None, stage: str) -> None:
        if tensor is not None and stage in self._learn:
            setattr(self, name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, tensor)

    def _state_settings(self) -> dict:
        km = self.kmatrix
        return dict(real_input=self.real_input, kmatrix_width=km.width, kmatrix_expansion=km.expansion,
                    filterbank=self.filterbank_type, init=self.init)

    # --- the contract -----------------------------------------------------------------------------------------
    @property
    def has_kmatrix(self) -> bool:
        return True

    @property
    def learn(self) -> tuple:
        return self._learn

    @property
    def dtype(self) -> torch.dtype:
        tw = self.kmatrix.twiddle
        if not tw.is_complex():
            raise ValueError(f"the K-matrix twiddle is {tw.dtype}, not complex: Module.to(dtype) discards the "
                             "imaginary part of complex parameters; build the front-end with dtype= instead")
        return {torch.complex64: torch.float32, torch.complex128: torch.float64}[tw.dtype]

    def window_values(self) -> torch.Tensor:
        return self.window

    def filterbank(self) -> torch.Tensor:
        """The ``(n_freqs, n_mels)`` non-negative filterbank, computed from its parameters (float64 inside)."""
        if self.filterbank_type == "free":
            return self.fb_sqrt.square()
        cfg = self.config
        edges = self._edges_hz(self.mel_log_steps)  # (n_mels + 2,)
        all_freqs = F.fft_frequencies(cfg.sample_rate, cfg.n_fft, grid=cfg.freq_grid).to(edges.device)
        fb = F.filterbank_from_edges(all_freqs, edges, cfg.filter_shape, cfg.mel_scale, cfg.mel_norm)
        return fb.to(self.mel_log_steps.dtype)

    def mel_edges(self) -> torch.Tensor:
        """The ``n_mels + 2`` filter edges in Hz, float64 (``"triangular"`` filterbank only)."""
        if self.filterbank_type != "triangular":
            raise ValueError(f"mel edges exist only for filterbank='triangular', not {self.filterbank_type!r}")
        return self._edges_hz(self.mel_log_steps.detach())

    def _edges_hz(self, log_steps: torch.Tensor) -> torch.Tensor:
        # Spacings between e^-7 and e^4 times the initial one: edges never merge (no 0/0 in the slopes) and
        # never run to infinity (mel_to_hz overflows); past the bounds a spacing gets no gradient.
        steps = self._mel_step * torch.exp(log_steps.to(torch.float64).clamp(-7.0, 4.0))  # (n_mels + 1,)
        first = torch.full((1,), self._mel_min, dtype=torch.float64, device=steps.device)
        mels = torch.cat((first, self._mel_min + torch.cumsum(steps, 0)))  # (n_mels + 2,)
        return F.mel_to_hz(mels, self.config.mel_scale)

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat

    @torch.no_grad()
    def transform_matrix(self) -> torch.Tensor:
        """The ``(n_freqs, n_fft)`` complex map from a windowed frame to the bins (the DFT at ``init="fft"``)."""
        return self._matrix(torch.ones(self.config.n_fft, dtype=self.dtype, device=self.kmatrix.twiddle.device))

    @torch.no_grad()
    def initial_transform_matrix(self) -> torch.Tensor:
        if self.twiddle_init is None:
            return super().initial_transform_matrix()
        twin = copy.deepcopy(self)
        twin.kmatrix.twiddle.copy_(self.twiddle_init)
        if twin.separation is not None:
            twin.separation.copy_(separation_init(self.config.n_fft, twin.separation.dtype))
        return twin.transform_matrix()

    @torch.no_grad()
    def initial_window(self) -> torch.Tensor:
        return self.window_init.clone()

    # --- the pipeline -----------------------------------------------------------------------------------------
    def spectrum(self, frames: torch.Tensor, window: torch.Tensor | None = None, power: bool = False) -> torch.Tensor:
        """Windowed K-matrix transform of raw frames, ``(..., L)`` real -> ``(..., n_freqs)`` complex (``L <=
        n_fft``); ``window`` ``(L,)`` replaces :meth:`frame_window`; ``power=True`` returns the bins' power."""
        km = self.kmatrix
        window = self.frame_window() if window is None else window  # (L,)
        return kmatrix_spectrum(frames, window, km.twiddle, km.perm, km.increasing_stride, self.config.n_freqs,
                                self.separation, power=power)

    def power_spectrum(self, frames: torch.Tensor) -> torch.Tensor:
        return self.spectrum(frames, power=True)  # (..., frames, n_freqs); no sqrt: finite grad at 0

    def _matrix(self, window: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(self.config.n_fft, dtype=self.dtype, device=self.kmatrix.twiddle.device)
        return self.spectrum(eye, window).t()  # (n_freqs, n_fft)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", learn={self.learn}, init={self.init!r}, "
                f"filterbank={self.filterbank_type!r}, real_input={self.real_input!r}")
