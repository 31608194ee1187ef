"""Kaldi fbank and MFCC for k2 / icefall / lhotse / sherpa / kaldifeat / WeNet users, from a K-matrix front-end.

:class:`KaldiFbank` and :class:`KaldiMfcc` take Kaldi's options by Kaldi's names (kaldifeat's and
kaldi-native-fbank's ``frame_opts`` / ``mel_opts`` fields, flattened), are called as kaldifeat and
``torchaudio.compliance.kaldi`` are called (a 1-D waveform gives ``(frames, features)``), and also as an
on-the-fly feature layer (a padded batch with its lengths gives ``(batch, frames, features)`` and the frame
counts). At initialisation they compute Kaldi's features exactly (the ``"kaldi-fbank"`` / ``"kaldi-mfcc"``
conventions of :mod:`kfront.frontend.conventions`); the K-matrix, and what else ``learn`` names, then train.

**The scale of the samples.** Kaldi's formulas are the same everywhere, but what they are computed on is not, and
the features differ by ``2 log 32768 = 20.8`` per log-mel bin between the two (and the log and energy floors bind
differently), so a model only works with the scale it was trained with. ``sample_format`` must say which:

- ``"float"``: samples in [-1, 1], the floats that ``torchaudio.load`` / ``soundfile`` return. icefall and k2
  recipes (lhotse's features, kaldifeat in ``pretrained.py``), sherpa / sherpa-onnx with icefall models.
  A float tensor that peaks above 8, which no [-1, 1] audio does, even after gain augmentation, is refused.
- ``"int16"``: samples in int16 range, as Kaldi's ``compute-fbank-feats`` reads a wav file: Kaldi recipes, WeNet
  (``torchaudio.compliance.kaldi.fbank(waveform * (1 << 15), ...)``), sherpa with WeNet models
  (``normalize_samples=false``). A float tensor is taken as holding int16-range values, and refused when it looks
  like [-1, 1] audio instead: every sample within 1 of zero and not all of them integers. Quiet int16-range audio
  is not refused (speech at -60 dBFS still peaks near 33), nor digital silence (integers); only an utterance that
  is all below one int16 step and non-integer (resampled silence) would be, and ``check_scale=False`` lets it
  through.

An ``int16`` tensor (integer PCM) has one scale, so it lands on either: as it is for ``"int16"``, divided by 32768
for ``"float"``. ``input_scale`` says what scale *float* samples are on and multiplies them first:
``sample_format="int16", input_scale=32768`` (:meth:`KaldiFbank.wenet`) feeds a data pipeline's [-1, 1] audio to
a model trained on Kaldi / WeNet features, and refuses int16-range floats (they would be scaled twice: a peak above
8 * 32768); ``sample_format="float", input_scale=1 / 32768`` takes int16-range floats and refuses [-1, 1] audio
(it would peak below one int16 step).

**What differs from the packages.** Dither is off (Kaldi's default is 1.0, kaldi-native-fbank's 3e-5): features
are deterministic, as icefall / sherpa compute them at inference; add ``dither * torch.randn_like(x)`` to the
waveform to train with it. ``energy_floor`` defaults to Kaldi's 0.0; ``torchaudio.compliance.kaldi``'s default is
1.0, which :meth:`KaldiFbank.from_compliance` follows. ``htk_compat``, ``use_power=False``, ``use_log_fbank=False``,
VTLN warping and torchaudio's ``subtract_mean`` are not supported (``ValueError``). Audio that gives no frame
(fewer samples than a frame with ``snip_edges=True``) is refused, where Kaldi returns no frames.
"""
import dataclasses
import math
import struct

import torch
from torch import nn

from ..core.permutation import next_power_of_2
from ..frontend import MFCC, Fbank, KaleidoFrontend
from ..frontend._checks import FLOAT_PEAK_LIMIT, INT16_SCALE, scale_mismatch  # noqa: F401 (both re-exported)
from ..frontend.config import FeatureConfig
from ..frontend.functional import FLT_EPSILON

SAMPLE_FORMATS = ("float", "int16")
KALDI_WINDOWS = {"povey": "povey", "hamming": "hamming", "hanning": "hann", "rectangular": "rectangular",
                 "blackman": "blackman"}
_FEATURE_FIELDS = frozenset(f.name for f in dataclasses.fields(FeatureConfig))


def kaldi_samples(samp_freq: float, milliseconds: float) -> int:
    """Samples in ``milliseconds`` as Kaldi counts them: ``static_cast<int32>(samp_freq * 0.001 * ms)`` with its
    float32 options (``FrameExtractionOptions::WindowSize`` / ``WindowShift``)."""
    def f32(v):
        return struct.unpack("f", struct.pack("f", float(v)))[0]
    return int(f32(samp_freq) * 0.001 * f32(milliseconds))


def kaldi_feature_args(output: str, *, samp_freq=16000.0, frame_length_ms=25.0, frame_shift_ms=10.0,
                       round_to_power_of_two=True, snip_edges=True, dither=0.0, preemph_coeff=0.97,
                       remove_dc_offset=True, window_type="povey", blackman_coeff=0.42, num_mel_bins=23,
                       low_freq=20.0, high_freq=0.0, use_energy=False, raw_energy=True, energy_floor=0.0,
                       htk_compat=False, use_log_fbank=True, use_power=True, num_ceps=13,
                       cepstral_lifter=22.0) -> dict:
    """The :class:`~kfront.frontend.config.FeatureConfig` overrides (kfront's names) of Kaldi's options.

    Args:
        output (str): ``"fbank"`` or ``"mfcc"`` (``num_ceps``, ``cepstral_lifter`` apply to ``"mfcc"`` only).
        others: Kaldi's options, as :class:`KaldiFbank` documents them.

    Returns:
        dict: for ``get_convention("kaldi-fbank" | "kaldi-mfcc", **args)``.

    Example:
        >>> kaldi_feature_args("fbank", num_mel_bins=80, snip_edges=False, high_freq=-400.0)["f_max"]
        -400.0
    """
    if float(samp_freq) != int(samp_freq) or samp_freq <= 0:
        raise ValueError(f"samp_freq must be a positive whole number of Hz, got {samp_freq!r}")
    sample_rate = int(samp_freq)
    unsupported = {"dither": (dither, 0.0, "add dither * torch.randn_like(waveform) to the waveform to dither"),
                   "htk_compat": (htk_compat, False, "reorder the features yourself (HTK puts the energy last)"),
                   "use_log_fbank": (use_log_fbank, True, "the features are log-mel energies"),
                   "use_power": (use_power, True, "the filterbank is applied to the power spectrum")}
    for name, (value, supported, hint) in unsupported.items():
        if value != supported:
            raise ValueError(f"{name}={value!r} is not supported (only {supported!r}): {hint}")
    if window_type not in KALDI_WINDOWS:
        raise ValueError(f"window_type must be one of {sorted(KALDI_WINDOWS)}, got {window_type!r}")
    win_length = kaldi_samples(samp_freq, frame_length_ms)
    hop_length = kaldi_samples(samp_freq, frame_shift_ms)
    if win_length < 2 or hop_length < 1:
        raise ValueError(f"frame_length_ms={frame_length_ms!r} and frame_shift_ms={frame_shift_ms!r} give "
                         f"{win_length} and {hop_length} samples at {samp_freq} Hz; need >= 2 and >= 1")
    n_fft = next_power_of_2(win_length) if round_to_power_of_two else win_length
    if n_fft % 2:
        raise ValueError(f"round_to_power_of_two=False needs an even frame of samples (Kaldi's real FFT), got "
                         f"{win_length} from frame_length_ms={frame_length_ms!r}")
    if not 0.0 <= preemph_coeff <= 1.0:
        raise ValueError(f"preemph_coeff must be in [0, 1], got {preemph_coeff!r}")
    window = KALDI_WINDOWS[window_type]
    if window_type == "blackman" and blackman_coeff != 0.42:
        window = kaldi_blackman(win_length, blackman_coeff)  # torch.blackman_window is the 0.42 one
    args = dict(sample_rate=sample_rate, win_length=win_length, hop_length=hop_length, n_fft=n_fft,
                snip_edges=bool(snip_edges), preemphasis=float(preemph_coeff),
                remove_dc_offset=bool(remove_dc_offset), window=window, n_mels=int(num_mel_bins),
                f_min=float(low_freq), f_max=float(high_freq), raw_energy=bool(raw_energy),
                energy_floor=float(energy_floor))
    if output == "mfcc":
        args.update(n_mfcc=int(num_ceps), lifter=float(cepstral_lifter), energy="c0" if use_energy else None)
    else:
        args.update(energy="prepend" if use_energy else None)
    return args


def kaldi_blackman(win_length: int, blackman_coeff: float = 0.42) -> torch.Tensor:
    """Kaldi's generalised Blackman window ``c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)``, ``a = 2 pi / (N - 1)``:
    ``(win_length,)``, float64."""
    n = torch.arange(win_length, dtype=torch.float64)
    a = 2 * math.pi / (win_length - 1)
    return blackman_coeff - 0.5 * torch.cos(a * n) + (0.5 - blackman_coeff) * torch.cos(2 * a * n)


def check_sample_scale(waveform: torch.Tensor, sample_format: str, input_scale: float = 1.0) -> None:
    """Raise ``ValueError`` when float samples (after ``input_scale``) are plainly on the other scale than
    ``sample_format`` says, naming the peak and the fix (:func:`kfront.frontend._checks.scale_mismatch` says when).
    """
    problem = scale_mismatch(waveform, sample_format, divided=input_scale < 1.0)
    if problem is None:
        return
    if sample_format == "float":
        raise ValueError(f"{problem}; sample_format='float' expects audio in [-1, 1] (icefall, lhotse, kaldifeat): "
                         "use sample_format='int16' if the model was trained on int16-range features (Kaldi, "
                         f"WeNet); divide int16-range audio by {INT16_SCALE:g} (input_scale={1 / INT16_SCALE!r}) "
                         "and pass [-1, 1] audio with input_scale=1.0")
    raise ValueError(f"{problem}, but sample_format='int16' computes Kaldi's features on int16-range samples: "
                     f"multiply [-1, 1] audio by {INT16_SCALE:g} (input_scale={INT16_SCALE:g}, WeNet's "
                     "waveform * (1 << 15)) and pass int16-range audio with input_scale=1.0, or use "
                     "sample_format='float' if the model was trained on [-1, 1] audio (icefall, lhotse)")


class _KaldiFeatures(nn.Module):
    """Shared by :class:`KaldiFbank` and :class:`KaldiMfcc`: holds the front-end, converts layouts and scales."""

    _OUTPUT = "fbank"
    _CONVENTION = "kaldi-fbank"
    _FIXED = Fbank
    #: ``torchaudio.compliance.kaldi`` argument names that differ from the Kaldi option names used here
    _COMPLIANCE_NAMES = {"sample_frequency": "samp_freq", "frame_length": "frame_length_ms",
                         "frame_shift": "frame_shift_ms", "preemphasis_coefficient": "preemph_coeff"}
    #: ``torchaudio.compliance.kaldi`` arguments that select what is not supported here, with their only value
    _COMPLIANCE_FIXED = {"channel": (-1, 0), "min_duration": (0.0,), "subtract_mean": (False,), "vtln_warp": (1.0,)}

    def __init__(self, options: dict, *, sample_format, input_scale, check_scale, learnable, learn, dtype,
                 frontend_args):
        super().__init__()
        if sample_format not in SAMPLE_FORMATS:
            raise ValueError(f"sample_format must be 'float' (audio in [-1, 1]: icefall, lhotse, kaldifeat, "
                             "sherpa with icefall models) or 'int16' (int16-range samples: Kaldi, WeNet), the scale "
                             f"the model's features were computed on; got {sample_format!r}")
        if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)) \
                or not math.isfinite(input_scale) or input_scale <= 0:
            raise ValueError(f"input_scale must be a positive number, got {input_scale!r}")
        clash = sorted(set(frontend_args) & _FEATURE_FIELDS)
        if clash:
            raise ValueError(f"{clash} are set through Kaldi's option names here (num_mel_bins, frame_length_ms, "
                             "low_freq, ...), not kfront's")
        if not learnable and frontend_args:
            raise ValueError(f"{sorted(frontend_args)} configure the learnable front-end; learnable=False takes none")
        self.options = dict(options)  # Kaldi's names, as given
        self.sample_format, self.input_scale, self.check_scale = sample_format, float(input_scale), check_scale
        feature_args = dict(kaldi_feature_args(self._OUTPUT, **options), sample_format=sample_format)
        if learnable:
            self.frontend = KaleidoFrontend(convention=self._CONVENTION, learn=learn, dtype=dtype, **frontend_args,
                                            **feature_args)
        else:
            self.frontend = self._FIXED(convention=self._CONVENTION, dtype=dtype, **feature_args)

    @classmethod
    def from_options(cls, opts, **kwargs):
        """Build from a kaldi-native-fbank or kaldifeat ``FbankOptions`` / ``MfccOptions`` object (read by field
        name; the package is not imported). ``kwargs``: :class:`KaldiFbank`'s own arguments (``sample_format``, ...).

        Example:
            >>> opts = knf.FbankOptions(); opts.frame_opts.dither = 0; opts.mel_opts.num_bins = 80
            >>> fbank = KaldiFbank.from_options(opts, sample_format="float")
        """
        frame, mel = opts.frame_opts, opts.mel_opts
        for flag in ("is_librosa", "htk_mode", "floor_to_int_bin"):  # kaldi-native-fbank's non-Kaldi mel banks
            if getattr(mel, flag, False):
                raise ValueError(f"mel_opts.{flag}=True is not Kaldi's filterbank and is not supported")
        use_floor, eps = getattr(opts, "use_log_floor", True), getattr(opts, "eps", FLT_EPSILON)
        if not use_floor or abs(eps - FLT_EPSILON) > 1e-6 * FLT_EPSILON:  # kaldi-native-fbank's extension
            raise ValueError(f"only Kaldi's log floor is supported (use_log_floor=True, eps={FLT_EPSILON}), got "
                             f"use_log_floor={use_floor!r}, eps={eps!r}")
        names = ("samp_freq", "frame_length_ms", "frame_shift_ms", "round_to_power_of_two", "snip_edges", "dither",
                 "preemph_coeff", "remove_dc_offset", "window_type", "blackman_coeff")
        options = {name: getattr(frame, name) for name in names}
        options.update(num_mel_bins=mel.num_bins, low_freq=mel.low_freq, high_freq=mel.high_freq)
        options.update({name: getattr(opts, name) for name in cls._OWN_OPTIONS})
        return cls(**options, **kwargs)

    @classmethod
    def from_compliance(cls, **kwargs):
        """Build from ``torchaudio.compliance.kaldi.fbank`` / ``mfcc`` keyword arguments, with torchaudio's
        defaults (``energy_floor=1.0``, ``use_energy=False`` for both), so that ``fbank(w)`` here equals
        ``torchaudio.compliance.kaldi.fbank(w[None], **kwargs)``. Other ``kwargs`` (``sample_format``, ...)
        are this class's own.

        Example:
            >>> wenet = KaldiFbank.from_compliance(num_mel_bins=80, frame_length=25, frame_shift=10, dither=0.0,
            ...                                    energy_floor=0.0, sample_frequency=16000, sample_format="int16")
        """
        options = {"energy_floor": 1.0, "use_energy": False}
        for name, allowed in cls._COMPLIANCE_FIXED.items():
            if name in kwargs and kwargs.pop(name) not in allowed:
                raise ValueError(f"torchaudio.compliance.kaldi's {name} is supported only at {allowed}")
        for name in ("vtln_low", "vtln_high"):  # used only with vtln_warp != 1
            kwargs.pop(name, None)
        for name, value in kwargs.items():
            options[cls._COMPLIANCE_NAMES.get(name, name)] = value
        return cls(**options)

    # --- the module -------------------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Features per frame."""
        return self.frontend.n_features

    def dim(self) -> int:
        """Features per frame (kaldifeat's and kaldi-native-fbank's name)."""
        return self.n_features

    def num_frames(self, n_samples):
        """Kaldi's ``NumFrames`` for ``n_samples`` (an int or an integer tensor): ``1 + (n - frame) // shift``
        (0 when shorter than a frame) with ``snip_edges=True``, ``(n + shift // 2) // shift`` without."""
        return self.frontend.num_frames(n_samples)

    def forward(self, waveform, lengths: torch.Tensor | None = None, sample_rate: int | None = None):
        """
        Args:
            waveform (Tensor or list of Tensor): ``(time,)``; ``(batch, time)`` (a padded batch); or, as kaldifeat
                takes them, a list of ``(time_i,)`` waveforms. Float samples on the ``sample_format`` scale (after
                ``input_scale``), or ``int16`` PCM.
            lengths (LongTensor, optional): ``(batch,)`` valid samples of each item of a ``(batch, time)``
                waveform (absolute counts). (Default: ``None``)
            sample_rate (int, optional): rate of the audio, checked against ``samp_freq``. (Default: ``None``)

        Returns:
            ``(frames, n_features)`` for ``(time,)``; ``(batch, frames, n_features)`` for ``(batch, time)``, with
            ``lengths`` the tuple ``(features, frame_counts)``, ``frame_counts`` ``(batch,)`` from Kaldi's
            ``NumFrames`` (each item's frames equal the item's own features; the frames past its count are
            padding); for a list, a list of ``(frames_i, n_features)``.
        """
        if isinstance(waveform, (list, tuple)):
            if lengths is not None:
                raise ValueError("lengths is for a padded (batch, time) tensor; a list of waveforms has its own")
            return self._features_of_list(list(waveform), sample_rate)
        self._check_shape(waveform, "waveform")
        if lengths is not None and waveform.dim() != 2:
            raise ValueError(f"lengths needs a (batch, time) waveform, got shape {tuple(waveform.shape)}")
        out = self.frontend(self._scaled(waveform), lengths, sample_rate)
        if lengths is None:
            return out.transpose(-1, -2)  # (..., frames, n_features)
        feats, counts = out
        return feats.transpose(-1, -2), counts  # (batch, frames, n_features), (batch,)

    def _features_of_list(self, waves: list, sample_rate):
        if not waves:
            raise ValueError("got an empty list of waveforms")
        for i, w in enumerate(waves):
            self._check_shape(w, f"waveform[{i}]", dims=(1,))
        if len({w.dtype for w in waves}) > 1:
            raise ValueError(f"the waveforms have different dtypes {sorted({str(w.dtype) for w in waves})}")
        lengths = torch.tensor([w.shape[0] for w in waves], device=waves[0].device)
        batch = nn.utils.rnn.pad_sequence(waves, batch_first=True)  # (batch, max time)
        feats, counts = self(batch, lengths, sample_rate)  # (batch, frames, n_features), (batch,)
        short = (counts == 0).nonzero()
        if short.numel():
            i = int(short[0, 0])
            raise ValueError(f"waveform[{i}] has {waves[i].shape[0]} samples, fewer than one frame "
                             f"({self.frontend.win_length} samples with snip_edges=True)")
        return [f[:n] for f, n in zip(feats, counts.tolist())]

    @staticmethod
    def _check_shape(waveform, name: str, dims=(1, 2)) -> None:
        if not isinstance(waveform, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(waveform).__name__}")
        if waveform.dim() not in dims:
            forms = " or ".join(("(time,)", "(batch, time)")[d - 1] for d in dims)
            raise ValueError(f"{name} must have shape {forms} (one channel, as Kaldi reads it), got "
                             f"{tuple(waveform.shape)}")
        if waveform.numel() == 0:
            raise ValueError(f"{name} is empty: shape {tuple(waveform.shape)}")

    def _scaled(self, waveform: torch.Tensor) -> torch.Tensor:
        """The samples the features are computed on: int16 PCM brought to ``sample_format``'s scale (it has only
        one scale, so ``input_scale``, which says what scale float samples are on, does not apply to it), float
        samples multiplied by ``input_scale``, and the scale checked."""
        if waveform.dtype == torch.int16:
            if self.sample_format == "int16":
                return waveform  # the front-end reads int16 as it is
            return waveform.to(self.frontend.dtype) / INT16_SCALE
        if self.input_scale != 1.0 and waveform.is_floating_point():
            waveform = waveform * self.input_scale
        if self.check_scale:
            check_sample_scale(waveform, self.sample_format, self.input_scale)
        return waveform

    def extra_repr(self) -> str:
        return f"sample_format={self.sample_format!r}, input_scale={self.input_scale:g}, n_features={self.n_features}"


class KaldiFbank(_KaldiFeatures):
    """Kaldi's log-mel filterbank (``compute-fbank-feats``, kaldifeat, kaldi-native-fbank) with a learnable
    K-matrix: exact at initialisation, called as kaldifeat / ``torchaudio.compliance.kaldi.fbank``.

    Args:
        sample_format (str): the scale of the samples the model's features were computed on: ``"float"``
            ([-1, 1]: icefall, lhotse, kaldifeat, sherpa with icefall models) or ``"int16"`` (Kaldi, WeNet). No
            default: see the module's docstring.
        samp_freq (float): sample rate, Hz. (Default: ``16000.0``)
        frame_length_ms, frame_shift_ms (float): frame length and shift, ms. (Default: ``25.0``, ``10.0``)
        round_to_power_of_two (bool): zero-pad each frame to a power of 2 (512), else transform ``frame_length``
            samples (400: a learnable front-end then needs the any-length DFT). (Default: ``True``)
        snip_edges (bool): only frames inside the signal (``True``) or ``(n + shift / 2) // shift`` frames with
            mirrored edges (``False``: lhotse, icefall). (Default: ``True``)
        dither (float): must be 0. (Default: ``0.0``)
        preemph_coeff (float): pre-emphasis. (Default: ``0.97``)
        remove_dc_offset (bool): subtract each frame's mean. (Default: ``True``)
        window_type (str): ``"povey"``, ``"hamming"``, ``"hanning"``, ``"rectangular"``, ``"blackman"`` (Kaldi's
            symmetric windows). (Default: ``"povey"``)
        blackman_coeff (float): of the ``"blackman"`` window. (Default: ``0.42``)
        num_mel_bins (int): mel filters. (Default: ``23``; icefall / lhotse: 80)
        low_freq (float): lowest filter edge, Hz. (Default: ``20.0``)
        high_freq (float): highest filter edge, Hz; ``<= 0`` is an offset from Nyquist. (Default: ``0.0``;
            icefall / lhotse: ``-400.0``)
        use_energy (bool): prepend the log energy of each frame. (Default: ``False``)
        raw_energy (bool): energy before pre-emphasis and window. (Default: ``True``)
        energy_floor (float): floor of the energy; 0 is none (Kaldi's default; torchaudio's is 1.0).
            (Default: ``0.0``)
        htk_compat, use_log_fbank, use_power (bool): must be ``False``, ``True``, ``True``.
        input_scale (float): multiplies float samples first (``32768`` for [-1, 1] audio into int16-range
            features); ``int16`` PCM is brought to ``sample_format``'s scale instead. (Default: ``1.0``)
        check_scale (bool): refuse audio on the other scale than ``sample_format``. (Default: ``True``)
        learnable (bool): a :class:`~kfront.KaleidoFrontend` (``True``) or its fixed twin :class:`~kfront.Fbank`.
            (Default: ``True``)
        learn: stages that train (see :class:`~kfront.KaleidoFrontend`). (Default: ``("kmatrix",)``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``. (Default: the default dtype)
        **frontend_args: other :class:`~kfront.KaleidoFrontend` arguments (``kmatrix_width``, ``real_input``, ...).

    Example:
        >>> fbank = KaldiFbank.icefall()  # 80 bins, snip_edges=False, high_freq=-400, audio in [-1, 1]
        >>> feats = fbank(torch.rand(16000) * 2 - 1)  # (100, 80)
        >>> feats, feat_lens = fbank(audio, lengths=audio_lens)  # (N, T, 80), (N,): into encoder(feats, feat_lens)
    """

    _OWN_OPTIONS = ("use_energy", "raw_energy", "energy_floor", "htk_compat", "use_log_fbank", "use_power")

    def __init__(self, *, sample_format: str | None = None, samp_freq: float = 16000.0,
                 frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0, round_to_power_of_two: bool = True,
                 snip_edges: bool = True, dither: float = 0.0, preemph_coeff: float = 0.97,
                 remove_dc_offset: bool = True, window_type: str = "povey", blackman_coeff: float = 0.42,
                 num_mel_bins: int = 23, low_freq: float = 20.0, high_freq: float = 0.0, use_energy: bool = False,
                 raw_energy: bool = True, energy_floor: float = 0.0, htk_compat: bool = False,
                 use_log_fbank: bool = True, use_power: bool = True, input_scale: float = 1.0,
                 check_scale: bool = True, learnable: bool = True, learn=("kmatrix",),
                 dtype: torch.dtype | None = None, **frontend_args):
        """Build the front-end from Kaldi's options; every argument is described under Args in the class docstring."""
        options = dict(samp_freq=samp_freq, frame_length_ms=frame_length_ms, frame_shift_ms=frame_shift_ms,
                       round_to_power_of_two=round_to_power_of_two, snip_edges=snip_edges, dither=dither,
                       preemph_coeff=preemph_coeff, remove_dc_offset=remove_dc_offset, window_type=window_type,
                       blackman_coeff=blackman_coeff, num_mel_bins=num_mel_bins, low_freq=low_freq,
                       high_freq=high_freq, use_energy=use_energy, raw_energy=raw_energy, energy_floor=energy_floor,
                       htk_compat=htk_compat, use_log_fbank=use_log_fbank, use_power=use_power)
        super().__init__(options, sample_format=sample_format, input_scale=input_scale, check_scale=check_scale,
                         learnable=learnable, learn=learn, dtype=dtype, frontend_args=frontend_args)

    @classmethod
    def icefall(cls, **kwargs):
        """icefall's / lhotse's fbank (kaldifeat in icefall's ``pretrained.py``, sherpa-onnx for icefall models):
        ``num_mel_bins=80, snip_edges=False, high_freq=-400``, audio in [-1, 1]; ``kwargs`` override."""
        return cls(**{"num_mel_bins": 80, "snip_edges": False, "high_freq": -400.0, "sample_format": "float",
                      **kwargs})

    @classmethod
    def wenet(cls, **kwargs):
        """WeNet's fbank (``torchaudio.compliance.kaldi.fbank(waveform * (1 << 15), num_mel_bins=80,
        energy_floor=0.0)``, dither off as at inference), from audio in [-1, 1] (``input_scale=32768``);
        ``kwargs`` override (``input_scale=1.0`` for int16-range float input; ``int16`` PCM is read as it is)."""
        return cls(**{"num_mel_bins": 80, "sample_format": "int16", "input_scale": INT16_SCALE, **kwargs})


class KaldiMfcc(_KaldiFeatures):
    """Kaldi's MFCC (``compute-mfcc-feats``, kaldifeat, kaldi-native-fbank) with a learnable K-matrix: exact at
    initialisation, called as kaldifeat / ``torchaudio.compliance.kaldi.mfcc``.

    Args:
        num_ceps (int): cepstra, c0 included. (Default: ``13``)
        cepstral_lifter (float): Kaldi's lifter; 0 is off. (Default: ``22.0``)
        use_energy (bool): c0 replaced by the log energy (Kaldi's default; torchaudio's is ``False``).
            (Default: ``True``)
        others: as :class:`KaldiFbank` (``use_log_fbank`` and ``use_power`` do not apply).

    Example:
        >>> mfcc = KaldiMfcc(sample_format="int16")  # Kaldi's 13 MFCCs of int16-range audio
        >>> feats = mfcc(pcm)  # (frames, 13) for an int16 tensor (time,)
    """

    _OUTPUT = "mfcc"
    _CONVENTION = "kaldi-mfcc"
    _FIXED = MFCC
    _OWN_OPTIONS = ("num_ceps", "cepstral_lifter", "use_energy", "raw_energy", "energy_floor", "htk_compat")

    def __init__(self, *, sample_format: str | None = None, samp_freq: float = 16000.0,
                 frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0, round_to_power_of_two: bool = True,
                 snip_edges: bool = True, dither: float = 0.0, preemph_coeff: float = 0.97,
                 remove_dc_offset: bool = True, window_type: str = "povey", blackman_coeff: float = 0.42,
                 num_mel_bins: int = 23, low_freq: float = 20.0, high_freq: float = 0.0, num_ceps: int = 13,
                 cepstral_lifter: float = 22.0, use_energy: bool = True, raw_energy: bool = True,
                 energy_floor: float = 0.0, htk_compat: bool = False, input_scale: float = 1.0,
                 check_scale: bool = True, learnable: bool = True, learn=("kmatrix",),
                 dtype: torch.dtype | None = None, **frontend_args):
        """Build the front-end from Kaldi's options; every argument is described under Args in the class docstring."""
        options = dict(samp_freq=samp_freq, frame_length_ms=frame_length_ms, frame_shift_ms=frame_shift_ms,
                       round_to_power_of_two=round_to_power_of_two, snip_edges=snip_edges, dither=dither,
                       preemph_coeff=preemph_coeff, remove_dc_offset=remove_dc_offset, window_type=window_type,
                       blackman_coeff=blackman_coeff, num_mel_bins=num_mel_bins, low_freq=low_freq,
                       high_freq=high_freq, num_ceps=num_ceps, cepstral_lifter=cepstral_lifter,
                       use_energy=use_energy, raw_energy=raw_energy, energy_floor=energy_floor,
                       htk_compat=htk_compat)
        super().__init__(options, sample_format=sample_format, input_scale=input_scale, check_scale=check_scale,
                         learnable=learnable, learn=learn, dtype=dtype, frontend_args=frontend_args)
