"""The front-ends of benchmarks/bench_frontend.py on a GPU, timed with CUDA events, side by side in one run.

    python benchmarks/gpu/bench_frontend_cuda.py                          # 64 x 10 s of 16 kHz audio
    python benchmarks/gpu/bench_frontend_cuda.py --batch 8 --seconds 2 --out /tmp/fe.md

The same modules as the CPU benchmark (its FRONTEND settings: 512-point frames of 400 samples every 160, 40 mels,
13 MFCCs), moved to the GPU: torchaudio's MFCC (kfront.MFCC, on cuFFT), KaleidoFrontend (the compiled CUDA
butterfly op when it builds) with and without the packed real input, and the dense learnable DFT. Medians of
CUDA-event timings after warm-up; ratios are to the torchaudio MFCC forward. Target: KaleidoFrontend
forward+backward <= 2x the torchaudio MFCC forward.
"""
import argparse
import importlib.util
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kfront  # noqa: E402
from kfront.core import backend  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cpu_bench = _load("bench_frontend")  # the front-ends and their jobs, defined once
cuda_time_ms = _load("bench_butterfly_cuda").cuda_time_ms

BASE = "torchaudio MFCC (kfront.MFCC)"


def rows_for(x: torch.Tensor) -> dict:
    """{name: (forward ms, forward+backward ms or None, learnable real parameters)} on x's device."""
    fe = cpu_bench.FRONTEND
    modules = {
        BASE: kfront.MFCC(**fe),
        f"KaleidoFrontend ({backend('cuda')} op)": cpu_bench.kaleido(),
        f"KaleidoFrontend real_input='packed' ({backend('cuda')} op)": cpu_bench.kaleido("packed"),
        "dense learnable DFT (512x514)": cpu_bench.DenseLearnableDFT(),
    }
    rows = {}
    for name, module in modules.items():
        fwd, fwd_bwd, params = cpu_bench.module_jobs(module.to(x.device), x)
        rows[name] = (cuda_time_ms(fwd), cuda_time_ms(fwd_bwd) if fwd_bwd else None, params)
    return rows


def report(rows: dict, meta: dict) -> str:
    base = rows[BASE][0]
    lines = [f"# Front-end speed (CUDA): {meta['gpu']}", "",
             f"`{meta['command']}`: {meta['batch']} x {meta['seconds']:g} s of 16 kHz audio ({meta['frames']} frames "
             f"of 512), 40 mels, 13 MFCCs; medians of CUDA-event timings; torch {torch.__version__}, CUDA "
             f"{torch.version.cuda}, {platform.machine()}. Ratios are to the torchaudio MFCC forward.", "",
             "| front-end | forward ms | forward ratio | fwd+bwd ms | fwd+bwd ratio | learnable params (real) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, (fwd, fb, params) in rows.items():
        fb_cells = ("-", "-") if fb is None else (f"{fb:.3g}", f"{fb / base:.2f}x")
        lines.append(f"| {name} | {fwd:.3g} | {fwd / base:.2f}x | {fb_cells[0]} | {fb_cells[1]} | {params} |")
    lines += ["", "| target | measured | bound | met |", "|---|---|---|---|"]
    for name, (fwd, fb, _) in rows.items():
        if name.startswith("KaleidoFrontend"):
            lines.append(f"| {name}: fwd+bwd <= 2x torchaudio MFCC forward | {fb / base:.2f}x | <= 2x "
                         f"| {'yes' if fb <= 2 * base else 'NO'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64, help="utterances per batch")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per utterance")
    p.add_argument("--out", type=Path, help="Markdown output (default: print only)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        p.error("no CUDA device")
    torch.manual_seed(0)
    x = torch.randn(args.batch, int(args.seconds * cpu_bench.SR), device="cuda")  # (batch, time)
    meta = {"gpu": torch.cuda.get_device_name(), "batch": args.batch, "seconds": args.seconds,
            "frames": args.batch * (1 + x.shape[-1] // cpu_bench.FRONTEND["hop_length"]),
            "command": "python benchmarks/gpu/bench_frontend_cuda.py" + "".join(
                " " + a for a in (sys.argv[1:] if argv is None else argv))}
    text = report(rows_for(x), meta)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()
