"""``make_frontend``: one entry point so that a recipe swaps front-ends by name."""
import inspect

from torch import nn

from .fixed import MFCC, Fbank
from .kaleido import KaleidoFrontend

FRONTENDS = {"mfcc": MFCC, "fbank": Fbank, "kaleido": KaleidoFrontend}


def make_frontend(name: str, **kwargs) -> nn.Module:
    """Build a front-end by name.

    Args:
        name (str): ``"mfcc"`` (:class:`MFCC`), ``"fbank"`` (:class:`Fbank`) or ``"kaleido"``
            (:class:`KaleidoFrontend`; choose its features with ``output="fbank" | "mfcc"``).
        **kwargs: constructor arguments of that class (``sample_rate``, ``n_fft``, ``win_length``,
            ``hop_length``, ``n_mels``, ``f_min``, ``f_max``, ``window``, ... are common to all three).

    Returns:
        nn.Module: with ``forward(waveform, lengths=None, sample_rate=None)`` and ``n_features``.

    Example:
        >>> frontend = make_frontend(cfg["frontend"], sample_rate=16000, n_mels=40)
        >>> encoder_in = frontend.n_features
    """
    key = str(name).strip().lower()
    if key not in FRONTENDS:
        raise ValueError(f"unknown front-end {name!r}; choose one of {sorted(FRONTENDS)}")
    cls = FRONTENDS[key]
    accepted = {p for p in inspect.signature(cls.__init__).parameters if p != "self" and not p.startswith("_")}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(f"front-end {key!r} ({cls.__name__}) does not take {unknown}; it takes {sorted(accepted)}")
    return cls(**kwargs)
