"""The butterfly op on one GPU: the Triton kernels and the CUDA C++ kernels side by side with cuFFT, a dense matmul
(cuBLAS), the pure-PyTorch reference and ``torch.compile`` of it, with the memory-bandwidth floor measured in the
same run.

    python benchmarks/bench_butterfly_cuda.py                 # n in 256 512 1024 4096, 262144 frames
    python benchmarks/bench_butterfly_cuda.py --quick         # a smoke run: 4096 frames, 2 sizes
    python benchmarks/bench_butterfly_cuda.py --out results.md --sizes 512 1024 --no-variants --impls triton

Per size n and input kind (complex64: a complex butterfly on complex frames, against torch.fft.fft and a dense
complex matmul; real-input: float32 frames into a complex64 butterfly, the front-end's case, against
torch.fft.rfft; float32: a real butterfly on real frames, against rfft and a dense real matmul): frames x of shape
(frames, 1, n), one butterfly block of random twiddles (the DFT's structure: log2 n layers). Times are medians of
CUDA-event timings after warm-up. The floor is the bytes the forward must move (read x, write the output, read the
twiddles once) over the device-to-device copy bandwidth measured at the start of the run (bytes read plus
written). "fwd+bwd" is the forward op followed by the backward op (d_x and d_twiddle; real input: d_twiddle only,
as a front-end's frames need no gradient); "no d_x" the same without d_x. Each implementation's first use of a
shape is timed too ("first use", seconds): for Triton it is the kernels' compilation, which a user waits for once
per shape and process (Triton caches compiled kernels on disk, so a second run of this script is faster). The
reference and its ``torch.compile`` run on fewer frames where their per-layer intermediates would not fit and are
scaled linearly (marked *). Relative errors are against the float64 reference on a subset of frames. A second
table times other configurations of both implementations (VARIANTS, through their environment knobs) at n = 512
and 1024 (Triton's mostly at 1024: each is a compilation). torch.compile of the reference runs at n = 512 and 1024,
complex64 (each shape is a compilation of its own). Targets (complex64, default configuration, n = 512 and 1024)
are printed as the measured ratio beside their bound; this run decides which implementation ``KFRONT_BACKEND=auto``
prefers on CUDA devices.

Importable: ``run_cuda_benchmark(...)`` returns the Markdown and writes it (and a .json of the raw numbers).
"""
import argparse
import contextlib
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kfront.core import _backend, _triton, butterfly_multiply_reference  # noqa: E402

SIZES = (256, 512, 1024, 4096)
KINDS = ("complex64", "real-input", "float32")
DEFAULT_KINDS = ("complex64", "real-input")
IMPLS = ("triton", "cuda")
FRAMES = 1 << 18
TARGET_SIZES = (512, 1024)
# Per implementation: (name, measured ratio of a row, comparison, bound), at the target sizes for complex64.
TARGETS = {
    "triton": (("forward <= 2x bandwidth floor", lambda r: r["triton_fwd_ms"] / r["floor_ms"], "<=", 2.0),
               ("forward <= 2x cuFFT", lambda r: r["triton_fwd_ms"] / r["fft_ms"], "<=", 2.0),
               ("fwd+bwd <= 3.5x forward", lambda r: r["triton_fwd_bwd_ms"] / r["triton_fwd_ms"], "<=", 3.5)),
    "cuda": (("forward <= 1.5x bandwidth floor", lambda r: r["cuda_fwd_ms"] / r["floor_ms"], "<=", 1.5),
             ("forward <= 1.5x cuFFT", lambda r: r["cuda_fwd_ms"] / r["fft_ms"], "<=", 1.5),
             ("forward >= 5x faster than dense complex matmul", lambda r: r["dense_ms"] / r["cuda_fwd_ms"], ">=", 5.0),
             ("fwd+bwd <= 3x forward", lambda r: r["cuda_fwd_bwd_ms"] / r["cuda_fwd_ms"], "<=", 3.0)),
}
REF_BYTES = 1 << 31  # largest (frames x n x 8 B) input the reference runs on; above that it is scaled
# Configurations timed beside the defaults (implementation, label, nblocks, environment knobs, sizes), without the
# baselines, to choose defaults from measurements. Each Triton configuration is a compilation per shape: n = 1024.
VARIANTS = (
    ("triton", "two blocks (B B*, as in a K-matrix)", 2, {}, TARGET_SIZES),
    ("triton", "forward tiles of 8192 elements", 1, {"KFRONT_TRITON_TILE": "8192"}, (1024,)),
    ("triton", "backward keeps 32768 values, 8 warps", 1, {"KFRONT_TRITON_BW_VALUES": "32768",
                                                         "KFRONT_TRITON_BW_WARPS": "8"}, (1024,)),
    ("triton", "backward: 8 programs per SM", 1, {"KFRONT_TRITON_BW_PROGRAMS": "8"}, (1024,)),
    ("cuda", "two blocks (B B*, as in a K-matrix)", 2, {}, TARGET_SIZES),
    ("cuda", "forward F=4", 1, {"KFRONT_CUDA_FWD_FRAMES": "4"}, TARGET_SIZES),
    ("cuda", "backward F=2", 1, {"KFRONT_CUDA_BW_FRAMES": "2"}, TARGET_SIZES),
    ("cuda", "backward F=4, 128 threads", 1, {"KFRONT_CUDA_BW_FRAMES": "4", "KFRONT_CUDA_BW_THREADS": "128"},
     TARGET_SIZES),
    ("cuda", "backward smem budget 100 KB", 1, {"KFRONT_CUDA_BW_SMEM_BYTES": str(100 * 1024)}, TARGET_SIZES),
)


@contextlib.contextmanager
def knobs(env: dict):
    """Set environment knobs for the duration of the block."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v


def gpu_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cuda_time_ms(fn, budget_s: float = 0.6, min_reps: int = 3, max_reps: int = 50) -> float:
    """Median time of ``fn()`` in ms, by CUDA events, after a warm-up call; as many repeats as fit the budget."""
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    first = start.elapsed_time(stop)
    reps = int(min(max_reps, max(min_reps, budget_s * 1e3 / max(first, 1e-3))))
    times = []
    for _ in range(reps):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def first_use_s(fn) -> float:
    """Wall time of a first call, compilation included."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def copy_bandwidth_gbs(nbytes: int = 1 << 31) -> float:
    """Device-to-device copy bandwidth in GB/s, counting bytes read plus bytes written."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").random_()
    dst = torch.empty_like(src)
    ms = cuda_time_ms(lambda: dst.copy_(src), budget_s=0.3)
    del src, dst
    return 2 * nbytes / (ms * 1e-3) / 1e9


def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    if got.isnan().any():
        return float("nan")
    return ((got.to(want.dtype) - want).norm() / want.norm()).item()


def available_impls(impls) -> dict:
    """{implementation: its torch.ops namespace} for those that run here; prints why the others do not."""
    out = {}
    for impl in impls:
        reason = _triton.unavailable() if impl == "triton" else (
            None if _backend.ensure_loaded("cuda") else _backend.backend_reason("cuda"))
        if reason is None:
            out[impl] = _triton.ops() if impl == "triton" else torch.ops.kfront
        else:
            print(f"{impl}: unavailable ({reason})")
    return out


def problem(n: int, frames: int, kind: str, nblocks: int = 1):
    """(twiddle, x, grad of the output) of one benchmark problem on the GPU."""
    log_n = n.bit_length() - 1
    gen = torch.Generator(device="cuda").manual_seed(n)
    tw_dtype = torch.float32 if kind == "float32" else torch.complex64
    x_dtype = torch.complex64 if kind == "complex64" else torch.float32
    tw = torch.randn(1, nblocks, log_n, n // 2, 2, 2, generator=gen, dtype=tw_dtype, device="cuda") / math.sqrt(2)
    x = torch.randn(frames, 1, n, generator=gen, dtype=x_dtype, device="cuda")
    grad = torch.randn(frames, 1, n, generator=gen, dtype=tw_dtype, device="cuda")
    return tw, x, grad


def accuracy(ops, tw, x, grad) -> dict:
    """Relative errors of out, d_x and d_twiddle against the float64 reference (on the given frames)."""
    wide = torch.complex128 if tw.is_complex() else torch.float64
    tw64 = tw.to(wide).requires_grad_()
    x64 = x.to(torch.complex128 if x.is_complex() else torch.float64).requires_grad_()
    ref = butterfly_multiply_reference(tw64, x64, True)
    ref.backward(grad.to(wide))
    out = ops.butterfly_multiply(tw, x, True)
    dtw, dx = ops.butterfly_multiply_backward(grad, tw, x, True)
    return {"err_out": rel_err(out, ref.detach()), "err_dx": rel_err(dx, x64.grad),
            "err_dtw": rel_err(dtw, tw64.grad)}


def time_impl(impl: str, ops, tw, x, grad) -> dict:
    """Forward, forward+backward (with and without d_x), first use and errors of one implementation."""
    op, op_bw = ops.butterfly_multiply, ops.butterfly_multiply_backward
    input_grad = not (tw.is_complex() and not x.is_complex())  # a real input (frames) needs no gradient
    row = {f"{impl}_first_s": first_use_s(lambda: (op(tw, x, True), op_bw(grad, tw, x, True, input_grad),
                                                   op_bw(grad, tw, x, True, False)))}
    row[f"{impl}_fwd_ms"] = cuda_time_ms(lambda: op(tw, x, True))
    row[f"{impl}_fwd_bwd_ms"] = cuda_time_ms(lambda: (op(tw, x, True), op_bw(grad, tw, x, True, input_grad)))
    row[f"{impl}_fwd_bwd_no_dx_ms"] = cuda_time_ms(lambda: (op(tw, x, True), op_bw(grad, tw, x, True, False)))
    sub = min(x.shape[0], 2048)
    row.update({f"{impl}_{k}": v for k, v in accuracy(ops, tw, x[:sub].contiguous(), grad[:sub].contiguous()).items()})
    return row


def time_baselines(tw, x, grad, compiled_reference: bool) -> dict:
    """cuFFT, the dense matmul, the reference and torch.compile of it (on fewer frames where it would not fit)."""
    frames, n = x.shape[0], x.shape[-1]
    row = {}
    xs = x.view(frames, n)
    fft = torch.fft.fft if x.is_complex() else torch.fft.rfft
    row["fft_ms"] = cuda_time_ms(lambda: fft(xs))
    dense = torch.randn(n, n, dtype=tw.dtype, device="cuda")
    xd = xs.to(tw.dtype)
    row["dense_ms"] = cuda_time_ms(lambda: xd @ dense, budget_s=1.0)
    del dense, xd
    ref_frames = min(frames, max(1, REF_BYTES // (n * tw.element_size())))
    scale, xr, gr = frames / ref_frames, x[:ref_frames], grad[:ref_frames]
    row["ref_frames"] = ref_frames
    twr = tw.clone().requires_grad_()

    def fwd_bwd(fn):
        return lambda: torch.autograd.grad(fn(twr, xr, True), (twr,), gr)

    row["ref_fwd_ms"] = scale * cuda_time_ms(lambda: butterfly_multiply_reference(tw, xr, True), budget_s=1.0)
    row["ref_fwd_bwd_ms"] = scale * cuda_time_ms(fwd_bwd(butterfly_multiply_reference), budget_s=1.0)
    if compiled_reference:
        compiled = torch.compile(butterfly_multiply_reference, dynamic=False)
        row["compiled_ref_first_s"] = first_use_s(fwd_bwd(compiled)) + first_use_s(lambda: compiled(tw, xr, True))
        row["compiled_ref_fwd_ms"] = scale * cuda_time_ms(lambda: compiled(tw, xr, True), budget_s=1.0)
        row["compiled_ref_fwd_bwd_ms"] = scale * cuda_time_ms(fwd_bwd(compiled), budget_s=1.0)
    return row


def bench_size(n: int, frames: int, bandwidth: float, impls: dict, kind: str = "complex64", nblocks: int = 1,
               with_baselines: bool = True, compiled_reference: bool = True) -> dict:
    tw, x, grad = problem(n, frames, kind, nblocks)
    row = {"n": n, "kind": kind, "frames": frames, "nblocks": nblocks}
    out_bytes = x.numel() * (8 if tw.is_complex() else 4)
    row["floor_ms"] = (x.numel() * x.element_size() + out_bytes + tw.numel() * tw.element_size()) / (
        bandwidth * 1e9) * 1e3
    for impl, ops in impls.items():
        row.update(time_impl(impl, ops, tw, x, grad))
    if with_baselines:
        row.update(time_baselines(tw, x, grad, compiled_reference))
    del tw, x, grad
    torch.cuda.empty_cache()
    return row


def _fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return f"{v:.{digits}g}"


def _ratio(r, num, den):
    return _fmt(r[num] / r[den]) if num in r and den in r else "-"


def _worst(r, impl):
    errors = [r.get(f"{impl}_{k}") for k in ("err_out", "err_dx", "err_dtw")]
    return max(errors) if all(e is not None for e in errors) else None


def markdown(all_rows: list, meta: dict) -> str:
    rows = sorted((r for r in all_rows if not r.get("variant")), key=lambda r: (KINDS.index(r["kind"]), r["n"]))
    impls = [i for i in IMPLS if any(f"{i}_fwd_ms" in r for r in all_rows)]
    lines = [f"# Butterfly op on CUDA: {meta['gpu']}", "",
             f"torch {meta['torch']}, CUDA {meta['cuda']}, Triton {meta.get('triton', '-')}, {meta['sms']} SMs; "
             f"device-to-device copy bandwidth {meta['copy_gbs']:.0f} GB/s (read + write), measured in this run. "
             f"`{meta.get('command', '')}`",
             "Times in ms (CUDA events, medians); first use in s (compilation included); * scaled from fewer "
             "frames. cuFFT: torch.fft.fft (complex64) or rfft (real frames); dense: x @ W, W (n, n) of the "
             "twiddle's dtype; compiled ref: torch.compile of the pure-PyTorch reference.", ""]
    for impl in impls:
        lines += [f"## {impl}", "",
                  "| n | kind | frames | floor | fwd | fwd / floor | fwd / cuFFT | fwd+bwd | (fwd+bwd) / fwd "
                  "| no d_x | first use (s) | worst error |", "|" + "---|" * 12]
        for r in rows:
            if f"{impl}_fwd_ms" not in r:
                continue
            lines.append(f"| {r['n']} | {r['kind']} | {r['frames']} | {_fmt(r['floor_ms'])} "
                         f"| {_fmt(r[f'{impl}_fwd_ms'])} | {_ratio(r, f'{impl}_fwd_ms', 'floor_ms')} "
                         f"| {_ratio(r, f'{impl}_fwd_ms', 'fft_ms')} | {_fmt(r[f'{impl}_fwd_bwd_ms'])} "
                         f"| {_ratio(r, f'{impl}_fwd_bwd_ms', f'{impl}_fwd_ms')} "
                         f"| {_fmt(r.get(f'{impl}_fwd_bwd_no_dx_ms'))} | {_fmt(r.get(f'{impl}_first_s'))} "
                         f"| {_fmt(_worst(r, impl), 2)} |")
        lines.append("")
    lines += ["## Baselines", "", "| n | kind | cuFFT | dense matmul | reference fwd | reference fwd+bwd "
              "| compiled ref fwd | compiled ref fwd+bwd | compiled ref first use (s) |", "|" + "---|" * 9]
    for r in rows:
        star = "*" if r.get("ref_frames", r["frames"]) < r["frames"] else ""
        lines.append(f"| {r['n']} | {r['kind']} | {_fmt(r.get('fft_ms'))} | {_fmt(r.get('dense_ms'))} "
                     f"| {_fmt(r.get('ref_fwd_ms'))}{star} | {_fmt(r.get('ref_fwd_bwd_ms'))}{star} "
                     f"| {_fmt(r.get('compiled_ref_fwd_ms'))}{star} | {_fmt(r.get('compiled_ref_fwd_bwd_ms'))}{star} "
                     f"| {_fmt(r.get('compiled_ref_first_s'))} |")
    variants = [r for r in all_rows if r.get("variant")]
    if variants:
        lines += ["", "Variants of the configurations (same run, complex64, no baselines):", "",
                  "| implementation | variant | n | blocks | fwd | fwd / floor | fwd+bwd | (fwd+bwd) / fwd | no d_x "
                  "| worst error |", "|" + "---|" * 10]
        for r in variants:
            impl = r["impl"]
            lines.append(f"| {impl} | {r['variant']} | {r['n']} | {r['nblocks']} | {_fmt(r[f'{impl}_fwd_ms'])} "
                         f"| {_ratio(r, f'{impl}_fwd_ms', 'floor_ms')} | {_fmt(r[f'{impl}_fwd_bwd_ms'])} "
                         f"| {_ratio(r, f'{impl}_fwd_bwd_ms', f'{impl}_fwd_ms')} "
                         f"| {_fmt(r.get(f'{impl}_fwd_bwd_no_dx_ms'))} | {_fmt(_worst(r, impl), 2)} |")
    lines += ["", "| implementation | target | n | measured | bound | pass |", "|---|---|---|---|---|---|"]
    for t in targets(all_rows):
        lines.append(f"| {t['impl']} | {t['target']} | {t['n']} | {t['measured']} | {t['bound']} "
                     f"| {'PASS' if t['pass'] else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def targets(rows: list) -> list:
    """The targets' measured ratios beside their bounds: complex64, one block, the default configuration, at the
    target sizes; the error bound (1e-5 against float64) for every row of the main tables."""
    out = []
    for r in rows:
        if r.get("variant"):
            continue
        for impl in IMPLS:
            if f"{impl}_fwd_ms" not in r:
                continue
            if r["kind"] == "complex64" and r["nblocks"] == 1 and r["n"] in TARGET_SIZES:
                for name, ratio, op, bound in TARGETS[impl]:
                    try:
                        value = ratio(r)
                    except KeyError:  # a baseline that was not measured
                        continue
                    ok = value <= bound if op == "<=" else value >= bound
                    out.append({"impl": impl, "target": name, "n": r["n"], "measured": f"{value:.2f}x",
                                "bound": f"{op} {bound:g}x", "pass": bool(ok)})
            worst = _worst(r, impl)
            out.append({"impl": impl, "target": f"relative error vs float64 <= 1e-5 ({r['kind']})", "n": r["n"],
                        "measured": f"{worst:.2g}", "bound": "<= 1e-05", "pass": bool(worst <= 1e-5)})
    return out


def run_cuda_benchmark(sizes=SIZES, frames: int = FRAMES, out: str | os.PathLike | None = None,
                       variants: bool = True, log=print, kinds=DEFAULT_KINDS, impls=IMPLS,
                       compiled_reference: bool = True, command: str = "") -> str:
    """Run the benchmark on the current CUDA device; returns the Markdown and writes it with a .json beside,
    rewritten after every row (the target sizes first).

    ``out`` defaults to ``benchmarks/results/bench_butterfly_cuda_<gpu>.md``. ``variants`` adds the
    configurations of ``VARIANTS`` at the target sizes, without the baselines.
    """
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device")
    runnable = available_impls(impls)
    if not runnable:
        raise RuntimeError(f"none of {tuple(impls)} is available on this machine")
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    meta = {"gpu": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
            "cuda": torch.version.cuda, "command": command, "impls": list(runnable)}
    if "triton" in runnable:
        import triton

        meta["triton"] = triton.__version__
    meta["copy_gbs"] = copy_bandwidth_gbs()
    log(f"copy bandwidth {meta['copy_gbs']:.0f} GB/s; implementations {list(runnable)}")
    path = Path(out) if out else ROOT / "benchmarks" / "results" / f"bench_butterfly_cuda_{gpu_slug(props.name)}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []

    def save(row) -> str:  # after every row: a run stopped by its deadline keeps what it measured
        rows.append(row)
        log(json.dumps(row))
        text = markdown(rows, meta)
        path.write_text(text)
        path.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows, "targets": targets(rows)},
                                                        indent=1))
        return text

    text = ""
    for kind in kinds:
        for n in sorted(sizes, key=lambda n: (n not in TARGET_SIZES, n)):  # the target sizes first
            text = save(bench_size(n, frames, meta["copy_gbs"], runnable, kind,  # torch.compile: one per shape
                                   compiled_reference=compiled_reference and n in TARGET_SIZES
                                   and kind == "complex64"))
    if variants:
        for impl, label, nblocks, env, variant_sizes in VARIANTS:
            if impl not in runnable:
                continue
            for n in variant_sizes:
                with knobs(env):
                    row = bench_size(n, frames, meta["copy_gbs"], {impl: runnable[impl]}, nblocks=nblocks,
                                     with_baselines=False)
                row.update(variant=label, impl=impl, env=env)
                text = save(row)
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--dtypes", "--kinds", dest="kinds", nargs="+", choices=KINDS, default=list(DEFAULT_KINDS),
                        help="input kinds (default: complex64 real-input)")
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS),
                        help="implementations to time (default: both; an unavailable one is left out)")
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--out", help="Markdown output (default benchmarks/results/bench_butterfly_cuda_<gpu>.md)")
    parser.add_argument("--no-variants", action="store_true", help="skip the table of configurations")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile of the reference")
    parser.add_argument("--quick", action="store_true", help="4096 frames, n = 256 and 1024, no variants")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.sizes, args.no_variants = 4096, [256, 1024], True
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    command = "python benchmarks/bench_butterfly_cuda.py" + "".join(
        " " + a for a in (sys.argv[1:] if argv is None else argv))
    text = run_cuda_benchmark(args.sizes, args.frames, args.out, variants=not args.no_variants, kinds=args.kinds,
                              impls=args.impls, compiled_reference=not args.no_compile, command=command)
    print(text)
    return text


if __name__ == "__main__":
    main()
