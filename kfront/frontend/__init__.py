"""Speech front-ends: the learnable :class:`KaleidoFrontend` and the fixed :class:`MFCC` / :class:`Fbank`.

All share ``forward(waveform, lengths=None, sample_rate=None)`` -> ``(..., n_features, frames)`` (or
``(features, frame_lengths)`` with ``lengths``), ``n_features``, ``stream()`` for chunked input, and the
introspection used by :mod:`~kfront.frontend.diagnostics`, :mod:`kfront.plot` and :func:`freeze`.
"""
from .diagnostics import count_parameters, drift, filterbank_drift, frequency_response, kmatrix_drift
from .export import FrozenFrontend, freeze
from .factory import FRONTENDS, make_frontend
from .fixed import MFCC, Fbank
from .kaleido import KaleidoFrontend
from .streaming import StreamingFrontend

__all__ = [
    "FRONTENDS", "Fbank", "FrozenFrontend", "KaleidoFrontend", "MFCC", "StreamingFrontend", "count_parameters",
    "drift", "filterbank_drift", "freeze", "frequency_response", "kmatrix_drift", "make_frontend",
]
