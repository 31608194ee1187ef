"""Speed of the butterfly op on CPU, side by side with the reference, dense matmuls and torch.fft.

For each size n, a batch of ``elements / n`` frames goes through: the compiled op, the pure-PyTorch reference,
a dense complex matmul (n x n), a dense real matmul (real frames @ the n x (n + 2) real DFT matrix, the
real-input case) and ``torch.fft.fft``; forward alone and forward + backward (gradients for the input and the
parameters). Calls are interleaved round by round, so noise from a shared machine hits every method alike, and
the median of the rounds is reported. Results go to a Markdown table and a JSON file.

A last section prices the exact DFT of a length N that is not a power of 2 (``--any-length``, default 400): the
length-N ``KMatrix`` (Bluestein's construction, one B B* of size next_power_of_2(2N - 1)) against
``torch.fft.fft`` at N and at the next power of 2 P, and against the Cooley-Tukey ``KMatrix`` of size P (the
module forward: padding, permutation and the op), on the same number of frames.

On a machine with a CUDA GPU (and the compiled CUDA op) a CUDA section follows: the kernel against cuFFT,
cuBLAS and the reference, timed with CUDA events, with the memory-bandwidth floor; it is
``benchmarks/bench_butterfly_cuda.py`` (also runnable alone) and writes
``benchmarks/results/bench_butterfly_cuda_<gpu>.md``. ``--cuda off`` skips it, ``--cuda on`` fails without a GPU.

    python benchmarks/bench_butterfly.py                      # -> benchmarks/results/bench_butterfly_cpu.md
    python benchmarks/bench_butterfly.py --quick --out /tmp/bench.md --cuda off
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from kfront.core import (KMatrix, backend, backend_reason, butterfly_multiply, butterfly_multiply_reference,
                         is_power_of_2, next_power_of_2, randn_twiddle)

METHODS = {"compiled": "compiled butterfly", "reference": "reference butterfly", "dense_complex": "dense complex",
           "dense_real": "dense real", "fft": "torch.fft.fft"}
MODES = ("fwd", "fwd+bwd")
ANY_METHODS = ("kmatrix_n", "kmatrix_p", "fft_n", "fft_p")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "bench_butterfly_cpu.md"


def make_calls(n: int, frames: int, dtype: torch.dtype, compiled: bool) -> dict:
    """{(method, mode): zero-argument callable} on fixed random data of ``frames`` frames of size ``n``."""
    gen = torch.Generator().manual_seed(n)
    real_dtype = torch.empty(0, dtype=dtype).real.dtype
    log_n = n.bit_length() - 1
    tw = randn_twiddle((1, 1, log_n, n // 2, 2, 2), dtype=dtype, generator=gen).requires_grad_()
    x = torch.randn(frames, 1, n, dtype=dtype, generator=gen).requires_grad_()  # (B, 1, n)
    x2 = x.detach().view(frames, n).requires_grad_()  # (B, n)
    w_complex = (torch.randn(n, n, dtype=dtype, generator=gen) / n ** 0.5).requires_grad_()
    x_real = torch.randn(frames, n, dtype=real_dtype, generator=gen).requires_grad_()
    w_real = (torch.randn(n, n + 2, dtype=real_dtype, generator=gen) / n ** 0.5).requires_grad_()
    g3, g2 = torch.randn_like(x.detach()), torch.randn_like(x2.detach())
    g_real = torch.randn(frames, n + 2, dtype=real_dtype, generator=gen)

    def fwd(fn, *args):
        def call():
            with torch.no_grad():
                fn(*args)
        return call

    def fwd_bwd(fn, args, grad):
        return lambda: torch.autograd.grad(fn(*args), args, grad)

    def reference(t, v):
        return butterfly_multiply_reference(t, v, True)

    calls = {}
    if compiled:  # first, so that its forward and forward + backward run back to back in every round
        calls[("compiled", "fwd")] = fwd(butterfly_multiply, tw, x)
        calls[("compiled", "fwd+bwd")] = fwd_bwd(butterfly_multiply, (tw, x), g3)
    calls.update({
        ("fft", "fwd"): fwd(torch.fft.fft, x2),
        ("fft", "fwd+bwd"): fwd_bwd(torch.fft.fft, (x2,), g2),
        ("dense_complex", "fwd"): fwd(torch.matmul, x2, w_complex),
        ("dense_complex", "fwd+bwd"): fwd_bwd(torch.matmul, (x2, w_complex), g2),
        ("dense_real", "fwd"): fwd(torch.matmul, x_real, w_real),
        ("dense_real", "fwd+bwd"): fwd_bwd(torch.matmul, (x_real, w_real), g_real),
        ("reference", "fwd"): fwd(reference, tw, x),
        ("reference", "fwd+bwd"): fwd_bwd(reference, (tw, x), g3),
    })
    return calls


def make_any_length_calls(n: int, frames: int, dtype: torch.dtype) -> dict:
    """{(method, mode): callable} for the length-``n`` DFT K-matrix, the power-of-2 one and ``torch.fft.fft``
    at both lengths, all on ``frames`` frames; gradients for the input and, for a K-matrix, its twiddle."""
    gen = torch.Generator().manual_seed(n)
    real_dtype = torch.empty(0, dtype=dtype).real.dtype
    p = next_power_of_2(n)
    calls = {}
    for method, size in (("kmatrix_n", n), ("kmatrix_p", p), ("fft_n", n), ("fft_p", p)):
        x = torch.randn(frames, size, dtype=dtype, generator=gen).requires_grad_()  # (B, size)
        grad = torch.randn(frames, size, dtype=dtype, generator=gen)
        if method.startswith("kmatrix"):
            fn = KMatrix(size, size, dtype=real_dtype)
            params = (fn.twiddle,)
        else:
            fn, params = torch.fft.fft, ()

        def fwd(fn=fn, x=x):
            with torch.no_grad():
                fn(x)
        calls[(method, "fwd")] = fwd
        calls[(method, "fwd+bwd")] = lambda fn=fn, x=x, g=grad, ps=params: torch.autograd.grad(fn(x), (*ps, x), g)
    return calls


def measure(calls: dict, repeats: int, warmup: int) -> dict:
    """Median seconds per call, calls interleaved round by round after ``warmup`` untimed rounds."""
    samples = {key: [] for key in calls}
    for round_ in range(warmup + repeats):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            if round_ >= warmup:
                samples[key].append(time.perf_counter() - start)
    return {key: {"median_s": statistics.median(v), "samples_s": v} for key, v in samples.items()}


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu": model, "logical_cpus": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "backend": backend("cpu"), "backend_reason": backend_reason("cpu"),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def targets(results: dict) -> list[tuple[str, str, float | None, bool | None]]:
    """The speed targets: (description, measured ratio text, value, passed); None where not measured."""
    def t(n, method, mode):
        r = results.get(n, {}).get((method, mode))
        return r["median_s"] if r else None

    rows = []

    def add(text, value, ok):
        rows.append((text, value, ok(value) if value is not None else None))

    c512, f512, d512 = t(512, "compiled", "fwd"), t(512, "fft", "fwd"), t(512, "dense_complex", "fwd")
    cb512, r512 = t(512, "compiled", "fwd+bwd"), t(512, "reference", "fwd")
    c4096, d4096 = t(4096, "compiled", "fwd"), t(4096, "dense_complex", "fwd")
    add("n=512: compiled fwd / torch.fft.fft fwd <= 3", c512 / f512 if c512 and f512 else None, lambda v: v <= 3)
    add("n=512: compiled fwd / dense complex fwd <= 0.5", c512 / d512 if c512 and d512 else None,
        lambda v: v <= 0.5)
    add("n=4096: dense complex fwd / compiled fwd >= 10", d4096 / c4096 if c4096 and d4096 else None,
        lambda v: v >= 10)
    add("n=512: compiled (fwd+bwd) / compiled fwd <= 3.5", cb512 / c512 if c512 and cb512 else None,
        lambda v: v <= 3.5)
    add("n=512: reference fwd / compiled fwd >= 10", r512 / c512 if c512 and r512 else None, lambda v: v >= 10)
    return rows


def markdown(results: dict, frames: dict, info: dict, args, target_rows) -> str:
    def ms(n, method, mode):
        r = results[n].get((method, mode))
        return f"{1e3 * r['median_s']:.1f}" if r else "n/a"

    def ratio(n, a, b, mode="fwd"):
        ra, rb = results[n].get(a if isinstance(a, tuple) else (a, mode)), results[n].get(
            b if isinstance(b, tuple) else (b, mode))
        return f"{ra['median_s'] / rb['median_s']:.2f}" if ra and rb else "n/a"

    sizes = sorted(results)
    lines = ["# Butterfly op on CPU: compiled kernel vs reference, dense matmul and FFT", "",
             f"Machine: {info['cpu']}, {info['logical_cpus']} logical CPUs, torch {info['torch']} "
             f"({info['torch_threads']} threads), Python {info['python']}; backend: {info['backend']}"
             + (f" ({info['backend_reason']})" if info["backend_reason"] else "") + ".",
             f"Run: {info['date']}, load average at start {info['load_average']}; dtype {args.dtype}, "
             f"~{args.elements:g} elements per call, median of {args.repeats} interleaved rounds after "
             f"{args.warmup} warm-up round(s).", "",
             f"Command: `{' '.join(['python benchmarks/bench_butterfly.py', *sys.argv[1:]])}`", ""]
    for mode in MODES:
        lines += [f"## Time per call, {mode} (ms)", "",
                  "| n | frames | " + " | ".join(METHODS.values()) + " |",
                  "|---:|---:|" + "---:|" * len(METHODS)]
        lines += [f"| {n} | {frames[n]} | " + " | ".join(ms(n, m, mode) for m in METHODS) + " |" for n in sizes]
        lines.append("")
    lines += ["## Ratios (same run)", "",
              "| n | compiled / fft (fwd) | compiled / dense complex (fwd) | compiled / dense real (fwd) | "
              "reference / compiled (fwd) | compiled / fft (fwd+bwd) | compiled fwd+bwd / fwd |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        lines.append(f"| {n} | {ratio(n, 'compiled', 'fft')} | {ratio(n, 'compiled', 'dense_complex')} | "
                     f"{ratio(n, 'compiled', 'dense_real')} | {ratio(n, 'reference', 'compiled')} | "
                     f"{ratio(n, 'compiled', 'fft', 'fwd+bwd')} | "
                     f"{ratio(n, ('compiled', 'fwd+bwd'), ('compiled', 'fwd'))} |")
    lines += ["", "## Parameters", "",
              "| n | butterfly (2 n log2 n complex) | dense complex (n^2 complex) | dense real (n (n+2) real) |",
              "|---:|---:|---:|---:|"]
    lines += [f"| {n} | {2 * n * (n.bit_length() - 1):,} | {n * n:,} | {n * (n + 2):,} |" for n in sizes]
    lines += ["", "## Targets", "", "| target | measured | result |", "|---|---:|---|"]
    for text, value, ok in target_rows:
        lines.append(f"| {text} | {'n/a' if value is None else f'{value:.2f}'} | "
                     f"{'not measured' if ok is None else 'PASS' if ok else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def any_length_markdown(results: dict, frames: dict) -> str:
    """The section on the exact DFT of a non-power-of-2 length: times (ms) and ratios, one row per mode."""
    lines = ["", "## Any length: the length-N DFT as a K-matrix (Bluestein) against torch.fft and the "
             "power-of-2 K-matrix (same run)", "",
             "K-matrix N: `KMatrix(N, N)`, one B B* of size M = next_power_of_2(2N - 1); K-matrix P: `KMatrix(P, P)`, "
             "P = next_power_of_2(N), Cooley-Tukey. Time per call (ms).", "",
             "| N | M | P | frames | mode | K-matrix N | K-matrix P | torch.fft.fft N | torch.fft.fft P | "
             "K-matrix N / fft N | K-matrix N / K-matrix P |",
             "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for n in sorted(results):
        m, p = KMatrix(n, n).size, next_power_of_2(n)
        for mode in MODES:
            t = {method: results[n][(method, mode)]["median_s"] for method in ANY_METHODS}
            times = " | ".join(f"{1e3 * t[method]:.1f}" for method in ANY_METHODS)
            lines.append(f"| {n} | {m} | {p} | {frames[n]} | {mode} | {times} | "
                         f"{t['kmatrix_n'] / t['fft_n']:.2f} | {t['kmatrix_n'] / t['kmatrix_p']:.2f} |")
    return "\n".join(lines) + "\n"


def _portable(path: Path) -> str:
    """A path as the results should record it: relative to the repository, else just its name."""
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return path.name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 4096])
    parser.add_argument("--any-length", type=int, nargs="*", default=[400],
                        help="DFT lengths N (not powers of 2) for the Bluestein section; none skips it")
    parser.add_argument("--elements", type=float, default=5e6, help="complex elements per call (frames x n)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--dtype", choices=["complex64", "complex128"], default="complex64")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown output; JSON goes next to it")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and batches: a smoke test (seconds)")
    parser.add_argument("--cuda", choices=["auto", "on", "off"], default="auto",
                        help="the CUDA section: when a GPU is present (auto), always (on: an error without one), never")
    args = parser.parse_args(argv)
    if args.cuda == "on" and not torch.cuda.is_available():
        parser.error("--cuda on: torch sees no CUDA device")
    if args.quick:
        args.sizes, args.elements, args.repeats, args.warmup, args.any_length = [16, 64], 4096, 2, 1, [12]
    for n in args.sizes:
        if n < 2 or not is_power_of_2(n):
            parser.error(f"--sizes must be powers of 2 >= 2, got {n}")
    for n in args.any_length:
        if n < 3 or is_power_of_2(n):
            parser.error(f"--any-length takes lengths >= 3 that are not powers of 2, got {n}")
    dtype = getattr(torch, args.dtype)

    info = machine()
    compiled = info["backend"] == "compiled"
    if not compiled:
        print(f"compiled op unavailable ({info['backend_reason']}): its columns stay empty", file=sys.stderr)
    results, frames = {}, {}
    for n in args.sizes:
        frames[n] = max(1, int(args.elements) // n)
        print(f"n={n}: {frames[n]} frames ...", file=sys.stderr, flush=True)
        results[n] = measure(make_calls(n, frames[n], dtype, compiled), args.repeats, args.warmup)
    any_results, any_frames = {}, {}
    for n in args.any_length:
        any_frames[n] = max(1, int(args.elements) // next_power_of_2(n))  # the same frames at N and at P
        print(f"N={n} (any length): {any_frames[n]} frames ...", file=sys.stderr, flush=True)
        any_results[n] = measure(make_any_length_calls(n, any_frames[n], dtype), args.repeats, args.warmup)
    target_rows = targets(results)
    text = markdown(results, frames, info, args, target_rows)
    if any_results:
        text += any_length_markdown(any_results, any_frames)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    payload = {"machine": info, "args": {k: _portable(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "results": {str(n): {f"{m}/{mode}": r for (m, mode), r in res.items()} for n, res in results.items()},
               "frames": {str(n): f for n, f in frames.items()},
               "any_length": {str(n): {"frames": any_frames[n], **{f"{m}/{mode}": r for (m, mode), r in res.items()}}
                              for n, res in any_results.items()},
               "targets": [{"target": t, "value": v, "passed": ok} for t, v, ok in target_rows]}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)
    if args.cuda != "off" and torch.cuda.is_available():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_butterfly_cuda import run_cuda_benchmark

        # --quick (and a custom --out) keep the smoke run away from the recorded GPU results
        quick = dict(sizes=(256, 1024), frames=4096, variants=False) if args.quick else {}
        out = None if args.out == DEFAULT_OUT else args.out.with_name(args.out.stem + "_cuda.md")
        print("\n" + run_cuda_benchmark(**quick, out=out, log=lambda line: print(line, file=sys.stderr, flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
