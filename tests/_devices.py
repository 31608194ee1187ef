"""The implementations the op tests run on: a pytest parameter each, skipped where unavailable.

- ``cpu``: the compiled C++ op on CPU tensors;
- ``cuda``: the CUDA C++ op (``KFRONT_BACKEND=cuda``);
- ``cpu-triton``: the Triton kernels run by Triton's interpreter on CPU tensors (``KFRONT_BACKEND=triton``,
  ``TRITON_INTERPRET=1``): the GPU kernels' own source, in the CPU suite;
- ``cuda-triton``: the Triton kernels compiled for the GPU (``KFRONT_BACKEND=triton``).

A parameter is a :class:`Target`: the device name the tests put tensors on, which also names the implementation.
Test modules import :func:`select_backend` (an autouse fixture) so that ``butterfly_multiply`` runs the target's
implementation, and call the op itself as ``ops(device).<op>``.
"""
import pytest
import torch

from kfront.core import _backend, _triton

try:  # Triton imported before any test sets TRITON_INTERPRET: its own helpers stay compiled for the GPU tests
    import triton.language  # noqa: F401
except ImportError:
    pass


class Target(str):
    """A device name (``"cpu"``, ``"cuda"``) that also says which implementation runs there (``"compiled"``, the C++
    op, or ``"triton"``)."""

    def __new__(cls, device: str, backend: str):
        target = super().__new__(cls, device)
        target.backend = backend
        return target

    @property
    def id(self) -> str:
        return str(self) + ("-triton" if self.backend == "triton" else "")

    @property
    def env(self) -> dict[str, str]:
        if self.backend == "triton":
            return {"KFRONT_BACKEND": "triton", **({"TRITON_INTERPRET": "1"} if self == "cpu" else {})}
        return {"KFRONT_BACKEND": "cuda" if self == "cuda" else "compiled"}


def unavailable(target: Target) -> str | None:
    """Why ``target`` cannot be tested here, or ``None``."""
    if target == "cuda" and not torch.cuda.is_available():
        return "no CUDA device"
    if getattr(target, "backend", "compiled") == "triton":
        reason = _triton.unavailable()
        return None if reason is None else f"Triton kernels unavailable: {reason}"
    if not _backend.ensure_loaded(str(target)):
        return f"compiled butterfly op unavailable on {target}: {_backend.backend_reason(str(target))}"
    return None


def ops(target):
    """The ``torch.ops`` namespace of ``target``'s implementation."""
    return _triton.ops() if getattr(target, "backend", "compiled") == "triton" else torch.ops.kfront


def deterministic(target) -> bool:
    """Whether the twiddle gradient is summed in a fixed order: on a GPU both implementations add with atomics
    (the interpreter runs a grid's programs one after another)."""
    return target == "cpu"


TARGETS = [Target("cpu", "compiled"), Target("cuda", "compiled"), Target("cpu", "triton"), Target("cuda", "triton")]
DEVICES = [pytest.param(t, id=t.id, marks=pytest.mark.skipif(unavailable(t) is not None, reason=str(unavailable(t))))
           for t in TARGETS]


@pytest.fixture(autouse=True)
def select_backend(request, monkeypatch):
    """Run the public functions on the implementation of the test's ``device`` parameter, if it has one."""
    callspec = getattr(request.node, "callspec", None)
    target = callspec.params.get("device") if callspec is not None else None
    for key, value in getattr(target, "env", {}).items():
        monkeypatch.setenv(key, value)
