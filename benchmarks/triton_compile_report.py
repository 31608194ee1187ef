"""Compile the Triton butterfly kernels for a GPU without one: registers, spills and compile time per kernel.

    python benchmarks/triton_compile_report.py                    # n = 256 512 1024 4096, complex64 and real input
    python benchmarks/triton_compile_report.py --sizes 16 --arch 80
    python benchmarks/triton_compile_report.py --out benchmarks/results/triton_compile_sm90.md

The ops run on CPU tensors with every launch recorded instead of run (:func:`kfront.core._triton.launch`), with the
tile sizes a GPU gets; each distinct kernel specialisation is then compiled by Triton for the target (sm_90 by
default) and ptxas (Triton's own) reports its registers and spill bytes. A kernel that spills is slow and slow to
compile; the plans' defaults (``kfront/core/_triton_plan.py``) are chosen so that none does. The times are Triton's
compile times on this machine's CPU, which a user waits for once per shape (Triton caches the result on disk).
"""
import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kfront.core import _triton, _triton_plan, randn_twiddle  # noqa: E402

_POINTER = {torch.float32: "*fp32", torch.float64: "*fp64", torch.int64: "*i64"}


@contextlib.contextmanager
def recorded_launches():
    """Record the launches of the Triton ops in the block (nothing runs; outputs are garbage), with GPU tiles."""
    launches = []
    launch, scale = _triton.launch, _triton_plan.INTERPRETER_TILE_SCALE
    _triton.launch = lambda kernel, grid, args, constants, num_warps: launches.append(
        (kernel.fn.__name__, args, constants, num_warps))
    _triton_plan.INTERPRETER_TILE_SCALE = 1
    try:
        yield launches
    finally:
        _triton.launch, _triton_plan.INTERPRETER_TILE_SCALE = launch, scale


def run_ops(n: int, dtype: torch.dtype, real_input: bool, frames: int = 1 << 16, nblocks: int = 1,
            power: bool = True):
    """The product, its backward (with and without d_x) and, for a complex twiddle, both powers and their
    backward, on CPU tensors of a GPU-sized batch (launches are meant to be recorded, not run)."""
    ops = _triton.ops()
    tw = randn_twiddle((1, nblocks, n.bit_length() - 1, n // 2, 2, 2), dtype=dtype)
    x = torch.zeros(frames, 1, n, dtype=dtype.to_real() if real_input else dtype)
    ops.butterfly_multiply(tw, x, True)
    ops.butterfly_multiply_backward(torch.zeros(frames, 1, n, dtype=dtype), tw, x, True, not real_input)
    if power and dtype.is_complex:
        k = n // 2 + 1
        sep = torch.zeros(2, k, dtype=dtype)
        ops.butterfly_multiply_power(tw, x, True, k, sep)
        ops.butterfly_multiply_power_backward(torch.zeros(frames, k, dtype=dtype.to_real()), tw, x, True, k, sep,
                                              False)


def compile_launch(name, args, constants, num_warps, arch: int = 90):
    """Compile one recorded launch for sm_<arch>; returns (seconds, registers, spill bytes)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(_triton._compiled_kernels(), name)
    signature, constexprs = {}, dict(constants)
    for arg, value in zip(fn.arg_names, args):
        if value is None:
            signature[arg], constexprs[arg] = "constexpr", None
        elif isinstance(value, torch.Tensor):
            signature[arg] = _POINTER[value.dtype]
        else:
            signature[arg] = "i32" if -2**31 <= value < 2**31 else "i64"
    signature.update({key: "constexpr" for key in constants})
    start = time.perf_counter()
    compiled = triton.compile(ASTSource(fn, signature, constexprs), target=GPUTarget("cuda", arch, 32),
                              options={"num_warps": num_warps})
    seconds = time.perf_counter() - start
    ptxas = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
    with tempfile.TemporaryDirectory() as tmp:
        ptx = Path(tmp) / "kernel.ptx"
        ptx.write_text(compiled.asm["ptx"])
        arch_name = re.search(r"\.target (sm_\w+)", compiled.asm["ptx"]).group(1)
        info = subprocess.run([str(ptxas), f"-arch={arch_name}", "-v", str(ptx), "-o", os.devnull],
                              capture_output=True, text=True).stderr
    registers = int(re.search(r"Used (\d+) registers", info).group(1))
    spills = int(re.search(r"(\d+) bytes spill stores", info).group(1))
    return seconds, registers, spills


def report(sizes, kinds, arch: int = 90, log=print) -> list[dict]:
    rows, seen = [], set()
    for n in sizes:
        for kind in kinds:
            dtype, real = (torch.complex64, kind == "real-input") if kind != "float32" else (torch.float32, False)
            with recorded_launches() as launches:
                run_ops(n, dtype, real)
            for name, args, constants, num_warps in launches:
                key = (name, tuple(sorted((k, str(v)) for k, v in constants.items())), num_warps)
                if key in seen:
                    continue
                seen.add(key)
                seconds, registers, spills = compile_launch(name, args, constants, num_warps, arch)
                mode = constants.get("OUT", constants.get("GRAD"))
                row = {"n": n, "kind": kind, "kernel": name.removesuffix("_kernel"), "mode": mode,
                       "input_grad": constants.get("INPUT_GRAD", "-"),
                       "layers": constants["NL"], "window": (constants["A"], constants["W"], constants["R"]),
                       "frames": constants["B"], "warps": num_warps, "compile_s": round(seconds, 1),
                       "registers": registers, "spill_bytes": spills}
                rows.append(row)
                log(row)
    return rows


def markdown(rows: list[dict], arch: int, command: str) -> str:
    lines = [f"# Triton butterfly kernels compiled for sm_{arch} (no GPU needed)", "",
             f"`{command}`; torch {torch.__version__}, Triton {_triton_version()}. Mode: the forward's output "
             "(0 frames, 2 separated power) or the backward's gradient (0 frames, 2 separated power); d_x: whether "
             "the backward computes the input's gradient. Window: "
             "(A, W, R) of the chunk (kfront/core/_triton_kernels.py). Compile: seconds on this machine's CPU, "
             "0 where Triton's disk cache already held the kernel.", "",
             "| n | kind | kernel | mode | d_x | layers | window | frames | warps | registers | spill bytes "
             "| compile (s) |", "|" + "---|" * 12]
    for r in rows:
        lines.append(f"| {r['n']} | {r['kind']} | {r['kernel']} | {r['mode']} | {r['input_grad']} | {r['layers']} "
                     f"| {r['window']} "
                     f"| {r['frames']} | {r['warps']} | {r['registers']} | {r['spill_bytes']} | {r['compile_s']} |")
    return "\n".join(lines) + "\n"


def _triton_version() -> str:
    import triton

    return triton.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 4096])
    parser.add_argument("--kinds", nargs="+", choices=("complex64", "real-input", "float32"),
                        default=["complex64", "real-input"])
    parser.add_argument("--arch", type=int, default=90, help="compute capability, e.g. 80 or 90")
    parser.add_argument("--out", help="also write the table as Markdown here")
    args = parser.parse_args(argv)
    rows = report(args.sizes, args.kinds, args.arch)
    spilling = [r for r in rows if r["spill_bytes"]]
    summary = f"{len(rows)} kernels, {len(spilling)} spill; compile {sum(r['compile_s'] for r in rows):.0f} s in all"
    print(summary)
    if args.out:
        command = "python benchmarks/triton_compile_report.py" + "".join(
            " " + a for a in (sys.argv[1:] if argv is None else argv))
        Path(args.out).write_text(markdown(rows, args.arch, command) + "\n" + summary + "\n")
    return rows


if __name__ == "__main__":
    main()
