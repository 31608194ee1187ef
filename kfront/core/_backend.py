"""Which implementation of the butterfly op runs: the compiled extension or the pure-PyTorch reference.

The compiled op is an accelerator, never a requirement: if it cannot be built or loaded, kfront runs the
reference and says once why. ``KFRONT_BACKEND=reference`` forces the reference.
"""
import os
import warnings

_state = {"loaded": None, "reason": None, "warned": False}


def _force_reference() -> bool:
    return os.environ.get("KFRONT_BACKEND", "").strip().lower() == "reference"


def compiled_op(device_type: str):
    """The compiled ``kfront::butterfly_multiply`` for ``device_type``, or ``None`` to use the reference."""
    return None


def backend(device_type: str = "cpu") -> str:
    """Name of the implementation ``butterfly_multiply`` uses on ``device_type``: ``"compiled"`` or ``"reference"``."""
    return "compiled" if compiled_op(device_type) is not None else "reference"


def backend_reason() -> str | None:
    """Why the reference runs instead of the compiled op, or ``None`` when the compiled op is in use."""
    return _state["reason"]
