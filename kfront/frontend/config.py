"""``FeatureConfig``: every fixed stage of a front-end, resolved and checked, in one frozen record.

A front-end is ``frame -> (DC removal, pre-emphasis) -> window -> transform -> power -> mel filterbank -> log ->
(dynamic-range floor, affine) -> (DCT, lifter, energy) -> (deltas, context)``; the transform is the one stage a
:class:`~kfront.KaleidoFrontend` adds. Names follow torchaudio; each convention maps its toolkit's names onto them.
"""
import dataclasses
import math
from dataclasses import dataclass

import torch

from .functional.windows import WINDOWS
FRAMINGS = ("stft", "kaldi")
PAD_MODES = ("reflect", "constant")
MEL_SCALES = ("htk", "slaney", "kaldi")
FILTER_SHAPES = ("hz", "mel", "symmetric")
MEL_NORMS = (None, "slaney")
FREQ_GRIDS = ("linspace", "rfftfreq")
LOG_SCALES = ("natural", "log10", "db")
OUTPUTS = ("fbank", "mfcc")
ENERGIES = (None, "prepend", "c0")
SAMPLE_FORMATS = ("float", "int16")


@dataclass(frozen=True)
class FeatureConfig:
    """The fixed stages of a front-end. Build one with :func:`kfront.frontend.conventions.get_convention`.

    Framing and transform:
        sample_rate (int): rate of the input audio (Hz).
        n_fft (int): transform size; any ``n >= 2`` (a power of 2 costs least in a K-matrix).
        win_length (int): window length, ``<= n_fft``.
        hop_length (int): hop between frames.
        window (str or Tensor): a name in ``WINDOWS`` or a ``(win_length,)`` tensor.
        periodic (bool): periodic window (``torch.*_window`` default) or symmetric (Kaldi's; ``"povey"`` is).
        framing (str): ``"stft"``: frames of ``n_fft`` samples with the window centred in them (``torch.stft``);
            ``"kaldi"``: frames of ``win_length`` samples, zero-padded at the end to ``n_fft`` (Kaldi).
        center (bool): ``"stft"`` only: pad ``n_fft // 2`` samples at both ends, mode ``pad_mode``.
        pad_mode (str): ``"reflect"`` or ``"constant"`` (zeros).
        snip_edges (bool): ``"kaldi"`` only: ``True`` keeps frames that fit inside the signal; ``False`` centres
            frame ``t`` at ``t * hop + hop / 2`` with Kaldi's mirror padding, ``(n + hop / 2) // hop`` frames.
        drop_last (bool): drop the last frame (Whisper).
        remove_dc_offset (bool): subtract each frame's mean (Kaldi).
        preemphasis (float): ``x[i] -= c * x[i - 1]`` within each frame, ``x[0] -= c * x[0]`` (Kaldi); 0 is off.
    Filterbank:
        n_mels (int): mel filters.
        f_min, f_max (float): lowest and highest filter edge (Hz).
        mel_scale (str): ``"htk"`` (``2595 log10(1 + f / 700)``), ``"slaney"`` (librosa's) or ``"kaldi"``
            (``1127 ln(1 + f / 700)``).
        filter_shape (str): triangles linear in Hz (``"hz"``: torchaudio, librosa) or on the mel axis
            (``"mel"``: Kaldi), or centred on each edge (``"symmetric"``: SpeechBrain).
        mel_norm (str or None): ``"slaney"`` scales each filter to unit area (``2 / (f[m+2] - f[m])``).
        freq_grid (str): bin frequencies ``linspace(0, sample_rate // 2, n_freqs)`` (torchaudio, transformers)
            or ``k * sample_rate / n_fft`` (librosa, Kaldi); they differ only for odd ``n_fft``.
    Compression:
        log_scale (str): ``"natural"``, ``"log10"`` or ``"db"`` (``10 log10``, of a power).
        log_floor (float): ``log(max(x, log_floor))``; 0 is off.
        log_offset (float): ``log(x + log_offset)``; 0 is off. One of the two must be positive.
        dynamic_range (float or None): floor every feature of an utterance at its maximum minus this
            (Whisper's 8 in log10 units, SpeechBrain's ``top_db``).
        feature_shift, feature_scale (float): ``y = (y + shift) * scale`` after the floor (Whisper: 4, 1/4).
    Output:
        output (str): ``"fbank"`` (log-mel, ``n_mels`` features) or ``"mfcc"`` (``n_mfcc``).
        n_mfcc (int or None): cepstra kept (orthonormal DCT-II).
        lifter (float): Kaldi's cepstral lifter ``1 + lifter / 2 * sin(pi k / lifter)``; 0 is off.
        energy (str or None): Kaldi's log energy: ``"prepend"`` adds it as feature 0 of a filterbank, ``"c0"``
            replaces the MFCC's c0 with it.
        raw_energy (bool): energy before pre-emphasis and windowing (Kaldi's default) or after.
        energy_floor (float): floor of the energy (not of its log); 0 is off.
        deltas (int): time derivatives appended (SpeechBrain: 2), each over ``delta_window`` frames.
        delta_window (int): odd window of the derivative filter.
        context (tuple[int, int]): frames of left and right context stacked with each frame (SpeechBrain: 5, 5).
        sample_format (str): ``"float"`` samples, or ``"int16"`` PCM values (Kaldi; float tensors in int16 range).
    """

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    window: object = "hamming"
    periodic: bool = True
    framing: str = "stft"
    center: bool = True
    pad_mode: str = "reflect"
    snip_edges: bool = True
    drop_last: bool = False
    remove_dc_offset: bool = False
    preemphasis: float = 0.0
    n_mels: int = 40
    f_min: float = 0.0
    f_max: float = 8000.0
    mel_scale: str = "htk"
    filter_shape: str = "hz"
    mel_norm: object = None
    freq_grid: str = "linspace"
    log_scale: str = "natural"
    log_floor: float = 0.0
    log_offset: float = 1e-6
    dynamic_range: object = None
    feature_shift: float = 0.0
    feature_scale: float = 1.0
    output: str = "fbank"
    n_mfcc: object = None
    lifter: float = 0.0
    energy: object = None
    raw_energy: bool = True
    energy_floor: float = 0.0
    deltas: int = 0
    delta_window: int = 5
    context: tuple = (0, 0)
    sample_format: str = "float"

    # --- derived ------------------------------------------------------------------------------------------------
    @property
    def n_freqs(self) -> int:
        """One-sided bins the power is taken of: ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def frame_length(self) -> int:
        """Samples a frame reads: ``n_fft`` (``"stft"``) or ``win_length`` (``"kaldi"``)."""
        return self.n_fft if self.framing == "stft" else self.win_length

    @property
    def base_features(self) -> int:
        """Features per frame before deltas and context."""
        n = self.n_mels if self.output == "fbank" else self.n_mfcc
        return n + (1 if self.energy == "prepend" else 0)

    @property
    def n_features(self) -> int:
        """Features per frame of the output."""
        return self.base_features * (1 + self.deltas) * (1 + self.context[0] + self.context[1])

    @property
    def utterance_stages(self) -> tuple:
        """Stages that need the whole utterance (so the features cannot be streamed frame by frame)."""
        names = (("dynamic_range", self.dynamic_range is not None), ("deltas", self.deltas > 0),
                 ("context", sum(self.context) > 0), ("drop_last", self.drop_last),
                 ("snip_edges=False", self.framing == "kaldi" and not self.snip_edges))
        return tuple(name for name, on in names if on)

    def replace(self, **changes) -> "FeatureConfig":
        """A checked copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes).checked()

    # --- checks -------------------------------------------------------------------------------------------------
    def checked(self) -> "FeatureConfig":
        """Return ``self`` after checking every field; raises ``ValueError`` naming the bad value."""
        check_sample_rate(self.sample_rate)
        for name in ("n_fft", "win_length", "hop_length", "n_mels", "delta_window"):
            _positive_int(name, getattr(self, name))
        if self.n_fft < 2:
            raise ValueError(f"n_fft must be >= 2, got {self.n_fft}")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length must be <= n_fft = {self.n_fft}, got {self.win_length}")
        _choice("framing", self.framing, FRAMINGS)
        _choice("pad_mode", self.pad_mode, PAD_MODES)
        _choice("mel_scale", self.mel_scale, MEL_SCALES)
        _choice("filter_shape", self.filter_shape, FILTER_SHAPES)
        _choice("mel_norm", self.mel_norm, MEL_NORMS)
        _choice("freq_grid", self.freq_grid, FREQ_GRIDS)
        _choice("log_scale", self.log_scale, LOG_SCALES)
        _choice("output", self.output, OUTPUTS)
        _choice("energy", self.energy, ENERGIES)
        _choice("sample_format", self.sample_format, SAMPLE_FORMATS)
        if isinstance(self.window, torch.Tensor):
            if self.window.shape != (self.win_length,) or not self.window.is_floating_point():
                raise ValueError(f"a window tensor must be real with shape ({self.win_length},), got "
                                 f"{self.window.dtype} {tuple(self.window.shape)}")
        else:
            _choice("window", self.window, WINDOWS, "or a tensor")
        if not (0.0 <= self.f_min < self.f_max):
            raise ValueError(f"need 0 <= f_min < f_max, got f_min={self.f_min}, f_max={self.f_max}")
        if self.f_max > nyquist(self.sample_rate):
            raise ValueError(f"f_max must be <= sample_rate / 2 = {nyquist(self.sample_rate)}, got {self.f_max}")
        for name in ("preemphasis", "log_floor", "log_offset", "energy_floor", "lifter", "feature_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not self.log_offset > 0 and not self.log_floor > 0:
            raise ValueError(f"log_offset must be positive (or log_floor, for a clamp instead), got "
                             f"log_offset={self.log_offset!r}, log_floor={self.log_floor!r}")
        if self.feature_scale == 0:
            raise ValueError("feature_scale must be non-zero, got 0")
        if self.dynamic_range is not None and not (isinstance(self.dynamic_range, (int, float))
                                                   and self.dynamic_range > 0):
            raise ValueError(f"dynamic_range must be None or a positive number, got {self.dynamic_range!r}")
        if self.output == "mfcc":
            if isinstance(self.n_mfcc, bool) or not isinstance(self.n_mfcc, int) or not 1 <= self.n_mfcc <= self.n_mels:
                raise ValueError(f"n_mfcc must be an int in [1, n_mels = {self.n_mels}], got {self.n_mfcc!r}")
        if self.energy == "c0" and self.output != "mfcc":
            raise ValueError("energy='c0' replaces the first cepstrum: it needs output='mfcc'")
        if self.energy == "prepend" and self.output != "fbank":
            raise ValueError("energy='prepend' adds a filterbank feature: with output='mfcc' use energy='c0'")
        if isinstance(self.deltas, bool) or not isinstance(self.deltas, int) or self.deltas < 0:
            raise ValueError(f"deltas must be an int >= 0, got {self.deltas!r}")
        if self.delta_window % 2 == 0 or self.delta_window < 3:
            raise ValueError(f"delta_window must be odd and >= 3, got {self.delta_window}")
        ctx = self.context
        if not (isinstance(ctx, tuple) and len(ctx) == 2 and all(isinstance(c, int) and c >= 0 for c in ctx)):
            raise ValueError(f"context must be a pair of ints >= 0 (left, right), got {ctx!r}")
        return self


def nyquist(sample_rate: int) -> float:
    """The Nyquist frequency of ``sample_rate``, in Hz."""
    return sample_rate / 2


def check_sample_rate(sample_rate) -> None:
    """Raise ``ValueError`` naming the value unless ``sample_rate`` is a positive int (Hz). Every convention calls
    it before deriving sizes from the rate (Kaldi's and SpeechBrain's windows are given in milliseconds), so a bad
    rate is named as such instead of as the window size it would have produced."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ValueError(f"sample_rate must be a positive int (Hz), got {sample_rate!r}")


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _choice(name: str, value, choices, extra: str = "") -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}{' ' + extra if extra else ''}, got {value!r}")
