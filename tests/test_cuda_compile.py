"""The CUDA sources compile: the kernels with nvcc for Ampere and Hopper (no GPU needed), the torch binding
for syntax against torch's headers. Skipped where nvcc (or torch's CUDA headers) is missing."""
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CUDA_DIR = ROOT / "csrc" / "cuda"
NVCC = shutil.which("nvcc")
CXX = shutil.which("g++") or shutil.which("c++")

requires_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not on PATH")


def _cuda_include_dirs():
    """The include directories nvcc itself passes to the host compiler."""
    res = subprocess.run([NVCC, "--dryrun", "-E", "-x", "cu", "/dev/null"], capture_output=True, text=True)
    dirs = []
    for line in res.stderr.splitlines() + res.stdout.splitlines():
        m = re.match(r'#\$ INCLUDES="(.*)"', line.strip())
        if m:
            dirs += [tok[2:] for tok in shlex.split(m.group(1)) if tok.startswith("-I")]
    return [d for d in dirs if (Path(d) / "cuda_runtime_api.h").exists()]


TYPE_NAMES = {"f": "float32", "d": "float64", "NS0_7ComplexIfEE": "complex64", "NS0_7ComplexIdEE": "complex128"}


def _ptxas_report(stderr: str):
    """{(kernel, arch): (registers, stack bytes, spill bytes)} from `-Xptxas -v` output."""
    report, current = {}, None
    for line in stderr.splitlines():
        m = re.search(r"Compiling entry function '(\w+)' for '(sm_\d+)'", line)
        if m:
            name = re.search(r"(forward|backward)_kernelI(\w+?)Li(\d)ELi(\d)E", m.group(1))
            dtype = TYPE_NAMES.get(name.group(2), name.group(2))
            current = (f"{name.group(1)}<{dtype}, R={name.group(3)}, F={name.group(4)}>", m.group(2))
            report[current] = [0, 0, 0]
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores", line)
        if m and current:
            report[current][1:] = [int(m.group(1)), int(m.group(2))]
        m = re.search(r"Used (\d+) registers", line)
        if m and current:
            report[current][0] = int(m.group(1))
    return report


@requires_nvcc
def test_kernels_compile_for_sm80_and_sm90(tmp_path):
    """nvcc builds the kernels for sm_80 and sm_90 with no stack frame or spills (all register arrays are
    indexed with constants; the kernel parameters are __grid_constant__). The resource report is printed."""
    cmd = [NVCC, "-c", "-O3", "-std=c++17", "-Xptxas", "-v", "--threads", "2",
           "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=sm_90",
           str(CUDA_DIR / "butterfly_kernels.cu"), "-o", str(tmp_path / "butterfly_kernels.o")]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-6000:]
    report = _ptxas_report(res.stderr)
    print("kernel                                   arch   registers  stack  spills")
    for (kernel, arch), (regs, stack, spill) in sorted(report.items()):
        print(f"{kernel:40s} {arch:6s} {regs:9d} {stack:6d} {spill:7d}")
    assert len(report) == 2 * 15, sorted(report)  # 6 forward + 9 backward instantiations, two archs
    assert all(stack == 0 and spill == 0 for _, stack, spill in report.values()), report


@requires_nvcc
@pytest.mark.skipif(CXX is None, reason="no C++ compiler on PATH")
def test_binding_compiles_against_torch_headers(tmp_path):
    """The torch binding is only built where torch has CUDA; here it is at least checked for syntax and
    types against this torch's headers and nvcc's CUDA runtime headers."""
    torch_include = Path(torch.__file__).parent / "include"
    cuda_include = _cuda_include_dirs()
    if not (torch_include / "c10" / "cuda" / "CUDAGuard.h").exists() or not cuda_include:
        pytest.skip("torch's c10/cuda headers or the CUDA runtime headers are missing")
    stub = tmp_path / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h"
    if not (torch_include / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h").exists():
        # A CPU build of torch ships c10/cuda without this generated header.
        stub.parent.mkdir(parents=True)
        stub.write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    cmd = [CXX, "-std=c++17", "-fsyntax-only", f"-I{tmp_path}", f"-I{torch_include}",
           f"-I{torch_include / 'torch' / 'csrc' / 'api' / 'include'}", *[f"-I{d}" for d in cuda_include],
           str(CUDA_DIR / "butterfly_cuda.cpp")]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-6000:]
