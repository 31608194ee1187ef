"""Which implementation of the butterfly ops runs: the compiled C++ extension, the Triton kernels, or the
pure-PyTorch reference.

Every implementation but the reference is an accelerator, never a requirement: the C++ op is built on first use
(see :mod:`kfront.core.build`), Triton is imported on first use (:mod:`kfront.core._triton`); where neither serves,
kfront runs the reference and warns once per device type why. Which ops a loaded C++ library runs on which device
is asked of the dispatcher (:func:`has_kernel`): the CPU library has the fused power ops, the CUDA one only the
product. The Triton ops (``torch.ops.kfront_triton``) have all four, on CUDA and (interpreted) CPU tensors.

``KFRONT_BACKEND`` selects the implementation:

- ``auto`` (the default): on CPU tensors the compiled C++ op where it builds; on CUDA tensors Triton where
  ``triton`` imports, else the CUDA C++ op where it builds; else the reference.
- ``triton``, ``cuda``: on CUDA tensors that implementation, and an error where it is unavailable. CPU tensors keep
  the CPU's choice, except that ``triton`` runs them through Triton's interpreter under ``TRITON_INTERPRET=1``.
- ``compiled``: ``auto``, but an error where no compiled implementation serves instead of the reference.
- ``reference``: the pure-PyTorch reference everywhere.

First contact: the first time a GPU implementation (Triton, or the CUDA C++ op) runs an op for a dtype on a device
type, it is compared with the reference on a small problem (:mod:`kfront.core._first_contact`). On a mismatch
kfront warns once, naming the worst error, and runs the reference for that op and dtype from then on; a backend
asked for by name (``triton``, ``cuda``, ``compiled``) makes the mismatch an error.
"""
import os
import threading

import torch

from .._warn import warn_user

_MODES = ("auto", "compiled", "reference", "triton", "cuda")
_DISPATCH_KEYS = {"cpu": "CPU", "cuda": "CUDA"}  # device type -> the dispatch key its library registers
_OP = "butterfly_multiply"  # every compiled library has it
# The dtypes the compiled kernels are instantiated for (csrc/butterfly_checks.h); others run on the reference.
_COMPILED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)

_lock = threading.RLock()
_state = {"loaded": {}, "reason": {}, "warned": set(), "registered": False, "checked": {}}


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


def _interpret_requested() -> bool:
    """Whether Triton's interpreter is asked for (``TRITON_INTERPRET``, read as Triton reads it)."""
    return os.environ.get("TRITON_INTERPRET", "").strip().lower() in ("1", "true", "on", "yes")


def _triton_unavailable(device_type: str) -> str | None:
    """Why Triton cannot run the ops on ``device_type`` tensors, or ``None``."""
    from . import _triton  # imports no Triton itself

    if device_type == "cpu" and not _interpret_requested():
        return "Triton runs CPU tensors only under TRITON_INTERPRET=1"
    if device_type == "cuda" and not torch.cuda.is_available():
        return "no CUDA device"
    if device_type not in _DISPATCH_KEYS:
        return f"no Triton kernels for device type {device_type!r}"
    return _triton.unavailable()


def _select(device_type: str) -> tuple[str, str | None]:
    """(implementation, reason): ``"compiled"``, ``"triton"`` or ``"reference"`` for ``device_type`` under the
    current ``KFRONT_BACKEND``, and why the first choice does not run (``None`` when it does). Builds or imports
    what it needs on first use; raises ``RuntimeError`` where a backend asked for by name is unavailable."""
    mode = _mode()
    if mode == "reference":
        return "reference", "KFRONT_BACKEND=reference"
    if device_type not in _DISPATCH_KEYS:
        return "reference", f"no compiled kernel for device type {device_type!r}"
    if mode == "triton" and (device_type == "cuda" or _interpret_requested()):
        reason = _triton_unavailable(device_type)
        if reason is not None:
            raise RuntimeError(f"KFRONT_BACKEND=triton but the Triton butterfly kernels are unavailable on "
                               f"{device_type}: {reason}")
        return "triton", None
    if device_type == "cuda" and mode == "cuda":
        if not ensure_loaded("cuda"):
            raise RuntimeError(f"KFRONT_BACKEND=cuda but the compiled CUDA butterfly op is unavailable: "
                               f"{_state['reason']['cuda']}")
        return "compiled", None
    reasons = []
    if device_type == "cuda":
        triton_reason = _triton_unavailable("cuda")
        if triton_reason is None:
            return "triton", None
        reasons.append(triton_reason)
    if ensure_loaded(device_type):
        return "compiled", "; ".join(reasons) or None
    reasons.append(_state["reason"][device_type])
    return "reference", "; ".join(reasons)


@torch.compiler.assume_constant_result
def _implementation(device_type: str) -> str:
    """The implementation that runs on ``device_type`` (see :func:`_select`); warns once per device type when it is
    the reference by fallback, raises under ``KFRONT_BACKEND=compiled``.

    Under ``torch.compile`` this runs at trace time and its answer is a constant of the graph, so the build,
    the lock and the warning never have to be traced.
    """
    name, reason = _select(device_type)
    if name != "reference" or _mode() == "reference" or device_type not in _DISPATCH_KEYS:
        return name
    if _mode() == "compiled":
        raise RuntimeError(f"KFRONT_BACKEND=compiled but the compiled butterfly op for {device_type} is "
                           f"unavailable: {reason}")
    if device_type not in _state["warned"]:
        _state["warned"].add(device_type)
        warn_user(f"kfront: compiled butterfly op unavailable on {device_type}, using the pure-PyTorch "
                  f"reference (same results, slower): {reason}", RuntimeWarning)
    return "reference"


def _ops(name: str):
    """The ``torch.ops`` namespace of an implementation."""
    if name == "triton":
        from . import _triton

        return _triton.ops()
    return torch.ops.kfront


def _first_contact(name: str, op: str, device_type: str, dtype: torch.dtype) -> bool:
    """Whether the GPU implementation ``name`` may run ``op`` (a family: the product or the power) for ``dtype`` on
    ``device_type``: checked against the reference on first use (:mod:`kfront.core._first_contact`)."""
    from . import _first_contact as contact

    key = (name, contact.FAMILIES[op], device_type, dtype)
    with _lock:
        if key not in _state["checked"]:
            _state["checked"][key] = contact.check(_ops(name), key[1], device_type, dtype)
    failure = _state["checked"][key]
    if failure is None:
        return True
    what = "Triton butterfly kernels" if name == "triton" else "compiled butterfly op"
    message = (f"kfront: the {what} disagree with the pure-PyTorch reference on {device_type} for {op} in "
               f"{str(dtype).removeprefix('torch.')}: {failure}")
    if _mode() != "auto":
        raise RuntimeError(f"{message} (KFRONT_BACKEND={_mode()})")
    if key not in _state["warned"]:
        _state["warned"].add(key)
        warn_user(f"{message}; using the reference for it from now on", RuntimeWarning)
    return False


@torch.compiler.assume_constant_result
def _chosen(op: str, device_type: str, dtype_name: str) -> str:
    """The implementation that runs ``kfront::<op>`` for a twiddle of ``dtype_name`` on ``device_type``: a constant
    of a ``torch.compile`` graph. ``"reference"`` where the caller composes or runs the reference."""
    dtype = getattr(torch, dtype_name)
    if dtype not in _COMPILED_DTYPES:
        return "reference"
    name = _implementation(device_type)
    if name == "compiled" and not has_kernel(op, device_type):
        return "reference"
    gpu = name == "triton" or device_type == "cuda"
    if name != "reference" and gpu and not _first_contact(name, op, device_type, dtype):
        return "reference"
    if name == "triton":
        _ops(name)  # declares torch.ops.kfront_triton (under a lock, which a torch.compile trace could not take)
    return name


def compiled_op(op: str, device_type: str, dtype: torch.dtype):
    """The ``<op>`` of the implementation that runs on ``device_type`` for a twiddle of ``dtype``
    (``torch.ops.kfront`` or ``torch.ops.kfront_triton``), or ``None`` where the caller runs the reference (no
    compiled implementation, no such kernel on that device, a dtype the kernels are not built for, or a failed
    first-contact check). Builds or imports the implementation on first use."""
    name = _chosen(op, device_type, str(dtype).removeprefix("torch."))
    if name == "reference":
        return None
    return getattr(torch.ops.kfront_triton if name == "triton" else torch.ops.kfront, op).default


@torch.compiler.assume_constant_result
def reads_strided(device_type: str) -> bool:
    """Whether the implementation on ``device_type`` reads frames of any strides (Triton) rather than dense rows
    (the C++ op), so that callers need not copy strided frames first."""
    return _implementation(device_type) == "triton"


def backend(device_type: str = "cpu") -> str:
    """Name of the implementation ``butterfly_multiply`` uses on ``device_type``: ``"compiled"`` (the C++ op),
    ``"triton"`` or ``"reference"``.

    Builds (or imports) the implementation if that has not happened yet in this process.
    """
    return _select(device_type)[0]


def backend_reason(device_type: str = "cpu") -> str | None:
    """Why ``device_type``'s first choice (see the module) does not run, or ``None`` when it does; a failed
    first-contact check is named too. Builds (or imports) the implementation if that has not happened yet."""
    reason = _select(device_type)[1]
    failed = [f"{name}'s {family} in {str(dtype).removeprefix('torch.')} failed its first-contact check ({failure}), "
              "the reference runs it" for (name, family, dev, dtype), failure in list(_state["checked"].items())
              if dev == device_type and failure is not None]
    if failed:
        reason = "; ".join(([reason] if reason else []) + failed)
    return reason
