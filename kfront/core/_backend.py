"""Which implementation of the butterfly ops runs: the compiled extension or the pure-PyTorch reference.

The compiled op is an accelerator, never a requirement: it is built on first use (see :mod:`kfront.core.build`);
if it cannot be built or loaded, kfront runs the reference and warns once per device type why. Which ops a loaded
library runs on which device is asked of the dispatcher (:func:`has_kernel`): the CPU library has the fused power
ops, the CUDA one only the product.

``KFRONT_BACKEND`` selects the implementation: ``reference`` forces the pure-PyTorch reference, ``compiled``
makes a failed build an error instead of a fallback, and ``auto`` (the default) uses the compiled op when it
builds.
"""
import os
import threading

import torch

from .._warn import warn_user

_MODES = ("auto", "compiled", "reference")
_DISPATCH_KEYS = {"cpu": "CPU", "cuda": "CUDA"}  # device type -> the dispatch key its library registers
_OP = "butterfly_multiply"  # every compiled library has it
# The dtypes the compiled kernels are instantiated for (csrc/butterfly_checks.h); others run on the reference.
_COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)

_lock = threading.RLock()
_state = {"loaded": {}, "reason": {}, "warned": set(), "registered": False}


def _mode() -> str:
    mode = os.environ.get("KFRONT_BACKEND", "").strip().lower() or "auto"
    if mode not in _MODES:
        raise ValueError(f"KFRONT_BACKEND must be one of {_MODES}, got {os.environ.get('KFRONT_BACKEND')!r}")
    return mode


def _summarize(exc: BaseException) -> str:
    """One readable line for a build or load failure (the missing tool in words, or the compiler's first error)."""
    from . import build

    return build.describe_failure(exc)


def has_kernel(op: str, device_type: str) -> bool:
    """Whether a loaded compiled library registers a kernel of ``kfront::<op>`` for ``device_type``.

    Asks the dispatcher; does not build or load anything (:func:`ensure_loaded` does).
    """
    key = _DISPATCH_KEYS.get(device_type)
    if key is None:
        return False
    try:
        return torch._C._dispatch_has_kernel_for_dispatch_key(f"kfront::{op}", key)
    except RuntimeError:  # no such operator: no library declared it
        return False


def _try_load(device_type: str, verbose: bool) -> str | None:
    """Build and load the library for ``device_type``; returns ``None`` on success, else the reason."""
    from . import build  # the compiler tooling is loaded on the first build, not on import

    try:
        if device_type == "cuda" and not ensure_loaded("cpu", verbose):  # the schema lives in the CPU library
            return f"the CPU library, which declares the ops, is unavailable: {_state['reason']['cpu']}"
        (build.load_cpu if device_type == "cpu" else build.load_cuda)(verbose=verbose)
        if not has_kernel(_OP, device_type):
            return f"the library loaded but registers no {device_type.upper()} kernel for kfront::{_OP}"
        if not _state["registered"]:
            from . import _ops

            _ops.register()
            _state["registered"] = True
    except Exception as exc:  # noqa: BLE001 - any build or load failure means: fall back, and say why
        return _summarize(exc)
    return None


def ensure_loaded(device_type: str = "cpu", verbose: bool = False) -> bool:
    """Build and load the compiled op for ``device_type`` once per process; ``True`` if it is usable."""
    if device_type not in _DISPATCH_KEYS:
        return False
    with _lock:
        if device_type not in _state["loaded"]:
            reason = _try_load(device_type, verbose)
            _state["loaded"][device_type] = reason is None
            _state["reason"][device_type] = reason
        return _state["loaded"][device_type]


@torch.compiler.assume_constant_result
def _use_compiled(device_type: str) -> bool:
    """Whether ``butterfly_multiply`` runs the compiled op on ``device_type``; builds it on first use.

    Under ``torch.compile`` this runs at trace time and its answer is a constant of the graph, so the build,
    the lock and the warning never have to be traced.
    """
    mode = _mode()
    if mode == "reference" or device_type not in _DISPATCH_KEYS:
        return False
    if ensure_loaded(device_type):
        return True
    reason = _state["reason"][device_type]
    if mode == "compiled":
        raise RuntimeError(f"KFRONT_BACKEND=compiled but the compiled butterfly op for {device_type} is "
                           f"unavailable: {reason}")
    if device_type not in _state["warned"]:
        _state["warned"].add(device_type)
        warn_user(f"kfront: compiled butterfly op unavailable on {device_type}, using the pure-PyTorch "
                  f"reference (same results, slower): {reason}", RuntimeWarning)
    return False


@torch.compiler.assume_constant_result
def _runs_compiled(op: str, device_type: str) -> bool:
    """Whether ``kfront::<op>`` runs compiled on ``device_type``: a constant of a ``torch.compile`` graph."""
    return _use_compiled(device_type) and has_kernel(op, device_type)


def compiled_op(op: str, device_type: str, dtype: torch.dtype):
    """The compiled ``torch.ops.kfront.<op>`` for tensors of ``device_type`` with a twiddle of ``dtype``, or
    ``None`` where the caller runs the reference (no compiled library, no such kernel on that device, or a
    dtype the kernels are not built for). Builds the library on first use."""
    if dtype not in _COMPILED_DTYPES or not _runs_compiled(op, device_type):
        return None
    return getattr(torch.ops.kfront, op).default


def backend(device_type: str = "cpu") -> str:
    """Name of the implementation ``butterfly_multiply`` uses on ``device_type``: ``"compiled"`` or ``"reference"``.

    Builds the compiled op if that has not happened yet in this process.
    """
    if _mode() == "reference":
        return "reference"
    return "compiled" if ensure_loaded(device_type) else "reference"


def backend_reason(device_type: str = "cpu") -> str | None:
    """Why the reference runs instead of the compiled op on ``device_type``, or ``None`` when the compiled op
    is in use. Builds the compiled op if that has not happened yet in this process."""
    if _mode() == "reference":
        return "KFRONT_BACKEND=reference"
    if device_type not in _DISPATCH_KEYS:
        return f"no compiled kernel for device type {device_type!r}"
    ensure_loaded(device_type)
    return _state["reason"][device_type]
