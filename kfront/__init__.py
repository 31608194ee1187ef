"""kfront: a learnable speech front-end built on butterfly / K-matrix transforms.

The public API is what this module exports. Names are resolved on first use, so ``import kfront.synth`` (the
corpus generator, which forks a worker per utterance) does not pay for importing torch.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # front-ends
    "KaleidoFrontend": "kfront.frontend",
    "MFCC": "kfront.frontend",
    "Fbank": "kfront.frontend",
    "make_frontend": "kfront.frontend",
    # the butterfly / K-matrix core
    "Butterfly": "kfront.core",
    "KMatrix": "kfront.core",
    "butterfly_multiply": "kfront.core",
    "backend": "kfront.core",
    "backend_reason": "kfront.core",
}
_SUBMODULES = ("plot",)  # matplotlib is imported only when plotting

__all__ = sorted(_EXPORTS) + list(_SUBMODULES)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
