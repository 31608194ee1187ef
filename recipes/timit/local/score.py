#!/usr/bin/env python3
"""Stage 4: score every decode_<split>*/hyp.txt of experiments on 39 phones (per.json, alignments.txt)."""
import argparse
from pathlib import Path

from kfront.asr import score_split
from kfront.asr.layout import parse_decode_dir


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--exp_dirs", nargs="+", required=True, help="experiment folders")
    p.add_argument("--data_dir", required=True, help="folder with <split>.<format> manifests")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "tsv"], help="manifest format (default: jsonl)")
    args = p.parse_args()
    for exp_dir in args.exp_dirs:
        hyps = sorted(h for h in Path(exp_dir).glob("*/hyp.txt") if parse_decode_dir(h.parent.name))
        if not hyps:
            raise SystemExit(f"error: no decode_*/hyp.txt in {exp_dir!r}; run the decoding stage first")
        for hyp in hyps:
            split, _ = parse_decode_dir(hyp.parent.name)
            r = score_split(hyp.parent, Path(args.data_dir) / f"{split}.{args.format}")
            print(f"{hyp.parent}: PER {r['per']:.2f}% (N={r['n']} S={r['sub']} D={r['del']} I={r['ins']})")


if __name__ == "__main__":
    main()
