"""Each toolkit convention's KaleidoFrontend against that toolkit's own extractor, on the same audio, side by side.

    python benchmarks/bench_toolkits.py            # 8 x 10 s of 16 kHz audio (Whisper: padded to 30 s), CPU
    python benchmarks/bench_toolkits.py --quick    # a smoke test: 2 x 1 s, 1 repeat
    python benchmarks/bench_toolkits.py --threads 1 --out benchmarks/results/bench_toolkits_cpu_1thread.md

For every convention: the package's extractor(s) forward (kaldi-native-fbank and torchaudio.compliance.kaldi for
Kaldi, one utterance per call as they take them; WhisperFeatureExtractor's torch and NumPy paths on the batch padded
to 30 s; SpeechBrain's Fbank / MFCC and ESPnet2's DefaultFrontend on the padded batch), kfront's fixed twin, and
``KaleidoFrontend(convention=...)`` forward and forward+backward on the batch, with real frames taken as complex
(the default) and packed (``real_input="packed"``). kaldi-native-fbank runs one C++
thread whatever ``--threads`` says; compare it with the ``--threads 1`` table. Targets, against each package
extractor of the same convention: KaleidoFrontend forward no slower than it, forward+backward <= 3x it. Timing is
round-robin (every repeat times every row once), medians reported; the machines are shared.
"""
import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import kfront  # noqa: E402
from _timing import fmt, module_jobs, publish, run_round_robin, timing_arguments  # noqa: E402

SR = 16000
WHISPER_SAMPLES = 30 * SR


def _no_grad(fn):
    def call():
        with torch.no_grad():
            fn()
    return call


def kaldi_package_jobs(waves: list, output: str) -> dict:
    """kaldi-native-fbank and torchaudio.compliance.kaldi, one utterance per call (their interface), dither off."""
    jobs = {}
    try:
        import kaldi_native_fbank as knf
    except ImportError:
        knf = None
    if knf is not None:
        arrays = [w.numpy().astype(np.float32) for w in waves]

        def run_knf():
            for a in arrays:
                opts = knf.FbankOptions() if output == "fbank" else knf.MfccOptions()
                opts.frame_opts.dither = 0
                f = (knf.OnlineFbank if output == "fbank" else knf.OnlineMfcc)(opts)
                f.accept_waveform(SR, a)
                f.input_finished()
                np.stack([f.get_frame(i) for i in range(f.num_frames_ready)])
        jobs["kaldi-native-fbank (1 thread)"] = (run_knf, None, 0)
    try:
        import torchaudio.compliance.kaldi as tak
    except ImportError:
        tak = None
    if tak is not None:
        fn = tak.fbank if output == "fbank" else tak.mfcc
        kw = dict(dither=0.0, energy_floor=0.0) if output == "fbank" else dict(dither=0.0, energy_floor=0.0,
                                                                                use_energy=True)
        jobs["torchaudio.compliance.kaldi"] = (_no_grad(lambda: [fn(w[None], **kw) for w in waves]), None, 0)
    return jobs


def whisper_package_jobs(batch: torch.Tensor) -> dict:
    """WhisperFeatureExtractor's feature computation on the batch already padded to 30 s (padding excluded)."""
    try:
        from transformers import WhisperFeatureExtractor
    except ImportError:
        return {}
    extractor = WhisperFeatureExtractor()
    padded = batch.numpy().astype(np.float32)  # (batch, 480000)
    return {"WhisperFeatureExtractor, torch path": (lambda: extractor._torch_extract_fbank_features(padded, "cpu"),
                                                    None, 0),
            "WhisperFeatureExtractor, NumPy path": (lambda: extractor._np_extract_fbank_features(padded, "cpu"),
                                                    None, 0)}


def speechbrain_package_jobs(batch: torch.Tensor, output: str) -> dict:
    try:
        from speechbrain.lobes.features import MFCC, Fbank
    except ImportError:
        return {}
    module = Fbank() if output == "fbank" else MFCC()
    return {f"speechbrain.lobes.features.{type(module).__name__}": module_jobs(module, batch)}


def espnet_package_jobs(batch: torch.Tensor, lengths: torch.Tensor) -> dict:
    try:
        from espnet2.asr.frontend.default import DefaultFrontend
    except ImportError:
        return {}
    return {"espnet2 DefaultFrontend": module_jobs(DefaultFrontend(), batch, lengths)}


# KaleidoFrontend's two ways of taking real frames, both exact at init: "complex" (the default, a K-matrix of
# n_fft inputs) and "packed" (sample pairs as n_fft / 2 complex values, a half-size K-matrix and a separation).
KALEIDO_ROWS = {"KaleidoFrontend": "complex", "KaleidoFrontend packed": "packed"}


def convention_jobs(convention: str, output: str, batch: torch.Tensor, lengths: torch.Tensor) -> tuple[dict, list]:
    """The package rows and kfront's rows of one convention; returns ``(jobs, names of the package rows)``."""
    waves = [batch[i, :n] for i, n in enumerate(lengths.tolist())]
    if convention.startswith("kaldi"):
        package = kaldi_package_jobs([w * 32768 for w in waves], output)
        batch = batch * 32768  # Kaldi reads int16-range samples
    elif convention == "whisper":
        package = whisper_package_jobs(batch)
    elif convention.startswith("speechbrain"):
        package = speechbrain_package_jobs(batch, output)
    else:
        package = espnet_package_jobs(batch, lengths)
    jobs = dict(package)
    jobs["kfront fixed twin"] = module_jobs(kfront.make_frontend(output, convention=convention), batch, lengths)
    for name, real_input in KALEIDO_ROWS.items():
        fe = kfront.KaleidoFrontend(convention=convention, real_input=real_input)
        jobs[name] = module_jobs(fe, batch, lengths)
    return jobs, list(package)



CONVENTIONS = [("kaldi-fbank", "fbank"), ("kaldi-mfcc", "mfcc"), ("whisper", "fbank"),
               ("speechbrain-fbank", "fbank"), ("speechbrain-mfcc", "mfcc"), ("espnet", "fbank")]


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    timing_arguments(p, batch=8, repeats=5, warmup=1, seconds_help="seconds per utterance (Whisper pads to 30 s)")
    p.add_argument("--conventions", nargs="*", default=[c for c, _ in CONVENTIONS], help="which to run")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 x 1 s, 1 repeat, no warm-up")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_toolkits_cpu.md")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.seconds, args.repeats, args.warmup = 2, 1.0, 1, 0
    unknown = sorted(set(args.conventions) - {c for c, _ in CONVENTIONS})
    if unknown:
        p.error(f"unknown conventions {unknown}; known: {[c for c, _ in CONVENTIONS]}")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    torch.manual_seed(0)
    n = int(args.seconds * SR)
    lengths = torch.tensor([n - (i * n) // (4 * args.batch) for i in range(args.batch)])  # a padded batch
    audio = 0.1 * torch.randn(args.batch, n)
    audio *= torch.arange(n)[None] < lengths[:, None]
    command = " ".join(["python benchmarks/bench_toolkits.py", *(sys.argv[1:] if argv is None else argv)])
    lines = ["# Toolkit conventions: KaleidoFrontend against each toolkit's own extractor (CPU)", "",
             f"`{command}`: {args.batch} utterances of up to {args.seconds:g} s at 16 kHz (a padded batch; Whisper's "
             f"padded to 30 s), medians of {args.repeats} round-robin repeats after {args.warmup} warm-up; torch "
             f"{torch.__version__}, {args.threads} thread(s), {platform.machine()}, load average {load:.1f} at the "
             f"start; butterfly backend {kfront.backend()}. Ratios are to the first package row of each table.", ""]
    checks = []
    for convention, output in CONVENTIONS:
        if convention not in args.conventions:
            continue
        batch = torch.nn.functional.pad(audio, (0, WHISPER_SAMPLES - n)) if convention == "whisper" else audio
        jobs, package = convention_jobs(convention, output, batch, lengths)
        rows = run_round_robin(jobs, args.repeats, args.warmup)
        base = rows[package[0]][0] if package else rows["kfront fixed twin"][0]
        lines += [f"## {convention}", "", "| extractor | forward ms | ratio | fwd+bwd ms | ratio |",
                  "|---|---:|---:|---:|---:|"]
        for name, (fwd, fb, _) in rows.items():
            lines.append(f"| {name} | {' | '.join(fmt(fwd, base))} | {' | '.join(fmt(fb, base))} |")
        lines.append("")
        for ours in KALEIDO_ROWS:
            fwd, fb, _ = rows[ours]
            for name in package:
                ref = rows[name][0]
                checks += [(f"{convention}: {ours} forward <= {name} forward", fwd <= ref, f"{fwd / ref:.2f}x"),
                           (f"{convention}: {ours} fwd+bwd <= 3x {name} forward", fb <= 3 * ref,
                            f"{fb / ref:.2f}x")]
        if not package:
            lines += [f"(the {convention} package is not installed: only kfront's rows)", ""]
    lines += ["| target | met | measured |", "|---|---|---|"]
    lines += [f"| {name} | {'yes' if ok else 'NO'} | {value} |" for name, ok, value in checks]
    text = "\n".join(lines) + "\n"
    publish(text, args.out)
    return text


if __name__ == "__main__":
    main()
