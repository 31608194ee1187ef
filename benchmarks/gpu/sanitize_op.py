"""A few small calls of the CUDA C++ butterfly op (whatever KFRONT_BACKEND says), for compute-sanitizer.

    PYTORCH_NO_CUDA_MEMORY_CACHING=1 compute-sanitizer --tool racecheck python3 benchmarks/gpu/sanitize_op.py \
        [--budget SECONDS]

Covers the single-launch forward and backward, the chunked forward (n > 4096 or a small window), a backward
split into chunks with a workspace (with and without d_x), frames past the batch end (partial tiles), frames
off the 16-byte alignment (element-wise staging), a real input, short rows and a permutation read through the
kernels' input map (one launch and chunked, with and without d_x), and every dtype. Each result is also checked
against the float64 reference, so the run fails on a wrong answer as well as on a hazard. Without the caching
allocator every tensor is its own cudaMalloc, so memcheck sees out-of-bounds accesses. With --budget no case is
started after that many seconds (the sanitizers slow kernels down by orders of magnitude): the run then says how
many cases it checked.
"""
import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kfront.core import (backend, backend_reason, bitreversal_permutation,  # noqa: E402
                         butterfly_multiply_reference)

CASES = [  # (dtype, batch, nstacks, log_n, nblocks, increasing, env); env may hold the case's own "layout" too
    (torch.complex64, 5, 2, 3, 2, True, {}),
    (torch.complex64, 3, 1, 10, 1, False, {}),
    (torch.float32, 7, 1, 9, 2, True, {}),
    (torch.complex64, 2, 1, 13, 1, True, {}),
    (torch.complex64, 3, 2, 7, 2, False, {"KFRONT_CUDA_MAX_WINDOW_LOG2": "4"}),
    (torch.complex64, 3, 1, 10, 1, True, {"KFRONT_CUDA_BW_SMEM_BYTES": "60000"}),
    (torch.float64, 3, 1, 6, 3, False, {}),
    (torch.complex128, 3, 1, 8, 1, True, {}),
    (torch.complex64, 9, 1, 9, 2, False, {"KFRONT_CUDA_FWD_FRAMES": "4", "KFRONT_CUDA_BW_FRAMES": "4",
                                          "KFRONT_CUDA_BW_THREADS": "128"}),
    (torch.float32, 5, 1, 11, 1, True, {"layout": "no d_x"}),  # two backward chunks, the gradient in the workspace
    (torch.complex64, 4, 2, 8, 2, False, {"layout": "offset"}),  # frames one element off 16 bytes
    (torch.complex64, 3, 1, 9, 1, True, {"layout": "real"}),
    # the op's own x through the kernels' input map: real, rows of 400 < 512, bit-reversed
    (torch.complex64, 5, 1, 9, 1, True, {"layout": "mapped"}),
    (torch.complex64, 3, 1, 11, 1, False, {"layout": "mapped"}),  # two backward chunks: the gradient in the workspace
    (torch.complex64, 3, 1, 10, 2, True, {"layout": "mapped no d_x", "KFRONT_CUDA_MAX_WINDOW_LOG2": "5"}),  # gathers
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=None,
                        help="start no case after this many seconds (default: run them all)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    os.environ["KFRONT_BACKEND"] = "cuda"  # the C++ op: on a GPU the default (auto) would name the Triton kernels
    if not torch.cuda.is_available() or backend("cuda") != "compiled":
        print(f"compiled CUDA op unavailable: {backend_reason('cuda')}")
        return 2
    failures = done = 0
    for dtype, batch, nstacks, log_n, nblocks, inc, case in CASES:
        if args.budget is not None and time.perf_counter() - start > args.budget:
            break
        done += 1
        t0 = time.perf_counter()
        env = {k: v for k, v in case.items() if k != "layout"}
        layout = case.get("layout", "")
        os.environ.update(env)
        try:
            gen = torch.Generator(device="cuda").manual_seed(log_n)
            n, kw = 1 << log_n, dict(dtype=dtype, device="cuda", generator=gen)
            tw = torch.randn(nstacks, nblocks, log_n, n // 2, 2, 2, **kw) / math.sqrt(2)
            x = torch.randn(batch, nstacks, n, **kw)
            grad = torch.randn(batch, nstacks, n, **kw)
            if layout == "offset":  # views one element past a 16-byte boundary
                x = torch.empty(x.numel() + 1, dtype=dtype, device="cuda")[1:].view(x.shape).copy_(x)
                grad = torch.empty(grad.numel() + 1, dtype=dtype, device="cuda")[1:].view(grad.shape).copy_(grad)
            perm = None
            if layout in ("real", "mapped", "mapped no d_x"):  # a real x with the complex twiddle
                x = x.real.contiguous()
            if layout.startswith("mapped"):  # rows of 25/32 of n, bit-reversed: the front-end's frames
                x, perm = x[..., : n * 25 // 32].contiguous(), bitreversal_permutation(n, device="cuda")
            input_grad = not layout.endswith("no d_x")
            out = torch.ops.kfront.butterfly_multiply(tw, x, inc, perm)
            dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, inc, input_grad, perm)
            torch.cuda.synchronize()
            wide = torch.complex128 if dtype.is_complex else torch.float64
            tw64 = tw.to(wide).requires_grad_()
            x64 = x.to(wide if x.is_complex() or not dtype.is_complex else torch.float64).requires_grad_()
            ref = butterfly_multiply_reference(tw64, x64, inc, perm)
            ref.backward(grad.to(wide))
            pairs = [(out, ref.detach()), (dtw, tw64.grad)] + ([(dx, x64.grad)] if input_grad else [])
            errs = [((a.to(b.dtype) - b).norm() / b.norm()).item() for a, b in pairs]
            tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
            ok = all(e <= tol for e in errs) and (input_grad or dx.numel() == 0)
            failures += not ok
            print(f"{str(dtype):16s} batch={batch} nstacks={nstacks} n={n} nblocks={nblocks} inc={inc} {case} "
                  f"errors={['%.2g' % e for e in errs]} {time.perf_counter() - t0:.1f} s {'ok' if ok else 'FAIL'}",
                  flush=True)
        finally:
            for k in env:
                del os.environ[k]
    ran = f"{done} of {len(CASES)} cases" + (" in the time given" if done < len(CASES) else "")
    print(f"PASSED ({ran})" if not failures else f"FAILED ({failures} of {ran})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
