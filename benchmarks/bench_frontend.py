"""Speed and size of the learnable front-end against fixed and dense-learnable baselines, side by side.

    python benchmarks/bench_frontend.py                # 10 x 10 s of 16 kHz audio -> results/bench_frontend_cpu.md
    python benchmarks/bench_frontend.py --device cuda  # the same on a GPU -> results/bench_frontend_cuda.md
    python benchmarks/bench_frontend.py --quick        # a smoke test: 2 x 1 s, 1 repeat, no librosa

Rows: torchaudio's own ``transforms.MFCC`` (the baseline), kfront's fixed twin (``kfront.MFCC``) and the same fixed
pipeline written lean (``torch.stft``, re^2 + im^2); KaleidoFrontend on the compiled butterfly op, on the
pure-PyTorch reference (a subprocess with KFRONT_BACKEND=reference, CPU only) and with real_input="packed" (the
real-FFT packing trick); librosa's MFCC (CPU, forward only, after a warm-up that absorbs numba's compilation); a
dense learnable DFT (a real 512 x 514 matrix applied to the frames, then power / mel / log / DCT: the approach of
trainable-STFT libraries); nnAudio's trainable MFCC when it is installed. Every front-end computes 13 MFCCs from 40
mel bands. A second table prices exactness at a frame size that is not a power of 2: n_fft = 400 (the length-400
DFT K-matrix, Bluestein) against torchaudio's MFCC at 400 and the same front-end at 512. The machines are shared, so
the rows of one process are timed round-robin (each repeat times every row once) and reported as medians; ratios are
to the torchaudio MFCC forward of the same table. Parameter counts are real numbers (a complex entry counts 2).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import kfront  # noqa: E402
from _timing import fmt, module_jobs, publish, run_round_robin, timing_arguments  # noqa: E402
from kfront.core import backend  # noqa: E402
from kfront.frontend import functional as F  # noqa: E402

SR = 16000
FRONTEND = dict(sample_rate=SR, n_fft=512, win_length=400, hop_length=160, n_mels=40)
BASE = "torchaudio MFCC (torchaudio.transforms.MFCC)"
DENSE = "dense learnable DFT (512x514)"


class DenseLearnableDFT(torch.nn.Module):
    """The trainable-STFT approach: a dense real (n_fft, 2 n_freqs) matrix, init the windowed DFT."""

    def __init__(self, n_mfcc: int = 13):
        super().__init__()
        n_fft, n_freqs = FRONTEND["n_fft"], FRONTEND["n_fft"] // 2 + 1
        window = F.pad_window(torch.hamming_window(FRONTEND["win_length"], dtype=torch.float64), n_fft)
        dft = torch.fft.rfft(torch.eye(n_fft, dtype=torch.float64), dim=0) * window  # (n_freqs, n_fft)
        self.weight = torch.nn.Parameter(torch.cat((dft.real, dft.imag)).t().float().contiguous())  # (n_fft, 2 nf)
        self.register_buffer("fb", F.mel_filterbank(n_freqs, 0.0, SR / 2, FRONTEND["n_mels"], SR, torch.float32))
        self.register_buffer("dct", F.create_dct(n_mfcc, FRONTEND["n_mels"], torch.float32))
        self.n_freqs = n_freqs

    def forward(self, x):
        frames = F.frame(F.center_pad(x, FRONTEND["n_fft"]), FRONTEND["n_fft"], FRONTEND["hop_length"])
        y = frames @ self.weight  # (..., frames, 2 n_freqs)
        power = y[..., :self.n_freqs].square() + y[..., self.n_freqs:].square()
        return F.power_to_features(power, self.fb, 1e-6, self.dct)


class LeanFixedMFCC(torch.nn.Module):
    """The fixed pipeline with ``torch.stft`` and re^2 + im^2 (no complex ``abs().pow(2)``)."""

    def __init__(self, n_mfcc: int = 13):
        super().__init__()
        self.register_buffer("window", torch.hamming_window(FRONTEND["win_length"]))
        n_freqs = FRONTEND["n_fft"] // 2 + 1
        self.register_buffer("fb", F.mel_filterbank(n_freqs, 0.0, SR / 2, FRONTEND["n_mels"], SR, torch.float32))
        self.register_buffer("dct", F.create_dct(n_mfcc, FRONTEND["n_mels"], torch.float32))

    def forward(self, x):
        spec = torch.stft(x, FRONTEND["n_fft"], FRONTEND["hop_length"], FRONTEND["win_length"], self.window,
                          center=True, pad_mode="reflect", return_complex=True)  # (..., n_freqs, frames)
        power = torch.view_as_real(spec).square().sum(-1).transpose(-1, -2)  # (..., frames, n_freqs)
        return F.power_to_features(power, self.fb, 1e-6, self.dct)


def torchaudio_mfcc(n_fft: int, win_length: int):
    """torchaudio's own MFCC with kfront's settings (Hamming window, HTK mel, log(mel + 1e-6)), or ``None``."""
    try:
        import torchaudio
    except ImportError:
        return None
    melkwargs = dict(n_fft=n_fft, win_length=win_length, hop_length=FRONTEND["hop_length"], n_mels=FRONTEND["n_mels"],
                     window_fn=torch.hamming_window, mel_scale="htk")
    return torchaudio.transforms.MFCC(SR, n_mfcc=13, log_mels=True, melkwargs=melkwargs)


def kaleido(real_input="complex", **overrides):
    return kfront.KaleidoFrontend(output="mfcc", real_input=real_input, **{**FRONTEND, **overrides})


def librosa_jobs(x):
    try:
        import librosa
    except ImportError:
        return None
    y = x.cpu().numpy()
    kw = dict(sr=SR, n_mfcc=13, n_fft=512, hop_length=160, win_length=400, window="hamming", n_mels=40,
              htk=True, center=True, pad_mode="reflect")
    librosa.feature.mfcc(y=y[..., :SR], **kw)  # numba compilation, outside the timing
    return (lambda: librosa.feature.mfcc(y=y, **kw)), None, 0


def nnaudio_jobs(x):
    try:
        from nnAudio import features
    except ImportError:
        return None
    mfcc = features.MFCC(sr=SR, n_mfcc=13, n_fft=512, hop_length=160, win_length=400, window="hamming",
                         n_mels=40, trainable_mel=True, trainable_STFT=True).to(x.device)
    return module_jobs(mfcc, x)


def on(module, device):
    return None if module is None else module.to(device)


def worker(args) -> None:
    """Time the default KaleidoFrontend in this process and print it as JSON (for the reference backend)."""
    torch.manual_seed(0)
    x = torch.randn(args.batch, int(args.seconds * SR))
    row = run_round_robin({"k": module_jobs(kaleido(), x)}, args.repeats, args.warmup)["k"]
    print(json.dumps({"forward": row[0], "forward_backward": row[1], "params": row[2], "backend": backend("cpu")}))


def reference_row(args):
    env = {**os.environ, "KFRONT_BACKEND": "reference"}
    cmd = [sys.executable, __file__, "--worker", "--batch", str(args.batch), "--seconds", str(args.seconds),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    if row["backend"] != "reference":
        raise RuntimeError(f"the worker ran on {row['backend']!r}, not the reference")
    return row["forward"], row["forward_backward"], row["params"]


def table(rows: dict, base_name: str) -> list[str]:
    base = rows[base_name][0]
    lines = ["| front-end | forward ms | forward ratio | fwd+bwd ms | fwd+bwd ratio | learnable params (real) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        if row is None:
            why = "not installed" if name.startswith("nnAudio") else "skipped"
            lines.append(f"| {name} | {why} | | | | |")
            continue
        fwd, fb, params = row
        lines.append(f"| {name} | {' | '.join(fmt(fwd, base))} | {' | '.join(fmt(fb, base))} | {params} |")
    return lines


def main_rows(args, x, op):
    k_name, p_name = f"KaleidoFrontend ({op} op)", f"KaleidoFrontend real_input='packed' ({op} op)"
    cpu = args.device == "cpu"
    jobs = {
        BASE: module_jobs(on(torchaudio_mfcc(512, 400), args.device), x),
        "fixed twin (kfront.MFCC, torch.fft)": module_jobs(kfront.MFCC(**FRONTEND).to(args.device), x),
        "fixed MFCC, lean (torch.stft, re^2 + im^2)": module_jobs(LeanFixedMFCC().to(args.device), x),
        k_name: module_jobs(kaleido().to(args.device), x),
        p_name: module_jobs(kaleido("packed").to(args.device), x),
        DENSE: module_jobs(DenseLearnableDFT().to(args.device), x),
        "librosa MFCC": None if args.no_librosa or not cpu else librosa_jobs(x),
        "nnAudio MFCC (trainable)": nnaudio_jobs(x),
    }
    rows = run_round_robin(jobs, args.repeats, args.warmup, args.device)
    if cpu:
        rows["KaleidoFrontend (reference, separate process)"] = None if args.no_reference else reference_row(args)
    base, dense = rows[BASE][0], rows[DENSE]
    checks = []
    for label, (fwd, fb, params) in (("KaleidoFrontend", rows[k_name]), ("packed", rows[p_name])):
        checks += [
            (f"{label}: forward <= 2x torchaudio MFCC forward", fwd <= 2 * base, f"{fwd / base:.2f}x"),
            (f"{label}: fwd+bwd <= 6x torchaudio MFCC forward", fb <= 6 * base, f"{fb / base:.2f}x"),
            (f"{label}: fwd+bwd faster than the dense learnable DFT", fb < dense[1], f"{fb:.1f} vs {dense[1]:.1f} ms"),
            (f"{label}: >= 10x fewer learnable parameters than the dense DFT", dense[2] >= 10 * params,
             f"{dense[2] / params:.1f}x ({params} vs {dense[2]})"),
        ]
    if not cpu:
        fb = rows[k_name][1]
        checks.append(("KaleidoFrontend: fwd+bwd <= 2x torchaudio MFCC forward (on the GPU)", fb <= 2 * base,
                       f"{fb / base:.2f}x"))
    return rows, checks


def any_length_rows(args, x, op):
    """n_fft = 400: the price of the exact length-400 DFT against torchaudio at 400 and the front-end at 512."""
    base_name = "torchaudio MFCC, n_fft=400"
    at_400 = dict(n_fft=400, win_length=400)
    jobs = {
        base_name: module_jobs(on(torchaudio_mfcc(400, 400), args.device), x),
        "fixed twin (kfront.MFCC), n_fft=400": module_jobs(kfront.MFCC(**{**FRONTEND, **at_400}).to(args.device), x),
        f"KaleidoFrontend n_fft=400 (Bluestein, size 1024; {op} op)": module_jobs(kaleido(**at_400).to(args.device), x),
        f"KaleidoFrontend n_fft=400 packed (size 512; {op} op)": module_jobs(kaleido("packed", **at_400).to(args.device),
                                                                            x),
        f"KaleidoFrontend n_fft=512 ({op} op)": module_jobs(kaleido().to(args.device), x),
    }
    rows = run_round_robin(jobs, args.repeats, args.warmup, args.device)
    base = rows[base_name][0]
    fwd, fb, _ = rows[f"KaleidoFrontend n_fft=400 (Bluestein, size 1024; {op} op)"]
    checks = [("n_fft=400: KaleidoFrontend forward <= 2x torchaudio MFCC forward at 400", fwd <= 2 * base,
               f"{fwd / base:.2f}x"),
              ("n_fft=400: KaleidoFrontend fwd+bwd <= 5x torchaudio MFCC forward at 400", fb <= 5 * base,
               f"{fb / base:.2f}x")]
    return rows, base_name, checks


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    timing_arguments(p, batch=10, repeats=7, warmup=2)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where every row runs")
    p.add_argument("--no-librosa", action="store_true", help="skip librosa")
    p.add_argument("--no-reference", action="store_true", help="skip the reference-backend subprocess")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 x 1 s, 1 repeat, no librosa")
    p.add_argument("--out", type=Path, default=None,
                   help="Markdown output (default: benchmarks/results/bench_frontend_<device>.md)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.seconds, args.repeats, args.warmup, args.no_librosa = 2, 1.0, 1, 1, True
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible to torch")
    out = args.out or Path(__file__).parent / "results" / f"bench_frontend_{args.device}.md"
    torch.set_num_threads(args.threads)
    if args.worker:
        return worker(args)

    load = os.getloadavg()[0]
    torch.manual_seed(0)
    x = torch.randn(args.batch, int(args.seconds * SR), device=args.device)  # (batch, time)
    n_frames = args.batch * (1 + x.shape[-1] // FRONTEND["hop_length"])
    op = backend(args.device)
    rows, checks = main_rows(args, x, op)
    rows_400, base_400, checks_400 = any_length_rows(args, x, op)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{args.threads} thread(s), {platform.machine()}"
    command = " ".join(["python benchmarks/bench_frontend.py", *(sys.argv[1:] if argv is None else argv)])
    lines = [
        f"# Front-end speed ({args.device.upper()})",
        "",
        f"`{command}`: {args.batch} x {args.seconds:g} s of 16 kHz audio ({n_frames} frames), 40 mels, 13 MFCCs; "
        f"medians of {args.repeats} round-robin repeats after {args.warmup} warm-up; torch {torch.__version__}, "
        f"{where}, load average {load:.1f} at the start (the machine is shared). Ratios are to the torchaudio MFCC "
        "forward of the same table.",
        "",
        *table(rows, BASE),
        "",
        "## Any frame size: n_fft = 400",
        "",
        *table(rows_400, base_400),
        "",
        f"Butterfly backend: {op}.",
        "",
        "| target | met | measured |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {'yes' if ok else 'NO'} | {value} |" for name, ok, value in checks + checks_400]
    text = "\n".join(lines) + "\n"
    return publish(text, out)


if __name__ == "__main__":
    main()
