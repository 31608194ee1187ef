"""``make_frontend``: one entry point so that a recipe swaps front-ends (and conventions) by name."""
import dataclasses
import inspect

from torch import nn

from .config import FeatureConfig
from .fixed import MFCC, Fbank
from .kaleido import KaleidoFrontend

FRONTENDS = {"mfcc": MFCC, "fbank": Fbank, "kaleido": KaleidoFrontend}
_FEATURE_ARGS = {f.name for f in dataclasses.fields(FeatureConfig)}


def make_frontend(name: str, **kwargs) -> nn.Module:
    """Build a front-end by name.

    Args:
        name (str): ``"mfcc"`` (:class:`MFCC`), ``"fbank"`` (:class:`Fbank`) or ``"kaleido"``
            (:class:`KaleidoFrontend`; choose its features with ``output="fbank" | "mfcc"``).
        **kwargs: ``convention=`` (see :mod:`kfront.frontend.conventions`), the fixed stages' arguments
            (``sample_rate``, ``n_fft``, ``win_length``, ``hop_length``, ``n_mels``, ``f_min``, ``f_max``,
            ``window``, ...: every field of :class:`~kfront.frontend.config.FeatureConfig`), and the
            constructor arguments of that class.

    Returns:
        nn.Module: with ``forward(waveform, lengths=None, sample_rate=None)`` and ``n_features``.

    Example:
        >>> frontend = make_frontend(cfg["frontend"], sample_rate=16000, n_mels=40)
        >>> encoder_in = frontend.n_features
        >>> kaldi = make_frontend("fbank", convention="kaldi-fbank", n_mels=80)  # the fixed twin
    """
    key = str(name).strip().lower()
    if key not in FRONTENDS:
        raise ValueError(f"unknown front-end {name!r}; choose one of {sorted(FRONTENDS)}")
    cls = FRONTENDS[key]
    own = {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "feature_args")}
    accepted = own | _FEATURE_ARGS
    if cls is not KaleidoFrontend:
        accepted.discard("output")  # the class is the output
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(f"front-end {key!r} ({cls.__name__}) does not take {unknown}; it takes {sorted(accepted)}")
    return cls(**kwargs)
