"""``KaleidoFrontend``: the MFCC / log-mel pipeline with a learnable K-matrix in place of the FFT."""
import torch
from torch import nn

from ..core import KMatrix
from . import functional as F
from ._spectrum import kmatrix_spectrum, separation_init
from ._base import FrontendBase, resolve_dtype
from ._checks import is_power_of_2

STAGES = ("kmatrix", "window", "filterbank", "dct")
FILTERBANKS = ("triangular", "free")
OUTPUTS = ("fbank", "mfcc")
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

    Pipeline, per frame of ``n_fft`` samples: window -> K-matrix (complex) -> power ``|.|^2`` of
    ``n_fft // 2 + 1`` bins -> mel filterbank -> ``log(. + log_offset)`` -> (``output="mfcc"``) orthonormal
    DCT-II. With ``init="fft"`` the K-matrix is the DFT exactly, so the module equals :class:`~kfront.MFCC` /
    :class:`~kfront.Fbank` built with the same arguments until it trains.

    Real frames (``real_input``):

    - ``"complex"`` (default): the frame is a complex vector with zero imaginary part, the K-matrix has size
      ``n_fft``, and its first ``n_fft // 2 + 1`` outputs (DC to Nyquist at init) feed the power. The other
      outputs are conjugate mirrors of these only while the K-matrix is the DFT; trained, they are free, but the
      filterbank was built for one bin per frequency, so they are dropped (and their twiddles that reach only
      them get no gradient). Any member of the K-matrix class of size ``n_fft`` and width ``kmatrix_width`` is
      reachable, restricted to real inputs.
    - ``"packed"``: the real-FFT trick: ``z = x_even + i x_odd`` (a free view), a K-matrix of size
      ``n_fft / 2``, then ``X_k = a_k Z_k + b_k conj(Z_{n/2-k})`` with learnable ``a, b`` (the ``separation``
      parameter, learned with ``"kmatrix"``). Half the butterfly work and about half the parameters. It is a
      K-matrix too (products and sums of K-matrices, diagonals, permutations and a conjugation of a K-matrix
      stay in the hierarchy, at a larger width and expansion), but a narrower family than ``"complex"`` at
      the same width: only bins ``k`` and ``n/2 - k`` are mixed after the transform, and even and odd samples
      enter through one fixed pairing. Not the default for that reason.

    The bit-reversal permutation of the K-matrix's input and its zero padding are folded into the framing
    gather, so they cost one copy of the frames; with ``"complex"`` the window is folded into the K-matrix's
    first butterfly factor, and the real frames go to the op without a copy to complex. On CPU the power (and
    with ``"packed"`` the separation before it) is computed by the fused op straight from the transform's tiles
    (:func:`kfront.core.multiply.butterfly_multiply_power`), so the complex spectrum is never stored.

    Args:
        sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max, window, center, log_offset, dtype:
            as for :class:`~kfront.Fbank` (``n_fft`` must be a power of 2).
        output (str): ``"fbank"`` (log-mel, ``n_mels`` features) or ``"mfcc"`` (``n_mfcc``). (Default: ``"fbank"``)
        n_mfcc (int): MFCCs kept with ``output="mfcc"``. (Default: ``13``)
        kmatrix_width (int): width ``w`` of the K-matrix, a product of ``w`` factors ``B B*``. (Default: ``1``)
        learn (str or iterable of str): stages that train, among ``"kmatrix"``, ``"window"``, ``"filterbank"``,
            ``"dct"``; or ``"all"`` / ``"none"``. Frozen stages are buffers; the state dict has the same keys
            either way. The default trains only the K-matrix, the stage this front-end adds, so that a result can
            be attributed to it. (Default: ``("kmatrix",)``)
        init (str): K-matrix initialisation: ``"fft"`` (the DFT, exact) or ``"identity"``, ``"ortho"``,
            ``"randn"`` (kept in the buffer ``twiddle_init`` to measure drift). (Default: ``"fft"``)
        filterbank (str): how a learnable filterbank stays non-negative.
            ``"triangular"``: triangles whose ``n_mels + 2`` edges on the mel scale are parameterised by the
            logs of their spacings (``n_mels + 1`` parameters; the lowest edge stays at ``f_min``). Exact at init,
            non-negative and ordered by construction, and the filters can move, widen and narrow: their support
            moves with them. Their shape stays triangular. Spacings are bounded to ``[e^-7, e^4]`` times the
            initial one.
            ``"free"``: every weight is ``w ** 2``, ``w`` initialised to ``sqrt(mel)`` (exact up to rounding);
            any non-negative shape inside the initial support, ``n_freqs * n_mels`` parameters, but a weight
            that is zero gets no gradient, so no filter can reach a bin outside its triangle.
            (Default: ``"triangular"``)
        kmatrix_expansion (int): expansion ``e`` of the K-matrix (a power of 2). (Default: ``1``)
        real_input (str): ``"complex"`` or ``"packed"``, see above. (Default: ``"complex"``)

    Example:
        >>> frontend = KaleidoFrontend(output="mfcc", learn=("kmatrix", "filterbank"))
        >>> feats = frontend(torch.randn(4, 16000))  # (4, 13, 101), equal to MFCC() at init
        >>> feats, frame_lengths = frontend(wave, lengths=torch.tensor([16000, 12000, 9000, 4000]))
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 512, win_length: int | None = 400,
                 hop_length: int | None = 160, n_mels: int = 40, f_min: float = 0.0, f_max: float | None = None,
                 window="hamming", output: str = "fbank", n_mfcc: int = 13, kmatrix_width: int = 1,
                 learn=("kmatrix",), init: str = "fft", filterbank: str = "triangular", kmatrix_expansion: int = 1,
                 real_input: str = "complex", center: bool = True, log_offset: float = 1e-6,
                 dtype: torch.dtype | None = None):
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if filterbank not in FILTERBANKS:
            raise ValueError(f"filterbank must be one of {FILTERBANKS}, got {filterbank!r}")
        if real_input not in REAL_INPUTS:
            raise ValueError(f"real_input must be one of {REAL_INPUTS}, got {real_input!r}")
        super().__init__(sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max,
                         n_mfcc if output == "mfcc" else None, center, log_offset)
        if not is_power_of_2(n_fft) or (real_input == "packed" and n_fft < 4):
            raise ValueError(f"n_fft must be a power of 2 for the K-matrix (>= 4 when packed), got {n_fft}")
        dtype = resolve_dtype(dtype)
        self.learn = resolve_learn(learn, output)
        self.init, self.filterbank_type, self.real_input = init, filterbank, real_input

        window = F.make_window(window, self.win_length).to(dtype)  # (win_length,)
        self._register("window", window, "window")
        self.register_buffer("window_init", window.clone(), persistent=False)  # rebuilt from the arguments
        k_in, k_out = (n_fft, self.n_freqs) if real_input == "complex" else (n_fft // 2, n_fft // 2)
        self.kmatrix = KMatrix(k_in, k_out, width=kmatrix_width, expansion=kmatrix_expansion, complex=True,
                               init=init, dtype=dtype)
        if self.kmatrix.bias is not None or getattr(self.kmatrix, "_perm_at", "input") != "input":
            raise ValueError("KaleidoFrontend needs a K-matrix without bias whose permutation acts on its input")
        for p in self.kmatrix.parameters():
            p.requires_grad_("kmatrix" in self.learn)
        cdtype = self.kmatrix.twiddle.dtype
        sep = separation_init(n_fft, cdtype) if real_input == "packed" else None
        self._register("separation", sep, "kmatrix")  # (2, n_freqs) complex, or None
        # At init="fft" the starting point is the DFT itself; a random start is kept to measure drift from.
        self.register_buffer("twiddle_init", None if init == "fft" else self.kmatrix.twiddle.detach().clone())

        # Mel edges m_0 < ... < m_{n_mels+1}: m_0 fixed at f_min, spacings mel_step * exp(mel_log_steps).
        self._mel_min = float(F.hz_to_mel(self.f_min))
        self._mel_step = (float(F.hz_to_mel(self.f_max)) - self._mel_min) / (n_mels + 1)
        if filterbank == "triangular":
            self._register("mel_log_steps", torch.zeros(n_mels + 1, dtype=dtype), "filterbank")  # (n_mels + 1,)
        else:
            fb0 = F.mel_filterbank(self.n_freqs, self.f_min, self.f_max, n_mels, sample_rate)
            self._register("fb_sqrt", fb0.sqrt().to(dtype), "filterbank")  # (n_freqs, n_mels)
        dct = F.create_dct(n_mfcc, n_mels, dtype) if output == "mfcc" else None
        self._register("dct_mat", dct, "dct")  # (n_mels, n_mfcc) or None

    def _register(self, name: str, tensor: torch.Tensor | None, stage: str) -> None:
        if tensor is not None and stage in self.learn:
            setattr(self, name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, tensor)

    # --- the pipeline -----------------------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        tw = self.kmatrix.twiddle
        if not tw.is_complex():
            raise ValueError(f"the K-matrix twiddle is {tw.dtype}, not complex: Module.to(dtype) discards the "
                             "imaginary part of complex parameters; build the front-end with dtype= instead")
        return {torch.complex64: torch.float32, torch.complex128: torch.float64}[tw.dtype]

    def filterbank(self) -> torch.Tensor:
        """The ``(n_freqs, n_mels)`` non-negative filterbank, computed from its parameters (float64 inside)."""
        if self.filterbank_type == "free":
            return self.fb_sqrt.square()
        edges = self._edges_hz(self.mel_log_steps)  # (n_mels + 2,)
        all_freqs = F.fft_frequencies(self.sample_rate, self.n_fft).to(edges.device)
        return F.triangular_filterbank(all_freqs, edges).to(self.mel_log_steps.dtype)

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
        return F.mel_to_hz(torch.cat((first, self._mel_min + torch.cumsum(steps, 0))))  # (n_mels + 2,)

    def dct_matrix(self) -> torch.Tensor | None:
        return self.dct_mat

    def spectrum(self, frames: torch.Tensor, window: torch.Tensor | None = None, power: bool = False) -> torch.Tensor:
        """Windowed K-matrix transform of raw frames: ``(..., n_fft)`` real -> ``(..., n_freqs)`` complex.

        ``window`` (``(n_fft,)``) replaces the module's zero-padded window, e.g. ones for the bare transform;
        ``power=True`` returns the (real) power of the bins instead.
        """
        km = self.kmatrix
        window = F.pad_window(self.window, self.n_fft) if window is None else window  # (n_fft,)
        return kmatrix_spectrum(frames, window, km.twiddle, km.perm, km.increasing_stride, self.n_freqs,
                                self.separation, power=power)

    def features_from_padded(self, padded: torch.Tensor) -> torch.Tensor:
        frames = F.frame(padded, self.n_fft, self.hop_length)  # (..., frames, n_fft)
        power = self.spectrum(frames, power=True)  # (..., frames, n_freqs); no sqrt: finite grad at 0
        return F.power_to_features(power, self.filterbank(), self.log_offset, self.dct_mat)

    def _matrix(self, window: torch.Tensor | None) -> torch.Tensor:
        eye = torch.eye(self.n_fft, dtype=self.dtype, device=self.kmatrix.twiddle.device)
        return self.spectrum(eye, window).t()  # (n_freqs, n_fft)

    @torch.no_grad()
    def analysis_matrix(self) -> torch.Tensor:
        return self._matrix(None)

    @torch.no_grad()
    def transform_matrix(self) -> torch.Tensor:
        """The ``(n_freqs, n_fft)`` complex map from a windowed frame to the bins (the DFT at ``init="fft"``)."""
        return self._matrix(torch.ones(self.n_fft, dtype=self.dtype, device=self.kmatrix.twiddle.device))

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", learn={self.learn}, init={self.init!r}, "
                f"filterbank={self.filterbank_type!r}, real_input={self.real_input!r}")
