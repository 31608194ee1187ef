#!/usr/bin/env python3
"""Stage 4: score every decode_<split>*/hyp.txt of experiments on 39 phones (per.json, alignments.txt)."""
import argparse
from pathlib import Path

from kfront.asr import score_split


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--exp_dirs", nargs="+", required=True, help="experiment folders")
    p.add_argument("--data_dir", required=True, help="folder with <split>.<format> manifests")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "tsv"], help="manifest format (default: jsonl)")
    args = p.parse_args()
    for exp_dir in args.exp_dirs:
        hyps = sorted(Path(exp_dir).glob("decode_*/hyp.txt"))
        if not hyps:
            raise SystemExit(f"error: no decode_*/hyp.txt in {exp_dir!r}; run the decoding stage first")
        for hyp in hyps:
            split = hyp.parent.name[len("decode_"):].split("_")[0]
            r = score_split(hyp.parent, Path(args.data_dir) / f"{split}.{args.format}")
            print(f"{hyp.parent}: PER {r['per']:.2f}% (N={r['n']} S={r['sub']} D={r['del']} I={r['ins']})")


if __name__ == "__main__":
    main()
