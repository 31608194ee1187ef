"""The compiled CUDA butterfly op against cuFFT, a dense complex matmul (cuBLAS) and the pure-PyTorch
reference, side by side on one GPU, with the memory-bandwidth floor measured in the same run.

    python benchmarks/bench_butterfly_cuda.py                 # n in 256 512 1024 4096, 262144 frames
    python benchmarks/bench_butterfly_cuda.py --quick         # a smoke run: 4096 frames, 2 sizes
    python benchmarks/bench_butterfly_cuda.py --out results.md

Per size n: complex64 frames x of shape (frames, 1, n), one butterfly block of random twiddles (the DFT's
structure: log2 n layers). Times are medians of CUDA-event timings after warm-up. The floor is the bytes the
forward must move (read x, write the output, read the twiddles once) over the device-to-device copy bandwidth
measured at the start of the run (bytes read plus written). "fwd+bwd" is the forward op followed by the
backward op (d_x and d_twiddle). The reference runs on fewer frames where its per-layer intermediates would
not fit and is scaled linearly (marked *). Relative errors are against the float64 reference on a subset of
frames. A second table times other kernel configurations (VARIANTS, set through the binding's environment
knobs) at n = 512 and 1024. Targets (pass/fail, default configuration): forward within 2x of the floor and
>= 5x faster than the dense complex matmul at n = 512 and 1024; fwd+bwd <= 3x forward; relative error <= 1e-5.

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

from kfront.core import _backend, butterfly_multiply_reference  # noqa: E402

SIZES = (256, 512, 1024, 4096)
FRAMES = 1 << 18
TARGET_SIZES = (512, 1024)
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
    tw64 = tw.to(torch.complex128).requires_grad_()
    x64 = x.to(torch.complex128).requires_grad_()
    ref = butterfly_multiply_reference(tw64, x64, True)
    ref.backward(grad.to(torch.complex128))
    out = torch.ops.kfront.butterfly_multiply(tw, x, True)
    dtw, dx = torch.ops.kfront.butterfly_multiply_backward(grad, tw, x, True)
    return {"err_out": rel_err(out, ref.detach()), "err_dx": rel_err(dx, x64.grad),
            "err_dtw": rel_err(dtw, tw64.grad)}


def bench_size(n: int, frames: int, bandwidth: float, nblocks: int = 1, with_baselines: bool = True) -> dict:
    log_n = n.bit_length() - 1
    gen = torch.Generator(device="cuda").manual_seed(n)
    kw = dict(dtype=torch.complex64, device="cuda")
    tw = torch.randn(1, nblocks, log_n, n // 2, 2, 2, generator=gen, **kw) / math.sqrt(2)
    x = torch.randn(frames, 1, n, generator=gen, **kw)
    grad = torch.randn(frames, 1, n, generator=gen, **kw)
    row = {"n": n, "frames": frames, "nblocks": nblocks}
    elem = x.element_size()
    row["floor_ms"] = (2 * x.numel() * elem + tw.numel() * elem) / (bandwidth * 1e9) * 1e3
    op, op_bw = torch.ops.kfront.butterfly_multiply, torch.ops.kfront.butterfly_multiply_backward
    row["fwd_ms"] = cuda_time_ms(lambda: op(tw, x, True))
    row["fwd_bwd_ms"] = cuda_time_ms(lambda: (op(tw, x, True), op_bw(grad, tw, x, True)))
    row["fwd_gbs"] = 2 * x.numel() * elem / (row["fwd_ms"] * 1e-3) / 1e9
    if with_baselines:
        xs = x.view(frames, n)
        row["fft_ms"] = cuda_time_ms(lambda: torch.fft.fft(xs))
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


def markdown(all_rows: list, meta: dict) -> str:
    rows = [r for r in all_rows if not r.get("variant")]
    lines = [f"# CUDA butterfly benchmark: {meta['gpu']}", "",
             f"torch {meta['torch']}, CUDA {meta['cuda']}, {meta['sms']} SMs; complex64; "
             f"device-to-device copy bandwidth {meta['copy_gbs']:.0f} GB/s (read + write), measured in this run.",
             "Times in ms (CUDA events, medians); * reference scaled from fewer frames.", "",
             "| n | blocks | frames | floor | fwd | fwd / floor | GB/s | fwd+bwd | (fwd+bwd) / fwd | cuFFT | fwd / cuFFT "
             "| dense matmul | dense / fwd | reference fwd | ref / fwd | reference fwd+bwd | err out | err d_x | err d_tw |",
             "|" + "---|" * 19]
    for r in rows:
        star = "*" if r.get("ref_frames", r["frames"]) < r["frames"] else ""
        lines.append(
            f"| {r['n']} | {r['nblocks']} | {r['frames']} | {_fmt(r['floor_ms'])} | {_fmt(r['fwd_ms'])} "
            f"| {_fmt(r['fwd_ms'] / r['floor_ms'])} | {r['fwd_gbs']:.0f} | {_fmt(r['fwd_bwd_ms'])} "
            f"| {_fmt(r['fwd_bwd_ms'] / r['fwd_ms'])} | {_fmt(r.get('fft_ms'))} "
            f"| {_fmt(r['fwd_ms'] / r['fft_ms']) if 'fft_ms' in r else '-'} | {_fmt(r.get('dense_ms'))} "
            f"| {_fmt(r['dense_ms'] / r['fwd_ms']) if 'dense_ms' in r else '-'} "
            f"| {_fmt(r.get('ref_fwd_ms'))}{star} | {_fmt(r['ref_fwd_ms'] / r['fwd_ms']) if 'ref_fwd_ms' in r else '-'} "
            f"| {_fmt(r.get('ref_fwd_bwd_ms'))}{star} | {_fmt(r['err_out'], 2)} | {_fmt(r['err_dx'], 2)} "
            f"| {_fmt(r['err_dtw'], 2)} |")
    variants = [r for r in all_rows if r.get("variant")]
    if variants:
        lines += ["", "Variants of the kernel configuration (same run, no baselines):", "",
                  "| variant | n | blocks | fwd | fwd / floor | fwd+bwd | (fwd+bwd) / fwd | worst error |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in variants:
            worst = max(r["err_out"], r["err_dx"], r["err_dtw"])
            lines.append(f"| {r['variant']} | {r['n']} | {r['nblocks']} | {_fmt(r['fwd_ms'])} "
                         f"| {_fmt(r['fwd_ms'] / r['floor_ms'])} | {_fmt(r['fwd_bwd_ms'])} "
                         f"| {_fmt(r['fwd_bwd_ms'] / r['fwd_ms'])} | {_fmt(worst, 2)} |")
    lines += ["", "| target | n | measured | pass |", "|---|---|---|---|"]
    for t in targets(all_rows):
        lines.append(f"| {t['target']} | {t['n']} | {t['measured']} | {'PASS' if t['pass'] else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def targets(rows: list) -> list:
    out = []
    for r in rows:
        if r["nblocks"] != 1 or r.get("variant"):
            continue
        if r["n"] in TARGET_SIZES:
            ratio = r["fwd_ms"] / r["floor_ms"]
            out.append({"target": "forward <= 2x bandwidth floor", "n": r["n"], "measured": f"{ratio:.2f}x",
                        "pass": ratio <= 2})
            if "dense_ms" in r:
                speed = r["dense_ms"] / r["fwd_ms"]
                out.append({"target": "forward >= 5x faster than dense complex matmul", "n": r["n"],
                            "measured": f"{speed:.1f}x", "pass": speed >= 5})
        ratio = r["fwd_bwd_ms"] / r["fwd_ms"]
        out.append({"target": "fwd+bwd <= 3x forward", "n": r["n"], "measured": f"{ratio:.2f}x", "pass": ratio <= 3})
        worst = max(r["err_out"], r["err_dx"], r["err_dtw"])
        out.append({"target": "relative error <= 1e-5 (float32)", "n": r["n"], "measured": f"{worst:.2g}",
                    "pass": bool(worst <= 1e-5)})
    return out


def run_cuda_benchmark(sizes=SIZES, frames: int = FRAMES, out: str | os.PathLike | None = None,
                       variants: bool = True, log=print) -> str:
    """Run the benchmark on the current CUDA device; returns the Markdown and writes it with a .json beside.

    ``out`` defaults to ``benchmarks/results/bench_butterfly_cuda_<gpu>.md``. ``variants`` adds the
    configurations of ``VARIANTS`` at the target sizes, without the baselines.
    """
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device")
    if not _backend.ensure_loaded("cuda"):
        raise RuntimeError(f"compiled CUDA op unavailable: {_backend.backend_reason('cuda')}")
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    meta = {"gpu": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
            "cuda": torch.version.cuda}
    meta["copy_gbs"] = copy_bandwidth_gbs()
    log(f"copy bandwidth {meta['copy_gbs']:.0f} GB/s")
    rows = []
    for n in sizes:
        rows.append(bench_size(n, frames, meta["copy_gbs"]))
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
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--out", help="Markdown output (default benchmarks/results/bench_butterfly_cuda_<gpu>.md)")
    parser.add_argument("--quick", action="store_true", help="4096 frames, n = 256 and 1024, no variants")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.sizes = 4096, [256, 1024]
    text = run_cuda_benchmark(args.sizes, args.frames, args.out, variants=not args.quick)
    print(text)
    return text


if __name__ == "__main__":
    main()
