"""The Triton kernels compile for a GPU, checked without one: Triton's compiler and ptxas run on the CPU.

The interpreter (``cpu-triton`` in the op tests) runs the kernels' Python, not what Triton's compiler accepts: a
construct the interpreter runs may still not compile (an inconsistent return type, a tuple it cannot carry through
a loop). Here the launches of the ops are recorded and every kernel specialisation is compiled for sm_90, as the
GPU would compile it on first use; a larger report: ``python benchmarks/triton_compile_report.py``.
"""
import pytest
import torch

from kfront.core import _triton

from _scripts import load_script

pytestmark = pytest.mark.skipif(_triton.unavailable() is not None, reason=str(_triton.unavailable()))


def _report():
    return load_script("benchmarks/triton_compile_report.py")


def test_kernels_compile_for_sm90_without_spills():
    """Forward, backward and separated power of a real input into a complex butterfly, and the product of a real
    butterfly of two blocks, compile to sm_90 code without register spills (n = 16: each kernel's code grows with
    its layers, and so does the compile time)."""
    report = _report()
    with report.recorded_launches() as launches:
        report.run_ops(16, torch.complex64, real_input=True, frames=4, nblocks=1)
        report.run_ops(16, torch.float32, real_input=False, frames=4, nblocks=2)
    kinds = {(name, constants.get("OUT", constants.get("GRAD")), constants["CPLX"]) for name, _, constants, _ in
             launches}
    assert kinds >= {("forward_kernel", 0, True), ("forward_kernel", 2, True), ("backward_kernel", 0, True),
                     ("backward_kernel", 2, True), ("forward_kernel", 0, False), ("backward_kernel", 0, False)}
    seen = set()
    for name, args, constants, num_warps in launches:
        key = (name, tuple(sorted((k, str(v)) for k, v in constants.items())), num_warps)
        if key in seen:
            continue
        seen.add(key)
        _, registers, spills = report.compile_launch(name, args, constants, num_warps, arch=90)
        assert spills == 0 and registers <= 255, (name, constants, registers, spills)
