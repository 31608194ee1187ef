#!/usr/bin/env python3
"""The paired difference of two front-ends of one experiment folder (A minus B, PER points), per split.

    local/paired.py --exp_dir exp --a kaleido_mfcc_l2sp --b kaleido_mfcc

Pairs the runs by seed and the decodings by utterance, as the report does for each learnable front-end and its
fixed twin (kfront.asr.stats.paired_bootstrap); prints one Markdown row per split.
"""
import argparse

from kfront.asr.compare import Comparison, paired_difference
from kfront.asr.report import collect_runs, paired_table


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True, help="folder holding <frontend>_seed<seed> runs")
    p.add_argument("--a", required=True, help="front-end A")
    p.add_argument("--b", required=True, help="front-end B")
    p.add_argument("--splits", nargs="+", default=["test", "dev"], help="(default: test dev)")
    p.add_argument("--seeds", nargs="*", type=int, default=None, help="seeds to use (default: all both have)")
    args = p.parse_args()
    runs = collect_runs(args.exp_dir, [args.a, args.b], args.seeds)
    for split in args.splits:
        seeds, diff = paired_difference([r for r in runs if r["frontend"] == args.a],
                                        [r for r in runs if r["frontend"] == args.b], split)
        if diff is None:
            raise SystemExit(f"error: {args.a} and {args.b} have no scored {split} decoding of a common seed")
        table = paired_table([Comparison(args.a, args.b, "", split, seeds, diff)], split, columns=("A", "B"))
        print(f"{split}:\n\n{table}")


if __name__ == "__main__":
    main()
