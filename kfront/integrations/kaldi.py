"""Kaldi fbank and MFCC (k2, icefall, lhotse, sherpa, kaldifeat, WeNet) from a K-matrix front-end, with Kaldi's
option names, called as kaldifeat is; ``docs/integrations.md`` explains ``sample_format`` and what differs from the
packages."""
import dataclasses
import inspect
import math

import torch
from torch import nn

from ..frontend import frontend_for
from ..frontend._checks import FLOAT_PEAK_LIMIT, INT16_SCALE, scale_mismatch  # noqa: F401 (both re-exported)
from ..frontend.config import SAMPLE_FORMATS, FeatureConfig
from ..frontend.conventions import KALDI_FBANK, KALDI_MFCC
from ..frontend.functional import FLT_EPSILON
from ..frontend.kaldi_options import OPTIONS, WINDOW_TYPES, KaldiFbankOptions, KaldiMfccOptions  # noqa: F401
from ..frontend.kaldi_options import kaldi_blackman, kaldi_samples  # noqa: F401 (re-exported)

_FEATURE_FIELDS = frozenset(f.name for f in dataclasses.fields(FeatureConfig))
# torchaudio.compliance.kaldi's arguments that select what is not supported here, with the values allowed; its
# defaults where they differ from Kaldi's
_COMPLIANCE_FIXED = {"channel": (-1, 0), "min_duration": (0.0,), "subtract_mean": (False,), "vtln_warp": (1.0,)}
_COMPLIANCE_DEFAULTS = {"energy_floor": 1.0, "use_energy": False}


def kaldi_feature_args(output: str, **options) -> dict:
    """The :class:`~kfront.frontend.config.FeatureConfig` overrides of Kaldi's ``options`` for ``output``."""
    return OPTIONS[output].from_kwargs(**options).feature_args()


def check_sample_scale(waveform: torch.Tensor, sample_format: str, input_scale: float = 1.0) -> None:
    """Raise ``ValueError`` when float samples (after ``input_scale``) are plainly on the other scale than
    ``sample_format`` says, naming the peak and the fix."""
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

    OPTIONS = KaldiFbankOptions
    _CONVENTION = KALDI_FBANK

    def __init__(self, *, sample_format: str | None = None, input_scale: float = 1.0, check_scale: bool = True,
                 learnable: bool = True, learn=("kmatrix",), dtype: torch.dtype | None = None, **kwargs):
        """Build the front-end from Kaldi's options (see the class docstring)."""
        super().__init__()
        if sample_format not in SAMPLE_FORMATS:
            raise ValueError(f"sample_format must be 'float' (audio in [-1, 1]: icefall, lhotse, kaldifeat, "
                             "sherpa with icefall models) or 'int16' (int16-range samples: Kaldi, WeNet), the scale "
                             f"the model's features were computed on; got {sample_format!r}")
        if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)) \
                or not math.isfinite(input_scale) or input_scale <= 0:
            raise ValueError(f"input_scale must be a positive number, got {input_scale!r}")
        frontend_args = {k: v for k, v in kwargs.items() if k not in self.OPTIONS.names()}
        clash = sorted(set(frontend_args) & _FEATURE_FIELDS)
        if clash:
            raise ValueError(f"{clash} are set through Kaldi's option names here (num_mel_bins, frame_length_ms, "
                             "low_freq, ...), not kfront's")
        self.options = self.OPTIONS(**{k: v for k, v in kwargs.items() if k in self.OPTIONS.names()})
        self.sample_format, self.input_scale, self.check_scale = sample_format, float(input_scale), check_scale
        self.frontend = frontend_for(self._CONVENTION, learnable, learn=learn, dtype=dtype, **frontend_args,
                                     **self.options.feature_args(), sample_format=sample_format)

    @classmethod
    def from_options(cls, opts, **kwargs):
        """Build from a kaldi-native-fbank or kaldifeat ``FbankOptions`` / ``MfccOptions`` object (read by field
        name); ``kwargs``: this class's own arguments (``sample_format``, ...)."""
        for flag in ("is_librosa", "htk_mode", "floor_to_int_bin"):  # kaldi-native-fbank's non-Kaldi mel banks
            if getattr(opts.mel_opts, flag, False):
                raise ValueError(f"mel_opts.{flag}=True is not Kaldi's filterbank and is not supported")
        use_floor, eps = getattr(opts, "use_log_floor", True), getattr(opts, "eps", FLT_EPSILON)
        if not use_floor or abs(eps - FLT_EPSILON) > 1e-6 * FLT_EPSILON:  # kaldi-native-fbank's extension
            raise ValueError(f"only Kaldi's log floor is supported (use_log_floor=True, eps={FLT_EPSILON}), got "
                             f"use_log_floor={use_floor!r}, eps={eps!r}")
        return cls(**dataclasses.asdict(cls.OPTIONS.from_native(opts)), **kwargs)

    @classmethod
    def from_compliance(cls, **kwargs):
        """Build from ``torchaudio.compliance.kaldi.fbank`` / ``mfcc`` keyword arguments, with torchaudio's
        defaults (``energy_floor=1.0``, ``use_energy=False``); other ``kwargs`` are this class's own."""
        options = dict(_COMPLIANCE_DEFAULTS)
        for name, allowed in _COMPLIANCE_FIXED.items():
            if name in kwargs and kwargs.pop(name) not in allowed:
                raise ValueError(f"torchaudio.compliance.kaldi's {name} is supported only at {allowed}")
        for name in ("vtln_low", "vtln_high"):  # used only with vtln_warp != 1
            kwargs.pop(name, None)
        renames = cls.OPTIONS.compliance_names()
        for name, value in kwargs.items():
            options[renames.get(name, name)] = value
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
        """Kaldi's ``NumFrames`` for ``n_samples`` (an int or an integer tensor)."""
        return self.frontend.num_frames(n_samples)

    def forward(self, waveform, lengths: torch.Tensor | None = None, sample_rate: int | None = None):
        """
        Args:
            waveform (Tensor or list of Tensor): ``(time,)``, a padded batch ``(batch, time)`` or a list of
                ``(time_i,)``: float samples on the ``sample_format`` scale (after ``input_scale``), or int16 PCM.
            lengths (LongTensor, optional): ``(batch,)`` valid samples of a padded batch. (Default: ``None``)
            sample_rate (int, optional): rate of the audio, checked against ``samp_freq``. (Default: ``None``)

        Returns:
            ``(frames, n_features)``, ``(batch, frames, n_features)`` (with ``lengths``, and the frame counts
            ``(batch,)``), or a list of ``(frames_i, n_features)``.
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
                             f"({self.frontend.config.win_length} samples with snip_edges=True)")
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
        """The samples the features are computed on, on ``sample_format``'s scale, checked."""
        # int16 PCM has one scale, so input_scale (the scale of float samples) does not apply to it
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


def _signature_with_options(cls):
    """Class decorator: ``help(cls)`` and IDEs list Kaldi's options with the defaults of ``cls.OPTIONS``."""
    def __init__(self, **kwargs):
        _KaldiFeatures.__init__(self, **kwargs)

    own = list(inspect.signature(_KaldiFeatures.__init__).parameters.values())
    options = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
               for f in dataclasses.fields(cls.OPTIONS)]
    frontend_args = own[-1].replace(name="frontend_args")
    __init__.__signature__ = inspect.Signature([own[0], own[1], *options, *own[2:-1], frontend_args])
    __init__.__doc__ = _KaldiFeatures.__init__.__doc__
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = __init__
    return cls


@_signature_with_options
class KaldiFbank(_KaldiFeatures):
    """Kaldi's log-mel filterbank (``compute-fbank-feats``, kaldifeat, kaldi-native-fbank) with a learnable
    K-matrix: exact at initialisation, called as kaldifeat / ``torchaudio.compliance.kaldi.fbank``.

    Args:
        sample_format (str): the scale the model's features were computed on: ``"float"`` ([-1, 1]: icefall,
            lhotse, kaldifeat) or ``"int16"`` (int16-range samples: Kaldi, WeNet). No default.
        samp_freq, frame_length_ms, ..., use_power: Kaldi's options, the fields of
            :class:`~kfront.frontend.kaldi_options.KaldiFbankOptions`, with Kaldi's defaults (``dither`` 0).
        input_scale (float): multiplies float samples first (32768: [-1, 1] audio, int16 scale). (Default: ``1.0``)
        check_scale (bool): refuse audio plainly on the other scale than ``sample_format``. (Default: ``True``)
        learnable, learn, dtype, **frontend_args: as :func:`~kfront.frontend.frontend_for`.

    Example:
        >>> fbank = KaldiFbank.icefall()  # 80 bins, snip_edges=False, high_freq=-400, audio in [-1, 1]
        >>> feats, feat_lens = fbank(audio, lengths=audio_lens)  # (N, T, 80), (N,): into encoder(feats, feat_lens)
    """

    @classmethod
    def icefall(cls, **kwargs):
        """icefall's / lhotse's fbank: ``num_mel_bins=80, snip_edges=False, high_freq=-400``, audio in [-1, 1]."""
        return cls(**{"num_mel_bins": 80, "snip_edges": False, "high_freq": -400.0, "sample_format": "float",
                      **kwargs})

    @classmethod
    def wenet(cls, **kwargs):
        """WeNet's fbank (``torchaudio.compliance.kaldi.fbank(waveform * (1 << 15), num_mel_bins=80,
        energy_floor=0.0)``) from audio in [-1, 1] (``input_scale=32768``); ``kwargs`` override."""
        return cls(**{"num_mel_bins": 80, "sample_format": "int16", "input_scale": INT16_SCALE, **kwargs})


@_signature_with_options
class KaldiMfcc(_KaldiFeatures):
    """Kaldi's MFCC (``compute-mfcc-feats``, kaldifeat, kaldi-native-fbank) with a learnable K-matrix: exact at
    initialisation. Arguments as :class:`KaldiFbank`, Kaldi's options those of
    :class:`~kfront.frontend.kaldi_options.KaldiMfccOptions` (``use_energy=True``: the log energy replaces c0).

    Example:
        >>> feats = KaldiMfcc(sample_format="int16")(pcm)  # (frames, 13) for an int16 tensor (time,)
    """

    OPTIONS = KaldiMfccOptions
    _CONVENTION = KALDI_MFCC
