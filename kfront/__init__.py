"""kfront: a learnable speech front-end built on butterfly / K-matrix transforms."""
__version__ = "0.1.0"

# --- front-ends ---
from .frontend import MFCC, Fbank, KaleidoFrontend, make_frontend  # noqa: E402


def __getattr__(name):
    if name == "plot":  # matplotlib is imported only when plotting
        import importlib
        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
