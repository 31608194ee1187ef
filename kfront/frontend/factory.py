"""Building front-ends by name: :func:`make_frontend` for recipes, :func:`frontend_for` for toolkit adapters."""
import dataclasses
import inspect

import torch
from torch import nn

from ._base import FrontendBase
from .config import FeatureConfig
from .conventions import convention_record
from .fixed import MFCC, Fbank
from .kaleido import KaleidoFrontend

FRONTENDS = {"mfcc": MFCC, "fbank": Fbank, "kaleido": KaleidoFrontend}
_FEATURE_ARGS = {f.name for f in dataclasses.fields(FeatureConfig)}


def make_frontend(name: str, **kwargs) -> nn.Module:
    """Build a front-end by name: ``"mfcc"`` (:class:`MFCC`), ``"fbank"`` (:class:`Fbank`) or ``"kaleido"``
    (:class:`KaleidoFrontend`), with that class's arguments (``convention=``, FeatureConfig fields, its own).

    Example:
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


def frontend_for(convention, learnable: bool = True, *, learn=("kmatrix",), dtype: torch.dtype | None = None,
                 **kwargs) -> FrontendBase:
    """The front-end a toolkit adapter holds: a :class:`KaleidoFrontend` of ``convention``, or its fixed twin.

    Args:
        convention (str or Convention): the toolkit's convention.
        learnable (bool): a :class:`KaleidoFrontend` (``True``) or the fixed :class:`Fbank` / :class:`MFCC` of the
            same features. (Default: ``True``)
        learn (str or tuple): stages that train, when learnable. (Default: ``("kmatrix",)``)
        dtype (torch.dtype, optional): ``torch.float32`` or ``torch.float64``. (Default: the default dtype)
        **kwargs: :class:`FeatureConfig` fields override the convention; the others are :class:`KaleidoFrontend`'s
            arguments (``kmatrix_width``, ``real_input``, ...), which a fixed twin refuses.

    Example:
        >>> frontend_for("whisper", learnable=False, n_mels=128)  # Fbank(convention="whisper", n_mels=128)
    """
    if learnable:
        return KaleidoFrontend(convention=convention, learn=learn, dtype=dtype, **kwargs)
    output = kwargs.pop("output", None) or convention_record(convention).outputs[0]
    kaleido_args = ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items()) if k not in _FEATURE_ARGS)
    if kaleido_args:
        raise ValueError(f"learnable=False builds the fixed {FRONTENDS[output].__name__}, which has no K-matrix or "
                         f"learnable stage: it takes no {kaleido_args}; pass learnable=True to use them")
    return FRONTENDS[output](convention=convention, dtype=dtype, **kwargs)
