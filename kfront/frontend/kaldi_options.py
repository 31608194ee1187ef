"""Kaldi's feature options in one place: their names, their defaults (dither: 0, for deterministic features),
the sizes derived from them, and the other spellings of each (kaldi-native-fbank's fields,
``torchaudio.compliance.kaldi``'s arguments, the :class:`~kfront.frontend.config.FeatureConfig` field it sets)."""
import dataclasses
import math
import struct
from dataclasses import dataclass, field

import torch

from ..core.permutation import next_power_of_2

#: Kaldi's ``window_type`` -> kfront's window name
WINDOW_TYPES = {"povey": "povey", "hamming": "hamming", "hanning": "hann", "rectangular": "rectangular",
                "blackman": "blackman"}


def _option(default, struct_name: str = "", *, native: str = "", compliance: str = "", feature: str = ""):
    """A Kaldi option: where kaldi-native-fbank keeps it (``frame_opts``, ``mel_opts`` or the options object
    itself) and under which name, its ``torchaudio.compliance.kaldi`` name, the FeatureConfig field it sets."""
    return field(default=default, metadata=dict(struct=struct_name, native=native, compliance=compliance,
                                                feature=feature))


def kaldi_samples(samp_freq: float, milliseconds: float) -> int:
    """Samples in ``milliseconds``, as Kaldi counts them: ``static_cast<int32>(samp_freq * 0.001 * ms)`` with its
    float32 options (``FrameExtractionOptions::WindowSize`` / ``WindowShift``)."""
    def f32(v):
        return struct.unpack("f", struct.pack("f", float(v)))[0]
    return int(f32(samp_freq) * 0.001 * f32(milliseconds))


def kaldi_blackman(win_length: int, blackman_coeff: float = 0.42) -> torch.Tensor:
    """Kaldi's generalised Blackman window ``c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)``, ``a = 2 pi / (N - 1)``:
    ``(win_length,)``, float64."""
    n = torch.arange(win_length, dtype=torch.float64)
    a = 2 * math.pi / (win_length - 1)
    return blackman_coeff - 0.5 * torch.cos(a * n) + (0.5 - blackman_coeff) * torch.cos(2 * a * n)


@dataclass(frozen=True)
class KaldiOptions:
    """The options Kaldi's fbank and MFCC share, with Kaldi's defaults (dither: 0). Build
    :class:`KaldiFbankOptions` or :class:`KaldiMfccOptions`."""

    samp_freq: float = _option(16000.0, "frame_opts", compliance="sample_frequency", feature="sample_rate")
    frame_length_ms: float = _option(25.0, "frame_opts", compliance="frame_length", feature="win_length")
    frame_shift_ms: float = _option(10.0, "frame_opts", compliance="frame_shift", feature="hop_length")
    round_to_power_of_two: bool = _option(True, "frame_opts", feature="n_fft")
    snip_edges: bool = _option(True, "frame_opts", feature="snip_edges")
    dither: float = _option(0.0, "frame_opts")
    preemph_coeff: float = _option(0.97, "frame_opts", compliance="preemphasis_coefficient", feature="preemphasis")
    remove_dc_offset: bool = _option(True, "frame_opts", feature="remove_dc_offset")
    window_type: str = _option("povey", "frame_opts", feature="window")
    blackman_coeff: float = _option(0.42, "frame_opts", feature="window")
    num_mel_bins: int = _option(23, "mel_opts", native="num_bins", feature="n_mels")
    low_freq: float = _option(20.0, "mel_opts", feature="f_min")
    high_freq: float = _option(0.0, "mel_opts", feature="f_max")  # <= 0: an offset from the Nyquist frequency
    use_energy: bool = _option(False, feature="energy")
    raw_energy: bool = _option(True, feature="raw_energy")
    energy_floor: float = _option(0.0, feature="energy_floor")  # torchaudio.compliance.kaldi's default is 1.0
    htk_compat: bool = _option(False)

    OUTPUT = "fbank"
    #: options accepted only at one value: option -> (that value, what to do instead)
    UNSUPPORTED = {"dither": (0.0, "add dither * torch.randn_like(waveform) to the waveform to dither"),
                   "htk_compat": (False, "reorder the features yourself (HTK puts the energy last)")}

    # --- derived sizes (kaldifeat's FrameExtractionOptions) -----------------------------------------------------
    def window_size(self) -> int:
        """Samples in a frame."""
        return kaldi_samples(self.samp_freq, self.frame_length_ms)

    def window_shift(self) -> int:
        """Samples between frames."""
        return kaldi_samples(self.samp_freq, self.frame_shift_ms)

    def padded_window_size(self, window_size: int | None = None) -> int:
        """Samples the transform reads: the frame (``window_size``, default :meth:`window_size`) padded to a power
        of 2 with ``round_to_power_of_two``."""
        size = self.window_size() if window_size is None else window_size
        return next_power_of_2(size) if self.round_to_power_of_two else size

    def at(self, sample_rate: int) -> "KaldiOptions":
        """These options at another sample rate."""
        return dataclasses.replace(self, samp_freq=float(sample_rate))

    # --- kfront's names -----------------------------------------------------------------------------------------
    def feature_args(self) -> dict:
        """The :class:`~kfront.frontend.config.FeatureConfig` fields these options set, checked.

        Example:
            >>> KaldiFbankOptions(num_mel_bins=80, high_freq=-400.0).feature_args()["n_mels"]
            80
        """
        self.check()
        win_length = self.window_size()
        window = WINDOW_TYPES[self.window_type]
        if self.window_type == "blackman" and self.blackman_coeff != 0.42:
            window = kaldi_blackman(win_length, self.blackman_coeff)  # torch.blackman_window is the 0.42 one
        return dict(sample_rate=int(self.samp_freq), win_length=win_length, hop_length=self.window_shift(),
                    n_fft=self.padded_window_size(), snip_edges=bool(self.snip_edges),
                    preemphasis=float(self.preemph_coeff), remove_dc_offset=bool(self.remove_dc_offset),
                    window=window, n_mels=int(self.num_mel_bins), f_min=float(self.low_freq),
                    f_max=float(self.high_freq), raw_energy=bool(self.raw_energy),
                    energy_floor=float(self.energy_floor), **self._output_args())

    def _output_args(self) -> dict:
        return dict(energy="prepend" if self.use_energy else None)

    def check(self) -> None:
        """Raise ``ValueError`` naming an option kfront cannot compute or a size it cannot use."""
        if float(self.samp_freq) != int(self.samp_freq) or self.samp_freq <= 0:
            raise ValueError(f"samp_freq must be a positive whole number of Hz, got {self.samp_freq!r}")
        for name, (supported, hint) in self.UNSUPPORTED.items():
            value = getattr(self, name)
            if value != supported:
                raise ValueError(f"{name}={value!r} is not supported (only {supported!r}): {hint}")
        if self.window_type not in WINDOW_TYPES:
            raise ValueError(f"window_type must be one of {sorted(WINDOW_TYPES)}, got {self.window_type!r}")
        win_length, hop_length = self.window_size(), self.window_shift()
        if win_length < 2 or hop_length < 1:
            raise ValueError(f"frame_length_ms={self.frame_length_ms!r} and frame_shift_ms={self.frame_shift_ms!r} "
                             f"give {win_length} and {hop_length} samples at {self.samp_freq} Hz; need >= 2 and >= 1")
        if self.padded_window_size() % 2:
            raise ValueError(f"round_to_power_of_two=False needs an even frame of samples (Kaldi's real FFT), got "
                             f"{win_length} from frame_length_ms={self.frame_length_ms!r}")
        if not 0.0 <= self.preemph_coeff <= 1.0:
            raise ValueError(f"preemph_coeff must be in [0, 1], got {self.preemph_coeff!r}")

    # --- other spellings of the same options --------------------------------------------------------------------
    @classmethod
    def names(cls) -> tuple:
        """The option names, Kaldi's."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, **options) -> "KaldiOptions":
        """The options from Kaldi's names, refusing a name these options do not have."""
        unknown = sorted(set(options) - set(cls.names()))
        if unknown:
            raise ValueError(f"{cls.__name__} has no option {unknown}; it has {list(cls.names())}")
        return cls(**options)

    @classmethod
    def from_native(cls, opts) -> "KaldiOptions":
        """The options of a kaldi-native-fbank or kaldifeat ``FbankOptions`` / ``MfccOptions`` object, read by
        field name (the package is not imported)."""
        values = {}
        for f in dataclasses.fields(cls):
            holder = getattr(opts, f.metadata["struct"]) if f.metadata["struct"] else opts
            values[f.name] = getattr(holder, f.metadata["native"] or f.name)
        return cls(**values)

    @classmethod
    def compliance_names(cls) -> dict:
        """``torchaudio.compliance.kaldi``'s argument names that differ from Kaldi's: theirs -> Kaldi's."""
        return {f.metadata["compliance"]: f.name for f in dataclasses.fields(cls) if f.metadata["compliance"]}

    @classmethod
    def feature_names(cls) -> dict:
        """Kaldi's option names -> the :class:`~kfront.frontend.config.FeatureConfig` fields they set."""
        return {f.name: f.metadata["feature"] for f in dataclasses.fields(cls) if f.metadata["feature"]}


@dataclass(frozen=True)
class KaldiFbankOptions(KaldiOptions):
    """Kaldi's fbank options (``compute-fbank-feats``, kaldifeat's and kaldi-native-fbank's ``FbankOptions``)."""

    use_log_fbank: bool = _option(True)
    use_power: bool = _option(True)

    UNSUPPORTED = {**KaldiOptions.UNSUPPORTED,
                   "use_log_fbank": (True, "the features are log-mel energies"),
                   "use_power": (True, "the filterbank is applied to the power spectrum")}


@dataclass(frozen=True)
class KaldiMfccOptions(KaldiOptions):
    """Kaldi's MFCC options (``compute-mfcc-feats``, ``MfccOptions``): the log energy replaces c0 by default."""

    use_energy: bool = _option(True, feature="energy")
    num_ceps: int = _option(13, feature="n_mfcc")
    cepstral_lifter: float = _option(22.0, feature="lifter")

    OUTPUT = "mfcc"

    def _output_args(self) -> dict:
        return dict(n_mfcc=int(self.num_ceps), lifter=float(self.cepstral_lifter),
                    energy="c0" if self.use_energy else None)


#: the options of each output
OPTIONS = {"fbank": KaldiFbankOptions, "mfcc": KaldiMfccOptions}
