"""Time epochs of the TIMIT recipe's model (recipes/timit/conf/timit_*.yaml) on utterances shaped like the built-in
corpus, through the recipe's own training loop (kfront.asr.train), on a machine without espeak-ng.

    python benchmarks/gpu/recipe_epoch.py --out results.md                 # both timit_*.yaml, 2 epochs, on CUDA
    python benchmarks/gpu/recipe_epoch.py --scale 12.6                      # a TIMIT-sized epoch (11,300 s)
    python benchmarks/gpu/recipe_epoch.py --write-shapes data               # refresh the shapes from a corpus

The built-in corpus is synthesised with espeak-ng, which a GPU machine may lack, and its audio is too large to
carry along. Training time depends on the utterances' lengths and label counts only, so this script writes
random audio and random phone labels of exactly the built-in corpus's shapes (builtin_corpus_shapes.tsv beside
this file: its train and dev sets, made by ``--write-shapes`` from a prepared corpus), as RIFF files with
manifests, and runs ``kfront.asr.train`` on them with ``train.epochs`` set: every step of a real epoch (batching,
front-end, recognizer, CTC, optimiser, dev evaluation, checkpoints). ``--scale`` repeats the utterances (11,300 s
of TIMIT training audio / 894 s of the corpus's = 12.6 for a TIMIT-sized epoch). The first epoch includes
warm-up (cuDNN, the kernels' first launches); the last is the steady-state figure. The TIMIT estimate scales the
last epoch linearly with the training audio.
"""
import argparse
import csv
import importlib.util
import json
import math
import shutil
import sys
import time
import types
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHAPES = Path(__file__).resolve().parent / "builtin_corpus_shapes.tsv"
CONFIGS = [ROOT / "recipes" / "timit" / "conf" / f"timit_{name}.yaml" for name in ("mfcc", "kaleido_mfcc")]
SAMPLE_RATE = 16000
TIMIT_TRAIN_SECONDS = 11_300  # 3696 utterances (recipes/timit/README.md)


def read_wav(path, dtype="float32", always_2d=True):
    """``soundfile.read`` for the 16-bit mono RIFF files this script writes, through the standard library."""
    with wave.open(str(path), "rb") as f:
        rate, frames = f.getframerate(), f.readframes(f.getnframes())
    samples = (np.frombuffer(frames, dtype="<i2").astype(dtype) / 32768.0)[:, None]  # (time, 1)
    return (samples if always_2d else samples[:, 0]), rate


def ensure_audio_reader() -> None:
    """kfront.timit reads audio with soundfile, imported when kfront.asr is; where it is not installed (the GPU
    machine), stand in a reader of this script's own RIFF files."""
    if importlib.util.find_spec("soundfile") is None:
        sys.modules["soundfile"] = types.SimpleNamespace(read=read_wav)


def write_shapes(data_dir: Path, out: Path = SHAPES) -> None:
    """The (split, samples, phones) of every train and dev utterance of a prepared corpus's manifests."""
    rows = []
    for split in ("train", "dev"):
        for line in (data_dir / f"{split}.jsonl").read_text().splitlines():
            e = json.loads(line)
            rows.append((split, e["num_samples"], len(e["phones48"].split())))
    with open(out, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(("split", "num_samples", "n_phones"))
        w.writerows(rows)


def read_shapes(path: Path = SHAPES) -> dict:
    """{split: [(num_samples, n_phones), ...]}."""
    shapes = {"train": [], "dev": []}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            shapes[row["split"]].append((int(row["num_samples"]), int(row["n_phones"])))
    return shapes


def write_corpus(shapes: dict, out_dir: Path, scale: float, seed: int = 0) -> dict:
    """Random 16-bit audio and random 48-set phone labels of the given shapes, `scale` times over, with train
    and dev manifests; returns the seconds of audio per split."""
    from kfront.timit import load_phone_map, write_manifest

    pmap = load_phone_map()
    phones = [p for p in pmap.phones48 if p != "sil"]
    rng = np.random.default_rng(seed)
    seconds = {}
    for split, items in shapes.items():
        reps = [items[i % len(items)] for i in range(math.ceil(scale * len(items)))]
        entries = []
        for i, (num_samples, n_phones) in enumerate(reps):
            path = out_dir / "audio" / split / f"{i:05d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(path), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(SAMPLE_RATE)
                f.writeframes((rng.standard_normal(num_samples) * 3000).clip(-32767, 32767).astype("<i2").tobytes())
            labels48 = list(rng.choice(phones, n_phones))
            entries.append({"id": f"{split}{i:05d}", "path": str(path), "duration": round(num_samples / SAMPLE_RATE, 4),
                            "num_samples": num_samples, "sample_rate": SAMPLE_RATE, "speaker": f"s{i % 40:02d}",
                            "phones48": " ".join(labels48), "phones39": " ".join(pmap.fold(labels48, 39, source=48))})
        write_manifest(entries, out_dir / f"{split}.jsonl")
        seconds[split] = sum(e["num_samples"] for e in entries) / SAMPLE_RATE
    return seconds


def time_config(config: Path, data_dir: Path, exp_dir: Path, epochs: int, device: str) -> list:
    """Train `epochs` epochs of one config; the rows of its log.csv."""
    from kfront.asr import load_config, train

    if exp_dir.exists():
        shutil.rmtree(exp_dir)  # train refuses a folder that holds a checkpoint
    cfg = load_config(config, [f"data.dir={data_dir}", f"train.epochs={epochs}", f"train.device={device}"])
    train(cfg, exp_dir, progress=False)
    with open(exp_dir / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def report(results: dict, seconds: dict, meta: dict) -> str:
    lines = [f"# One epoch of the TIMIT recipe's model: {meta['device_name']}", "",
             f"`{meta['command']}`: the recipe configs below on random audio and labels of the built-in corpus's shapes "
             f"(scale {meta['scale']:g}: {seconds['train']:.0f} s of training audio, {seconds['dev']:.0f} s dev), "
             f"torch {meta['torch']}. Epoch time includes the dev evaluation and the checkpoints; epoch 1 "
             "includes warm-up.", "",
             "| config | epoch | seconds | front-end share of step | batches' training loss |", "|---|---:|---:|---:|---:|"]
    for name, rows in results.items():
        for r in rows:
            lines.append(f"| {name} | {r['epoch']} | {float(r['epoch_seconds']):.2f} "
                         f"| {100 * float(r['frontend_share']):.1f}% | {float(r['train_loss']):.3f} |")
    lines += ["", f"Estimate for a TIMIT epoch ({TIMIT_TRAIN_SECONDS} s of training audio), the last epoch scaled "
                  "linearly with the training audio (a prediction, not a measurement):", "",
              "| config | last epoch s | TIMIT epoch s (estimate) | 40 epochs min (estimate) |", "|---|---:|---:|---:|"]
    for name, rows in results.items():
        last = float(rows[-1]["epoch_seconds"])
        timit = last * TIMIT_TRAIN_SECONDS / seconds["train"]
        lines.append(f"| {name} | {last:.2f} | {timit:.1f} | {40 * timit / 60:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", type=Path, nargs="+", default=CONFIGS, help="recipe configs (default timit_*.yaml)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per config")
    p.add_argument("--scale", type=float, default=1.0, help="repeat the corpus's utterances this many times")
    p.add_argument("--device", default="cuda", help="train.device")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "recipe-epoch", help="audio, manifests, runs")
    p.add_argument("--out", type=Path, help="Markdown output (default: print only)")
    p.add_argument("--write-shapes", type=Path, metavar="DATA_DIR",
                   help="write the shapes file from a prepared corpus's manifests and stop")
    args = p.parse_args(argv)
    if args.write_shapes:
        write_shapes(args.write_shapes)
        return str(SHAPES)
    ensure_audio_reader()
    import torch

    data_dir = args.work / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    t0 = time.perf_counter()
    seconds = write_corpus(read_shapes(), data_dir, args.scale)
    print(f"wrote {seconds['train']:.0f} s train / {seconds['dev']:.0f} s dev in {time.perf_counter() - t0:.1f} s",
          flush=True)
    results = {cfg.stem: time_config(cfg, data_dir, args.work / "exp" / cfg.stem, args.epochs, args.device)
               for cfg in args.configs}
    meta = {"device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
            "scale": args.scale, "torch": torch.__version__,
            "command": "python benchmarks/gpu/recipe_epoch.py" + "".join(
                " " + a for a in (sys.argv[1:] if argv is None else [str(a) for a in argv]))}
    text = report(results, seconds, meta)
    print(text)
    # the check script's one-line verdict of this stage
    print("last epoch: " + ", ".join(f"{name} {float(rows[-1]['epoch_seconds']):.2f} s"
                                     for name, rows in results.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()
