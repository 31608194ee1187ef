"""Speech front-ends: the learnable :class:`KaleidoFrontend` and the fixed :class:`MFCC` / :class:`Fbank`.

All run one pipeline whose fixed stages a :class:`FeatureConfig` describes, named after the toolkits that use them
(:mod:`~kfront.frontend.conventions`: torchaudio, Kaldi, Whisper, SpeechBrain, ESPnet), and answer one contract
(:class:`FrontendBase`): ``forward(waveform, lengths=None, sample_rate=None)`` -> ``(..., n_features, frames)``
(or ``(features, frame_lengths)`` with ``lengths``), ``n_features``, ``stream()`` for chunked input, and the
introspection used by :mod:`~kfront.frontend.diagnostics`, :mod:`kfront.plot` and :func:`freeze`.
"""
from ._base import FrontendBase
from ._checks import check_sample_counts
from .config import FeatureConfig
from .conventions import CONVENTIONS, Convention, convention_names, get_convention, register_convention
from .diagnostics import count_parameters, drift, filterbank_drift, frequency_response, kmatrix_drift
from .export import FrozenFrontend, freeze
from .factory import FRONTENDS, frontend_for, make_frontend
from .fixed import MFCC, Fbank
from .kaleido import KaleidoFrontend
from .streaming import StreamingFrontend

__all__ = [
    "CONVENTIONS", "FRONTENDS", "Convention", "FeatureConfig", "Fbank", "FrontendBase", "FrozenFrontend",
    "KaleidoFrontend", "MFCC", "StreamingFrontend", "check_sample_counts", "convention_names", "count_parameters",
    "drift", "filterbank_drift", "freeze", "frequency_response", "frontend_for", "get_convention", "kmatrix_drift",
    "make_frontend", "register_convention",
]
