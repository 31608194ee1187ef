#!/usr/bin/env python3
"""How much a K-matrix's change changes what the recognizer sees (normalised features), per feature.

    # trained against initial front-end, every learnable run of an experiment folder, on dev
    local/frontend_change.py --exp_dir exp --data_dir data
    # a random move of the K-matrix of relative size 0.01, per config, at initialisation
    local/frontend_change.py --configs conf/mini_kaleido_mfcc.yaml conf/mini_kaleido_fbank.yaml --data_dir data

Prints a Markdown table: the mean over features of the normalised change and its mean over feature ranges
(for an MFCC, the low and the high cepstra). See kfront.asr.analysis.
"""
import argparse
from pathlib import Path

import torch

from kfront.asr.analysis import normalised_change, perturbed
from kfront.asr.builder import build_frontend, load_model
from kfront.asr.config import load_config
from kfront.asr.data import PhoneVocab, UtteranceDataset
from kfront.asr.layout import parse_run_dir
from kfront.frontend.diagnostics import kmatrix_drift
from kfront.timit.manifest import read_manifest


def ranges(n):
    """Feature ranges to report: quarters of the features (c0-c3, ..., for 13 cepstra)."""
    edges = [round(i * n / 4) for i in range(5)]
    return [(edges[i], edges[i + 1]) for i in range(4)]


def row(name, change, extra=""):
    parts = " | ".join(f"{float(change[a:b].mean()):.4f}" for a, b in ranges(change.numel()))
    return f"| {name} | {change.numel()} |{extra} {float(change.mean()):.4f} | {parts} |"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", help="experiment folder: every learnable <frontend>_seed<seed> run")
    p.add_argument("--configs", nargs="*", default=[], help="configs whose front-ends are moved at random")
    p.add_argument("--data_dir", required=True, help="folder with the manifests")
    p.add_argument("--split", default="dev", help="manifest to measure on (default: dev)")
    p.add_argument("--utterances", type=int, default=40, help="its first N utterances (default: 40)")
    p.add_argument("--relative", type=float, default=0.01, help="size of the random move (default: 0.01)")
    args = p.parse_args()
    torch.set_num_threads(1)
    entries = read_manifest(Path(args.data_dir) / f"{args.split}.jsonl")[: args.utterances]
    data = UtteranceDataset(entries, PhoneVocab(), 16000, preload=True)
    waves = [data[i][0] for i in range(len(data))]
    head = "| {} | features | {}mean | 1st quarter | 2nd quarter | 3rd quarter | 4th quarter |"
    if args.configs:
        print(head.format("config", "") + "\n|---|---|---|---|---|---|---|")
        for path in args.configs:
            fe = build_frontend(load_config(path).frontend)
            print(row(Path(path).stem, normalised_change(fe, perturbed(fe, args.relative), waves)))
    if args.exp_dir:
        print(head.format("run", "K drift | ") + "\n|---|---|---|---|---|---|---|---|")
        for d in sorted(Path(args.exp_dir).iterdir()):
            if not (parse_run_dir(d.name) and (d / "best.pt").is_file() and (d / "init.pt").is_file()):
                continue
            trained, initial = load_model(d / "best.pt")[0].frontend, load_model(d / "init.pt")[0].frontend
            if not getattr(trained, "has_kmatrix", False):
                continue
            print(row(d.name, normalised_change(initial, trained, waves), f" {kmatrix_drift(trained):.4f} |"))


if __name__ == "__main__":
    main()
