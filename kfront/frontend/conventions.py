"""Named conventions: the fixed stages of the front-ends that speech toolkits use, as :class:`FeatureConfig`.

``KaleidoFrontend(convention=NAME, **overrides)`` computes, at initialisation, exactly the features of that
toolkit's own extractor (tested against the installed package), and ``make_frontend("fbank" | "mfcc",
convention=NAME)`` is its fixed twin. Overrides use kfront's (torchaudio's) argument names, listed in
:class:`~kfront.frontend.config.FeatureConfig`; an explicit ``win_length=None`` means ``n_fft``,
``hop_length=None`` means ``win_length // 2`` and ``f_max=None`` the Nyquist frequency, as in torchaudio.

==================== =======================================================================================
``"torchaudio"``     kfront's own defaults (today's behaviour): ``torchaudio.transforms.MelSpectrogram`` /
                     ``MFCC(log_mels=True)`` conventions, 512-point transform of 25 ms Hamming frames, 10 ms hop,
                     40 mels, ``log(mel + 1e-6)``, 13 cepstra for ``output="mfcc"``.
``"kaldi-fbank"``    Kaldi ``compute-fbank-feats`` (``torchaudio.compliance.kaldi.fbank``, kaldi-native-fbank,
                     kaldifeat; k2 / icefall / lhotse / sherpa): snip-edges framing, DC removal, pre-emphasis
                     0.97, Povey window, 400 samples padded to 512, 23 Kaldi mel bins from 20 Hz to Nyquist
                     (``f_max <= 0`` is an offset from Nyquist, as Kaldi's ``high_freq``), ``log`` with Kaldi's
                     floor (``FLT_EPSILON``), no energy (``energy="prepend"`` adds it; ``energy_floor`` 0 as
                     Kaldi, not torchaudio's 1.0), dither off. ``sample_format="int16"``: the samples are taken
                     in int16 range, as Kaldi (and WeNet, ``waveform * (1 << 15)``) reads them;
                     icefall / lhotse / kaldifeat compute the same formulas on float audio in [-1, 1]
                     (``sample_format="float"``; their setting: ``n_mels=80, snip_edges=False, f_max=-400``).
                     :mod:`kfront.integrations.kaldi` takes Kaldi's option names and checks the scale.
``"kaldi-mfcc"``     Kaldi ``compute-mfcc-feats``: the above with 13 cepstra, lifter 22, log energy as c0
                     (``energy=None`` keeps the cepstral c0, as ``use_energy=false``).
``"whisper"``        OpenAI Whisper's log-mel (``transformers.WhisperFeatureExtractor``): 400-point Hann STFT,
                     hop 160, reflect centring, last frame dropped, 80 Slaney mels (``n_mels=128`` for
                     large-v3), ``log10`` clamped at 1e-10, floor at max - 8, ``(x + 4) / 4``.
``"speechbrain-fbank"`` ``speechbrain.lobes.features.Fbank`` defaults: 400-point Hamming STFT, zero-padded
                     centring, 40 mels, dB with ``top_db=80``.
``"speechbrain-mfcc"`` ``speechbrain.lobes.features.MFCC`` defaults: 23 mels, 20 cepstra, deltas and
                     delta-deltas, 5 frames of context on each side (660 features).
``"espnet"``         ESPnet2 ``DefaultFrontend`` defaults: 512-point Hann STFT, hop 128, reflect centring, 80
                     Slaney mels (librosa), ``log`` clamped at 1e-10.
==================== =======================================================================================
"""
import dataclasses

from ..core.permutation import next_power_of_2
from .config import FeatureConfig, check_sample_rate

FLT_EPSILON = 1.1920928955078125e-07  # Kaldi's log floor: std::numeric_limits<float>::epsilon()


def _ms(milliseconds: float, rounding=int):
    """A length given in milliseconds, in samples at the configuration's sample rate (a default to resolve)."""
    return lambda v: rounding(v["sample_rate"] * milliseconds / 1000)


# Kaldi sizes frames in time (25 ms, 10 ms: static_cast<int32>) and pads them to the next power of 2.
_KALDI = dict(
    sample_rate=16000, win_length=_ms(25), hop_length=_ms(10), n_fft=lambda v: next_power_of_2(v["win_length"]),
    window="povey", periodic=False, framing="kaldi",
    snip_edges=True, remove_dc_offset=True, preemphasis=0.97, n_mels=23, f_min=20.0, f_max=0.0, mel_scale="kaldi",
    filter_shape="mel", freq_grid="rfftfreq", log_floor=FLT_EPSILON, log_offset=0.0, sample_format="int16",
)

# SpeechBrain's Fbank / Filterbank defaults: 25 ms / 10 ms Hamming frames in a 400-point transform, zero-padded
# centring, 40 triangles centred on HTK mel points, 10 log10(max(x, amin=1e-10)) (ref_value 1) and top_db 80.
_SPEECHBRAIN = dict(
    sample_rate=16000, n_fft=400, win_length=lambda v: speechbrain_samples(25, v["sample_rate"]),
    hop_length=lambda v: speechbrain_samples(10, v["sample_rate"]), window="hamming", periodic=True,
    pad_mode="constant", n_mels=40, f_max=lambda v: float(v["sample_rate"] // 2), filter_shape="symmetric",
    log_scale="db", log_floor=1e-10, log_offset=0.0, dynamic_range=80.0,
)

#: convention name -> (its defaults, the outputs it defines, the sample rates it supports or None for any)
CONVENTIONS = {
    "torchaudio": (dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, window="hamming", n_mels=40,
                        f_min=0.0, f_max=None), ("fbank", "mfcc"), None),
    "kaldi-fbank": (dict(_KALDI), ("fbank",), None),
    "kaldi-mfcc": (dict(_KALDI, output="mfcc", n_mfcc=13, lifter=22.0, energy="c0"), ("mfcc",), None),
    "whisper": (dict(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, window="hann", drop_last=True,
                     n_mels=80, f_max=8000.0, mel_scale="slaney", mel_norm="slaney", log_scale="log10",
                     log_floor=1e-10, log_offset=0.0, dynamic_range=8.0, feature_shift=4.0, feature_scale=0.25),
                ("fbank",), (16000,)),
    # SpeechBrain sizes its window and hop in milliseconds (rounded to samples at the rate), its n_fft in samples,
    # and puts f_max at sample_rate // 2 (an int, also for odd rates).
    "speechbrain-fbank": (dict(_SPEECHBRAIN), ("fbank",), None),
    "speechbrain-mfcc": (dict(_SPEECHBRAIN, n_mels=23, output="mfcc", n_mfcc=20, deltas=2, delta_window=5,
                              context=(5, 5)),
                         ("mfcc",), None),
    # ESPnet's win_length=None is n_fft; its fmax=None is fs / 2.
    "espnet": (dict(sample_rate=16000, n_fft=512, win_length=lambda v: v["n_fft"], hop_length=128, window="hann",
                    n_mels=80, mel_scale="slaney", mel_norm="slaney", freq_grid="rfftfreq", log_floor=1e-10,
                    log_offset=0.0),
               ("fbank",), None),
}

_FIELDS = tuple(f.name for f in dataclasses.fields(FeatureConfig))


def convention_names() -> tuple:
    """The known convention names."""
    return tuple(CONVENTIONS)


def get_convention(name: str = "torchaudio", **overrides) -> FeatureConfig:
    """The resolved, checked :class:`FeatureConfig` of convention ``name`` with ``overrides`` applied.

    Args:
        name (str): one of :func:`convention_names`. (Default: ``"torchaudio"``)
        **overrides: :class:`FeatureConfig` fields. ``output="mfcc"`` / ``"fbank"`` is accepted only where the
            convention defines that output (``"torchaudio"`` defines both; ``n_mfcc`` then defaults to 13).

    Returns:
        FeatureConfig

    Example:
        >>> cfg = get_convention("whisper", n_mels=128)  # Whisper large-v3
        >>> cfg.n_fft, cfg.n_features
        (400, 128)
    """
    if name not in CONVENTIONS:
        raise ValueError(f"unknown convention {name!r}; known conventions: {list(CONVENTIONS)}")
    defaults, outputs, rates = CONVENTIONS[name]
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ValueError(f"convention {name!r} does not take {unknown}; it takes {sorted(_FIELDS)}")
    values = {**defaults, **overrides}
    check_sample_rate(values.get("sample_rate", 16000))  # before the sizes that are derived from it
    for key, value in values.items():  # defaults that follow other fields (sizes in milliseconds)
        if callable(value) and key not in overrides:
            values[key] = value(values)
    output = values.get("output", "fbank")
    if output not in outputs:
        twins = [n for n, (_, outs, _) in CONVENTIONS.items() if n.split("-")[0] == name.split("-")[0] and output in outs]
        hint = f"; use convention={twins[0]!r}" if twins and twins[0] != name else ""
        raise ValueError(f"convention {name!r} defines output {outputs[0]!r}, not {output!r}{hint}")
    if output == "mfcc" and values.get("n_mfcc") is None:
        values["n_mfcc"] = 13
    sample_rate = values.get("sample_rate", 16000)
    if rates is not None and sample_rate not in rates:
        raise ValueError(f"convention {name!r} is defined at sample_rate {rates}, got sample_rate={sample_rate!r}; "
                         "resample the audio (e.g. torchaudio.functional.resample)")
    if values.get("win_length", 0) is None:
        values["win_length"] = values.get("n_fft", 512)
    if values.get("hop_length", 0) is None:
        values["hop_length"] = values.get("win_length", 400) // 2
    values["f_max"] = _resolve_f_max(values.get("f_max"), sample_rate, kaldi=values.get("framing") == "kaldi")
    if "f_min" in values and values["f_min"] is not None:
        values["f_min"] = float(values["f_min"])
    return FeatureConfig(**values).checked()


def _resolve_f_max(f_max, sample_rate, kaldi: bool) -> float:
    """``None`` is the Nyquist frequency (torchaudio); for Kaldi, ``f_max <= 0`` is Nyquist plus ``f_max``."""
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool):
        return f_max  # FeatureConfig.checked() names the bad sample rate
    nyquist = float(sample_rate // 2) if sample_rate % 2 == 0 else sample_rate / 2
    if f_max is None:
        return nyquist
    f_max = float(f_max)
    return nyquist + f_max if kaldi and f_max <= 0 else f_max


def speechbrain_samples(milliseconds: float, sample_rate: int) -> int:
    """A SpeechBrain window or hop given in milliseconds, in samples: ``int(round(sample_rate / 1000 * ms))``, the
    arithmetic of ``speechbrain.processing.features.STFT`` (25 ms at 16 kHz is 400, at 8 kHz 200)."""
    return int(round((sample_rate / 1000.0) * milliseconds))
