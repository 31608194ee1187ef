"""The compiled CUDA butterfly op against cuFFT, a dense matmul (cuBLAS) and the pure-PyTorch reference, side by
side on one GPU, with the memory-bandwidth floor measured in the same run.

    python benchmarks/bench_butterfly_cuda.py                 # n in 256 512 1024 4096, 262144 frames
    python benchmarks/bench_butterfly_cuda.py --quick         # a smoke run: 4096 frames, 2 sizes
    python benchmarks/bench_butterfly_cuda.py --out results.md --sizes 512 1024 --no-variants

Per size n and dtype (complex64: a complex butterfly on complex frames, against torch.fft.fft and a dense complex
matmul; float32: a real butterfly on real frames, against torch.fft.rfft and a dense real matmul): frames x of
shape (frames, 1, n), one butterfly block of random twiddles (the DFT's structure: log2 n layers). Times are
medians of CUDA-event timings after warm-up. The floor is the bytes the forward must move (read x, write the
output, read the twiddles once) over the device-to-device copy bandwidth measured at the start of the run
(bytes read plus written). "fwd+bwd" is the forward op followed by the backward op (d_x and d_twiddle); "fwd+bwd,
no d_x" the same without d_x (a front-end's frames need none). The reference runs on fewer frames where its
per-layer intermediates would not fit and is scaled linearly (marked *). Relative errors are against the float64
reference on a subset of frames. A second table times other kernel configurations (VARIANTS, set through the
binding's environment knobs) at n = 512 and 1024. Targets (complex64, the default configuration, n = 512 and
1024): forward within 1.5x of the floor and within 1.5x of cuFFT, >= 5x faster than the dense complex matmul,
fwd+bwd <= 3x forward; every row's error <= 1e-5. Each is printed as the measured ratio beside its bound.

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
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kfront.core import backend, backend_reason, butterfly_multiply_reference  # noqa: E402

SIZES = (256, 512, 1024, 4096)
DTYPES = ("complex64", "float32")
FRAMES = 1 << 18
TARGET_SIZES = (512, 1024)
# (name, measured ratio of a row, bound): forward / floor, forward / cuFFT, dense / forward, (fwd+bwd) / forward.
TARGETS = (
    ("forward <= 1.5x bandwidth floor", lambda r: r["fwd_ms"] / r["floor_ms"], "<=", 1.5),
    ("forward <= 1.5x cuFFT", lambda r: r["fwd_ms"] / r["fft_ms"], "<=", 1.5),
    ("forward >= 5x faster than dense complex matmul", lambda r: r["dense_ms"] / r["fwd_ms"], ">=", 5.0),
    ("fwd+bwd <= 3x forward", lambda r: r["fwd_bwd_ms"] / r["fwd_ms"], "<=", 3.0),
)
REF_BYTES = 1 << 31  # largest (frames x n x 8 B) input the reference runs on; above that it is scaled
# Kernel configurations timed beside the defaults (label, nblocks, environment knobs of the CUDA binding),
# at the target sizes, to choose defaults from measurements.
VARIANTS = (
    ("two blocks (B B*, as in a K-matrix)", 2, {}),
    ("forward F=4", 1, {"KFRONT_CUDA_FWD_FRAMES": "4"}),
    ("backward F=2", 1, {"KFRONT_CUDA_BW_FRAMES": "2"}),
    ("backward F=4, 128 threads", 1, {"KFRONT_CUDA_BW_FRAMES": "4", "KFRONT_CUDA_BW_THREADS": "128"}),
    ("backward smem budget 100 KB", 1, {"KFRONT_CUDA_BW_SMEM_BYTES": str(100 * 1024)}),
)


@contextlib.contextmanager
def knobs(env: dict):
    """Set the binding's environment knobs for the duration of the block."""
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


def accuracy(tw, x, grad) -> dict:
    """Relative errors of out, d_x and d_twiddle against the float64 reference (on the given frames)."""
    wide = torch.complex128 if tw.is_complex() else torch.float64
    tw64 = tw.to(wide).requires_grad_()
    x64 = x.to(wide).requires_grad_()
    ref = butterfly_multiply_reference(tw64, x64, True)
    ref.backward(grad.to(wide))
    out = torch.ops.kfront.butterfly_multiply(tw, x, True)
    dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, True)
    return {"err_out": rel_err(out, ref.detach()), "err_dx": rel_err(dx, x64.grad),
            "err_dtw": rel_err(dtw, tw64.grad)}


def bench_size(n: int, frames: int, bandwidth: float, nblocks: int = 1, with_baselines: bool = True,
               dtype: str = "complex64") -> dict:
    log_n = n.bit_length() - 1
    gen = torch.Generator(device="cuda").manual_seed(n)
    kw = dict(dtype=getattr(torch, dtype), device="cuda")
    tw = torch.randn(1, nblocks, log_n, n // 2, 2, 2, generator=gen, **kw) / math.sqrt(2)
    x = torch.randn(frames, 1, n, generator=gen, **kw)
    grad = torch.randn(frames, 1, n, generator=gen, **kw)
    row = {"n": n, "dtype": dtype, "frames": frames, "nblocks": nblocks}
    elem = x.element_size()
    row["floor_ms"] = (2 * x.numel() * elem + tw.numel() * elem) / (bandwidth * 1e9) * 1e3
    op, op_bw = torch.ops.kfront.butterfly_multiply, torch.ops.kfront.butterfly_multiply_backward
    row["fwd_ms"] = cuda_time_ms(lambda: op(tw, x, True))
    row["fwd_bwd_ms"] = cuda_time_ms(lambda: (op(tw, x, True), op_bw(grad, tw, x, True)))
    row["fwd_bwd_no_dx_ms"] = cuda_time_ms(lambda: (op(tw, x, True), op_bw(grad, tw, x, True, False)))
    row["fwd_gbs"] = 2 * x.numel() * elem / (row["fwd_ms"] * 1e-3) / 1e9
    if with_baselines:
        xs = x.view(frames, n)
        fft = torch.fft.fft if x.is_complex() else torch.fft.rfft
        row["fft_ms"] = cuda_time_ms(lambda: fft(xs))
        dense = torch.randn(n, n, generator=gen, **kw)
        row["dense_ms"] = cuda_time_ms(lambda: xs @ dense, budget_s=1.0)
        del dense
        ref_frames = min(frames, max(1, REF_BYTES // (n * elem)))
        scale = frames / ref_frames
        xr = x[:ref_frames]
        row["ref_frames"] = ref_frames
        row["ref_fwd_ms"] = scale * cuda_time_ms(lambda: butterfly_multiply_reference(tw, xr, True), budget_s=1.0)
        twr, xrr = tw.clone().requires_grad_(), xr.clone().requires_grad_()
        gr = grad[:ref_frames]

        def ref_fwd_bwd():
            torch.autograd.grad(butterfly_multiply_reference(twr, xrr, True), (twr, xrr), gr)

        row["ref_fwd_bwd_ms"] = scale * cuda_time_ms(ref_fwd_bwd, budget_s=1.0)
        del twr, xrr
    sub = min(frames, 2048)
    row.update(accuracy(tw, x[:sub].contiguous(), grad[:sub].contiguous()))
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


def markdown(all_rows: list, meta: dict) -> str:
    rows = [r for r in all_rows if not r.get("variant")]
    lines = [f"# CUDA butterfly benchmark: {meta['gpu']}", "",
             f"torch {meta['torch']}, CUDA {meta['cuda']}, {meta['sms']} SMs; device-to-device copy bandwidth "
             f"{meta['copy_gbs']:.0f} GB/s (read + write), measured in this run. `{meta.get('command', '')}`",
             "Times in ms (CUDA events, medians); * reference scaled from fewer frames. cuFFT: torch.fft.fft "
             "(complex64) or rfft (float32); dense: x @ W with W (n, n) of the dtype.", "",
             "| n | dtype | blocks | frames | floor | fwd | fwd / floor | GB/s | fwd+bwd | (fwd+bwd) / fwd "
             "| fwd+bwd, no d_x | cuFFT | fwd / cuFFT | dense matmul | dense / fwd | reference fwd | ref / fwd "
             "| reference fwd+bwd | err out | err d_x | err d_tw |",
             "|" + "---|" * 21]
    for r in rows:
        star = "*" if r.get("ref_frames", r["frames"]) < r["frames"] else ""
        lines.append(
            f"| {r['n']} | {r.get('dtype', 'complex64')} | {r['nblocks']} | {r['frames']} | {_fmt(r['floor_ms'])} "
            f"| {_fmt(r['fwd_ms'])} | {_ratio(r, 'fwd_ms', 'floor_ms')} | {r['fwd_gbs']:.0f} "
            f"| {_fmt(r['fwd_bwd_ms'])} | {_ratio(r, 'fwd_bwd_ms', 'fwd_ms')} | {_fmt(r.get('fwd_bwd_no_dx_ms'))} "
            f"| {_fmt(r.get('fft_ms'))} | {_ratio(r, 'fwd_ms', 'fft_ms')} | {_fmt(r.get('dense_ms'))} "
            f"| {_ratio(r, 'dense_ms', 'fwd_ms')} | {_fmt(r.get('ref_fwd_ms'))}{star} | {_ratio(r, 'ref_fwd_ms', 'fwd_ms')} "
            f"| {_fmt(r.get('ref_fwd_bwd_ms'))}{star} | {_fmt(r['err_out'], 2)} | {_fmt(r['err_dx'], 2)} "
            f"| {_fmt(r['err_dtw'], 2)} |")
    variants = [r for r in all_rows if r.get("variant")]
    if variants:
        lines += ["", "Variants of the kernel configuration (same run, complex64, no baselines):", "",
                  "| variant | n | blocks | fwd | fwd / floor | fwd+bwd | (fwd+bwd) / fwd | fwd+bwd, no d_x "
                  "| worst error |", "|---|---|---|---|---|---|---|---|---|"]
        for r in variants:
            worst = max(r["err_out"], r["err_dx"], r["err_dtw"])
            lines.append(f"| {r['variant']} | {r['n']} | {r['nblocks']} | {_fmt(r['fwd_ms'])} "
                         f"| {_ratio(r, 'fwd_ms', 'floor_ms')} | {_fmt(r['fwd_bwd_ms'])} "
                         f"| {_ratio(r, 'fwd_bwd_ms', 'fwd_ms')} | {_fmt(r.get('fwd_bwd_no_dx_ms'))} "
                         f"| {_fmt(worst, 2)} |")
    lines += ["", "| target | n | measured | bound | pass |", "|---|---|---|---|---|"]
    for t in targets(all_rows):
        lines.append(f"| {t['target']} | {t['n']} | {t['measured']} | {t['bound']} | {'PASS' if t['pass'] else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def targets(rows: list) -> list:
    """The targets' measured ratios beside their bounds: complex64, one block, the default configuration, at the
    target sizes; the error bound for every row of the main table."""
    out = []
    for r in rows:
        if r.get("variant"):
            continue
        if r.get("dtype", "complex64") == "complex64" and r["nblocks"] == 1 and r["n"] in TARGET_SIZES:
            for name, ratio, op, bound in TARGETS:
                try:
                    value = ratio(r)
                except KeyError:  # a baseline that was not measured
                    continue
                ok = value <= bound if op == "<=" else value >= bound
                out.append({"target": name, "n": r["n"], "measured": f"{value:.2f}x", "bound": f"{op} {bound:g}x",
                            "pass": bool(ok)})
        worst = max(r["err_out"], r["err_dx"], r["err_dtw"])
        out.append({"target": f"relative error vs float64 <= 1e-5 ({r.get('dtype', 'complex64')}, "
                              f"{r['nblocks']} block{'s' if r['nblocks'] > 1 else ''})", "n": r["n"],
                    "measured": f"{worst:.2g}", "bound": "<= 1e-05", "pass": bool(worst <= 1e-5)})
    return out


def run_cuda_benchmark(sizes=SIZES, frames: int = FRAMES, out: str | os.PathLike | None = None,
                       variants: bool = True, log=print, dtypes=DTYPES, command: str = "") -> str:
    """Run the benchmark on the current CUDA device; returns the Markdown and writes it with a .json beside.

    ``out`` defaults to ``benchmarks/results/bench_butterfly_cuda_<gpu>.md``. ``variants`` adds the
    configurations of ``VARIANTS`` at the target sizes, without the baselines.
    """
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device")
    if backend("cuda") != "compiled":
        raise RuntimeError(f"compiled CUDA op unavailable: {backend_reason('cuda')}")
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    meta = {"gpu": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
            "cuda": torch.version.cuda, "command": command}
    meta["copy_gbs"] = copy_bandwidth_gbs()
    log(f"copy bandwidth {meta['copy_gbs']:.0f} GB/s")
    rows = []
    for dtype in dtypes:
        for n in sizes:
            rows.append(bench_size(n, frames, meta["copy_gbs"], dtype=dtype))
            log(json.dumps(rows[-1]))
    if variants:
        for label, nblocks, env in VARIANTS:
            for n in TARGET_SIZES:
                with knobs(env):
                    row = bench_size(n, frames, meta["copy_gbs"], nblocks=nblocks, with_baselines=False)
                row.update(variant=label, env=env)
                rows.append(row)
                log(json.dumps(row))
    text = markdown(rows, meta)
    path = Path(out) if out else ROOT / "benchmarks" / "results" / f"bench_butterfly_cuda_{gpu_slug(props.name)}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows, "targets": targets(rows)},
                                                    indent=1))
    return text


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--out", help="Markdown output (default benchmarks/results/bench_butterfly_cuda_<gpu>.md)")
    parser.add_argument("--no-variants", action="store_true", help="skip the table of kernel configurations")
    parser.add_argument("--quick", action="store_true", help="4096 frames, n = 256 and 1024, no variants")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.sizes, args.no_variants = 4096, [256, 1024], True
    command = "python benchmarks/bench_butterfly_cuda.py" + "".join(
        " " + a for a in (sys.argv[1:] if argv is None else argv))
    text = run_cuda_benchmark(args.sizes, args.frames, args.out, variants=not args.no_variants, dtypes=args.dtypes,
                              command=command)
    print(text)
    return text


if __name__ == "__main__":
    main()
