"""The MFCC's DCT learnable as a dense matrix or as a K-matrix (exact at init): time and parameters, side by side.

    python benchmarks/bench_dct.py                 # 10 x 10 s of 16 kHz audio -> results/bench_dct_cpu.md
    python benchmarks/bench_dct.py --quick         # a smoke test: 2 x 1 s, 1 repeat

Two tables. The DCT stage alone, on the log-mel rows of the audio's frames, for the mel/cepstrum sizes of the
conventions (SpeechBrain 23 -> 20, torchaudio and Kaldi 40 -> 13, Whisper-sized 80 -> 13, 128 -> 40): today's dense
learnable ``(n_mels, n_mfcc)`` matrix against ``kfront.core.constructions.dct(n_mels, n_mfcc)`` (width 2, the real
part of its output). Then the whole learnable MFCC front-end (``learn=("kmatrix", "dct")``, 40 mels, 13 MFCCs) with
each DCT. Rows are timed round-robin and reported as medians (the machines are shared); parameters are real numbers
(a complex entry counts 2).
"""
import argparse
import platform
import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import kfront  # noqa: E402
from _timing import fmt, module_jobs, publish, run_round_robin, timing_arguments  # noqa: E402
from kfront.core import backend, constructions  # noqa: E402
from kfront.frontend import functional as F  # noqa: E402

SR = 16000
FRONTEND = dict(sample_rate=SR, n_fft=512, win_length=400, hop_length=160)
SIZES = ((23, 20), (40, 13), (80, 13), (128, 40))


class DenseDCT(nn.Module):
    """``(..., n_mels) -> (..., n_mfcc)`` by a learnable matrix, initialised to the orthonormal DCT-II."""

    def __init__(self, n_mels: int, n_mfcc: int):
        super().__init__()
        self.weight = nn.Parameter(F.create_dct(n_mfcc, n_mels, torch.float32))  # (n_mels, n_mfcc)

    def forward(self, x):
        return x @ self.weight


class KMatrixDCT(nn.Module):
    """``(..., n_mels) -> (..., n_mfcc)`` by a K-matrix holding the orthonormal DCT-II; the real part."""

    def __init__(self, n_mels: int, n_mfcc: int):
        super().__init__()
        self.kmatrix = constructions.dct(n_mels, n_mfcc, dtype=torch.float32)

    def forward(self, x):
        return self.kmatrix(x).real


class LogMelThenDCT(nn.Module):
    """The learnable log-mel front-end followed by ``dct`` on its mel axis: ``(batch, time) -> (batch, n_mfcc,
    frames)``, the same features as ``KaleidoFrontend(output="mfcc")`` at init."""

    def __init__(self, dct: nn.Module, n_mels: int):
        super().__init__()
        self.logmel = kfront.KaleidoFrontend(output="fbank", n_mels=n_mels, **FRONTEND)
        self.dct = dct

    def forward(self, x):
        return self.dct(self.logmel(x).transpose(-1, -2)).transpose(-1, -2)


def stage_rows(args, x):
    """The DCT stage alone on log-mel rows ``(batch, frames, n_mels)`` for each size pair."""
    jobs, logmels = {}, {}
    for n_mels, n_mfcc in SIZES:
        frames = {**FRONTEND, "n_fft": 1024 if n_mels > 80 else 512}  # 128 filters need more than 257 bins
        fbank = kfront.KaleidoFrontend(output="fbank", n_mels=n_mels, learn="none", **frames)
        with torch.no_grad():
            logmels[n_mels] = fbank(x).transpose(-1, -2).contiguous()  # (batch, frames, n_mels)
        for name, module in (("dense", DenseDCT(n_mels, n_mfcc)), ("K-matrix", KMatrixDCT(n_mels, n_mfcc))):
            jobs[(n_mels, n_mfcc, name)] = module_jobs(module, logmels[n_mels])
    errors = {}
    for n_mels, n_mfcc in SIZES:
        with torch.no_grad():
            want = DenseDCT(n_mels, n_mfcc)(logmels[n_mels])
            got = KMatrixDCT(n_mels, n_mfcc)(logmels[n_mels])
        errors[(n_mels, n_mfcc)] = ((got - want).abs().max() / want.abs().max()).item()
    return run_round_robin(jobs, args.repeats, args.warmup), errors


def frontend_rows(args, x):
    jobs = {
        "KaleidoFrontend MFCC, dense DCT (today)": kfront.KaleidoFrontend(output="mfcc", learn=("kmatrix", "dct"),
                                                                          n_mels=40, **FRONTEND),
        "KaleidoFrontend log-mel + K-matrix DCT": LogMelThenDCT(KMatrixDCT(40, 13), 40),
    }
    with torch.no_grad():
        a, b = (m(x) for m in jobs.values())
    error = ((a - b).abs().max() / a.abs().max()).item()
    return run_round_robin({k: module_jobs(m, x) for k, m in jobs.items()}, args.repeats, args.warmup), error


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    timing_arguments(p, batch=10, repeats=7, warmup=2, threads=1)
    p.add_argument("--quick", action="store_true", help="smoke test: 2 x 1 s, 1 repeat")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_dct_cpu.md")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.seconds, args.repeats, args.warmup = 2, 1.0, 1, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, int(args.seconds * SR))  # (batch, time)
    stage, errors = stage_rows(args, x)
    whole, whole_error = frontend_rows(args, x)
    command = " ".join(["python benchmarks/bench_dct.py", *(sys.argv[1:] if argv is None else argv)])
    lines = [
        "# The MFCC's DCT: dense learnable matrix or K-matrix",
        "",
        f"`{command}`: {args.batch} x {args.seconds:g} s of 16 kHz audio, float32, medians of {args.repeats} "
        f"round-robin repeats after {args.warmup} warm-up; torch {torch.__version__}, {args.threads} thread(s), "
        f"{platform.machine()}, butterfly op: {backend('cpu')}.",
        "",
        "## The DCT stage alone (log-mel rows in, cepstra out)",
        "",
        "| n_mels -> n_mfcc | dense fwd ms | K-matrix fwd ms | K / dense | dense fwd+bwd ms | K-matrix fwd+bwd ms "
        "| K / dense | dense params | K-matrix params (width 2, size) | K-matrix vs dense at init |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n_mels, n_mfcc in SIZES:
        d, k = stage[(n_mels, n_mfcc, "dense")], stage[(n_mels, n_mfcc, "K-matrix")]
        size = constructions.dct(n_mels, n_mfcc).size
        lines.append(f"| {n_mels} -> {n_mfcc} | {d[0]:.2f} | {k[0]:.2f} | {k[0] / d[0]:.1f}x | {d[1]:.2f} | "
                     f"{k[1]:.2f} | {k[1] / d[1]:.1f}x | {d[2]} | {k[2]} ({size}) | "
                     f"{errors[(n_mels, n_mfcc)]:.1e} |")
    base = next(iter(whole.values()))
    lines += ["", "## The learnable MFCC front-end (40 mels, 13 MFCCs, learn=(\"kmatrix\", \"dct\"))", "",
              "| front-end | forward ms | ratio | fwd+bwd ms | ratio | learnable params (real) |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, (fwd, fb, params) in whole.items():
        lines.append(f"| {name} | {' | '.join(fmt(fwd, base[0]))} | {' | '.join(fmt(fb, base[0]))} | {params} |")
    lines += ["", f"Largest difference between the two front-ends' features at init, relative to the largest "
                  f"feature: {whole_error:.1e} (float32)."]
    text = "\n".join(lines) + "\n"
    publish(text, args.out)
    return text


if __name__ == "__main__":
    main()
