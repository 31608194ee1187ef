"""The devices the compiled-op tests run on: a pytest parameter each, skipped where no compiled op is built."""
import pytest
import torch

from kfront.core import backend, backend_reason


def unavailable(device: str) -> str | None:
    """Why the compiled op cannot be tested on ``device`` here, or ``None``."""
    if device == "cuda" and not torch.cuda.is_available():
        return "no CUDA device"
    if backend(device) != "compiled":
        return f"compiled butterfly op unavailable on {device}: {backend_reason(device)}"
    return None


DEVICES = [pytest.param(d, id=d, marks=pytest.mark.skipif(unavailable(d) is not None, reason=str(unavailable(d))))
           for d in ("cpu", "cuda")]
