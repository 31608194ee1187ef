"""Named conventions: the fixed stages of the front-ends that speech toolkits use, one :class:`Convention` record
per toolkit, resolved by :func:`get_convention`. ``docs/conventions.md`` lists them and shows how to add one.
"""
import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import OUTPUTS, FeatureConfig, check_sample_rate, nyquist
from .functional.framing import FLT_EPSILON
from .kaldi_options import KaldiFbankOptions, KaldiMfccOptions, KaldiOptions

_FIELDS = tuple(f.name for f in dataclasses.fields(FeatureConfig))
_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(FeatureConfig)}
_DEFAULT_N_MFCC = 13  # the cepstra of output="mfcc" where the convention does not say


@dataclass(frozen=True)
class Convention:
    """One toolkit's features: a record that :func:`get_convention` resolves into a :class:`FeatureConfig`.

    Args:
        name (str): what ``convention=`` takes.
        defaults (Mapping): the :class:`FeatureConfig` fields the toolkit fixes; the others keep FeatureConfig's
            defaults. (Default: none)
        outputs (tuple of str): the outputs it defines, the first being its default. (Default: ``("fbank",)``)
        sample_rates (tuple of int, optional): the rates it is defined at; ``None`` is any. (Default: ``None``)
        option_names (Mapping): the toolkit's own option names -> the FeatureConfig fields they set. (Default:
            none)

    Example:
        >>> mine = Convention("mine", dict(n_fft=256, win_length=200, hop_length=80, n_mels=24, f_max=None))
        >>> KaleidoFrontend(convention=mine, sample_rate=8000)  # or register_convention(mine), then "mine"
    """

    name: str
    defaults: Mapping = field(default_factory=dict)
    outputs: tuple = ("fbank",)
    sample_rates: tuple | None = None
    option_names: Mapping = field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.defaults) - set(_FIELDS) | set(self.option_names.values()) - set(_FIELDS))
        if unknown:
            raise ValueError(f"convention {self.name!r} names {unknown}, which are not FeatureConfig fields")
        if not self.outputs or set(self.outputs) - set(OUTPUTS):
            raise ValueError(f"convention {self.name!r}: outputs must be among {OUTPUTS}, got {self.outputs!r}")
        # read-only views: a record is shared by every front-end built from it
        object.__setattr__(self, "defaults", types.MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "option_names", types.MappingProxyType(dict(self.option_names)))

    # --- derived sizes: a toolkit that sizes its frames in time overrides these ---------------------------------
    def window_size(self, sample_rate: int) -> int | None:
        """``win_length`` at ``sample_rate`` where not given (``None``: ``n_fft``)."""
        return self._default("win_length")

    def window_shift(self, sample_rate: int) -> int | None:
        """``hop_length`` at ``sample_rate`` where not given (``None``: ``win_length // 2``)."""
        return self._default("hop_length")

    def padded_window_size(self, sample_rate: int, win_length: int | None) -> int:
        """``n_fft`` at ``sample_rate`` for frames of ``win_length`` samples where not given."""
        return self._default("n_fft")

    def high_freq(self, sample_rate: int, f_max) -> float:
        """``f_max`` in Hz: ``None`` is the Nyquist frequency."""
        return nyquist(sample_rate) if f_max is None else float(f_max)

    def _default(self, name: str):
        return self.defaults.get(name, _FIELD_DEFAULTS[name])

    # --- resolution ----------------------------------------------------------------------------------------------
    def config(self, **overrides) -> FeatureConfig:
        """The checked :class:`FeatureConfig` of this convention with ``overrides`` (FeatureConfig fields)."""
        unknown = sorted(set(overrides) - set(_FIELDS))
        if unknown:
            raise ValueError(f"convention {self.name!r} does not take {unknown}; it takes {sorted(_FIELDS)}")
        values = {**self.defaults, **overrides}
        sample_rate = values.setdefault("sample_rate", _FIELD_DEFAULTS["sample_rate"])
        check_sample_rate(sample_rate)  # before the sizes derived from it
        output = values.setdefault("output", self.outputs[0])
        if output not in self.outputs:
            raise ValueError(f"convention {self.name!r} defines output {self.outputs[0]!r}, not {output!r}"
                             f"{_twin_hint(self.name, output)}")
        if output == "mfcc" and values.get("n_mfcc") is None:
            values["n_mfcc"] = _DEFAULT_N_MFCC
        if self.sample_rates is not None and sample_rate not in self.sample_rates:
            raise ValueError(f"convention {self.name!r} is defined at sample_rate {self.sample_rates}, got "
                             f"sample_rate={sample_rate!r}; resample the audio (e.g. torchaudio.functional.resample)")
        win_length = overrides["win_length"] if "win_length" in overrides else self.window_size(sample_rate)
        n_fft = overrides["n_fft"] if "n_fft" in overrides else self.padded_window_size(sample_rate, win_length)
        win_length = n_fft if win_length is None else win_length
        hop_length = overrides["hop_length"] if "hop_length" in overrides else self.window_shift(sample_rate)
        values.update(win_length=win_length, n_fft=n_fft,
                      hop_length=win_length // 2 if hop_length is None else hop_length,
                      f_max=self.high_freq(sample_rate, values.get("f_max")))
        if values.get("f_min") is not None:
            values["f_min"] = float(values["f_min"])
        return FeatureConfig(**values).checked()

    def rename(self, **options) -> dict:
        """The toolkit's options (its names, those in ``option_names``) as FeatureConfig fields."""
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise ValueError(f"convention {self.name!r} has no option {unknown}; it has {sorted(self.option_names)}")
        return {self.option_names[name]: value for name, value in options.items()}


@dataclass(frozen=True)
class SpeechBrainConvention(Convention):
    """SpeechBrain sizes its window and hop in milliseconds, rounded to samples at the rate, and puts ``f_max``
    at ``sample_rate // 2`` (an int, also for odd rates)."""

    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0

    @staticmethod
    def samples(milliseconds: float, sample_rate: int) -> int:
        """``int(round(sample_rate / 1000 * ms))``, ``speechbrain.processing.features.STFT``'s arithmetic."""
        return int(round((sample_rate / 1000.0) * milliseconds))

    def window_size(self, sample_rate: int) -> int:
        return self.samples(self.frame_length_ms, sample_rate)

    def window_shift(self, sample_rate: int) -> int:
        return self.samples(self.frame_shift_ms, sample_rate)

    def high_freq(self, sample_rate: int, f_max) -> float:
        return float(sample_rate // 2) if f_max is None else float(f_max)


@dataclass(frozen=True)
class KaldiConvention(Convention):
    """Kaldi's features: the sizes and ``f_max`` follow :class:`~kfront.frontend.kaldi_options.KaldiOptions`."""

    options: KaldiOptions = field(default_factory=KaldiFbankOptions)

    def window_size(self, sample_rate: int) -> int:
        return self.options.at(sample_rate).window_size()

    def window_shift(self, sample_rate: int) -> int:
        return self.options.at(sample_rate).window_shift()

    def padded_window_size(self, sample_rate: int, win_length: int | None) -> int:
        return self.options.at(sample_rate).padded_window_size(win_length)

    def high_freq(self, sample_rate: int, f_max) -> float:
        """Kaldi's ``high_freq``: ``f_max <= 0`` is an offset from the Nyquist frequency."""
        f_max = super().high_freq(sample_rate, f_max)
        return nyquist(sample_rate) + f_max if f_max <= 0 else f_max


def kaldi_convention(name: str, options: KaldiOptions) -> KaldiConvention:
    """The convention of Kaldi's ``options``: their values in kfront's names, with the stages Kaldi fixes."""
    fixed = dict(periodic=False, framing="kaldi", mel_scale="kaldi", filter_shape="mel",
                 freq_grid="rfftfreq", log_floor=FLT_EPSILON, log_offset=0.0, sample_format="int16")
    sized = ("win_length", "hop_length", "n_fft")  # derived at the sample rate by the methods
    defaults = {k: v for k, v in options.feature_args().items() if k not in sized}
    return KaldiConvention(name, {**fixed, **defaults}, outputs=(options.OUTPUT,),
                           option_names=options.feature_names(), options=options)


TORCHAUDIO = Convention(
    "torchaudio", dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, window="hamming", n_mels=40,
                       f_min=0.0, f_max=None),
    outputs=("fbank", "mfcc"))
KALDI_FBANK = kaldi_convention("kaldi-fbank", KaldiFbankOptions())
KALDI_MFCC = kaldi_convention("kaldi-mfcc", KaldiMfccOptions())
WHISPER = Convention(
    "whisper", dict(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, window="hann", drop_last=True,
                    n_mels=80, f_max=8000.0, mel_scale="slaney", mel_norm="slaney", log_scale="log10",
                    log_floor=1e-10, log_offset=0.0, dynamic_range=8.0, feature_shift=4.0, feature_scale=0.25),
    sample_rates=(16000,),
    option_names=dict(feature_size="n_mels", sampling_rate="sample_rate", n_fft="n_fft", hop_length="hop_length"))
# Triangles centred on HTK mel points, 10 log10(max(x, 1e-10)) and top_db 80 (SpeechBrain's Fbank / Filterbank).
SPEECHBRAIN_FBANK = SpeechBrainConvention(
    "speechbrain-fbank", dict(sample_rate=16000, n_fft=400, window="hamming", periodic=True, pad_mode="constant",
                              n_mels=40, f_max=None, filter_shape="symmetric", log_scale="db", log_floor=1e-10,
                              log_offset=0.0, dynamic_range=80.0),
    option_names=dict(sample_rate="sample_rate", n_fft="n_fft", n_mels="n_mels", f_min="f_min", f_max="f_max",
                      n_mfcc="n_mfcc"))
SPEECHBRAIN_MFCC = dataclasses.replace(
    SPEECHBRAIN_FBANK, name="speechbrain-mfcc", outputs=("mfcc",),
    defaults=dict(SPEECHBRAIN_FBANK.defaults, n_mels=23, n_mfcc=20, deltas=2, delta_window=5, context=(5, 5)))
ESPNET = Convention(
    "espnet", dict(sample_rate=16000, n_fft=512, win_length=None, hop_length=128, window="hann", n_mels=80,
                   f_max=None, mel_scale="slaney", mel_norm="slaney", freq_grid="rfftfreq", log_floor=1e-10,
                   log_offset=0.0),
    option_names=dict(fs="sample_rate", n_fft="n_fft", win_length="win_length", hop_length="hop_length",
                      window="window", center="center", n_mels="n_mels", fmin="f_min", fmax="f_max"))

#: convention name -> its record
CONVENTIONS = {c.name: c for c in (TORCHAUDIO, KALDI_FBANK, KALDI_MFCC, WHISPER, SPEECHBRAIN_FBANK,
                                   SPEECHBRAIN_MFCC, ESPNET)}


def register_convention(convention: Convention, replace: bool = False) -> Convention:
    """Make ``convention`` known by its name to ``convention=`` everywhere; returns it."""
    if not isinstance(convention, Convention):
        raise ValueError(f"expected a Convention record, got {type(convention).__name__}")
    if convention.name in CONVENTIONS and not replace:
        raise ValueError(f"a convention named {convention.name!r} exists; pass replace=True to replace it")
    CONVENTIONS[convention.name] = convention
    return convention


def convention_names() -> tuple:
    """The known convention names."""
    return tuple(CONVENTIONS)


def convention_record(name) -> Convention:
    """The record of ``name`` (a known name, or a :class:`Convention` itself)."""
    if isinstance(name, Convention):
        return name
    if name not in CONVENTIONS:
        raise ValueError(f"unknown convention {name!r}; known conventions: {list(CONVENTIONS)}")
    return CONVENTIONS[name]


def get_convention(name="torchaudio", **overrides) -> FeatureConfig:
    """The resolved, checked :class:`FeatureConfig` of convention ``name`` with ``overrides`` applied.

    Args:
        name (str or Convention): one of :func:`convention_names`, or a record. (Default: ``"torchaudio"``)
        **overrides: :class:`FeatureConfig` fields; ``output`` only where the convention defines it.

    Example:
        >>> get_convention("whisper", n_mels=128).n_features  # Whisper large-v3
        128
    """
    return convention_record(name).config(**overrides)


def _twin_hint(name: str, output: str) -> str:
    """Where a sibling convention of the same toolkit defines ``output``: say so."""
    twins = [c.name for c in CONVENTIONS.values()
             if c.name.split("-")[0] == name.split("-")[0] and output in c.outputs and c.name != name]
    return f"; use convention={twins[0]!r}" if twins else ""
