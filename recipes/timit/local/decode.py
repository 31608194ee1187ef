#!/usr/bin/env python3
"""Stage 3: decode manifests with experiments' checkpoints (lowest dev PER by default) into decode_<split>/hyp.txt."""
import argparse
from pathlib import Path

from kfront.asr import decode_split


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--exp_dirs", nargs="+", required=True, help="experiment folders")
    p.add_argument("--data_dir", required=True, help="folder with <split>.<format> manifests")
    p.add_argument("--splits", nargs="+", default=["dev", "test"], help="splits to decode (default: dev test)")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "tsv"], help="manifest format (default: jsonl)")
    p.add_argument("--checkpoint", default="best.pt", help="checkpoint in each exp_dir (default: best.pt)")
    p.add_argument("--tag", default=None, help="suffix of the output folder, decode_<split>_<tag>")
    p.add_argument("--method", default=None, choices=["greedy", "beam"], help="default: the config's")
    p.add_argument("--beam_size", type=int, default=None, help="default: the config's")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--num_threads", type=int, default=0, help="CPU threads (default: torch's)")
    args = p.parse_args()
    for exp_dir in args.exp_dirs:
        for split in args.splits:
            out = decode_split(exp_dir, Path(args.data_dir) / f"{split}.{args.format}", split, args.checkpoint,
                               args.tag, args.method, args.beam_size, args.device, args.num_threads)
            print(f"decoded {split} with {Path(exp_dir) / args.checkpoint}: {out / 'hyp.txt'}")


if __name__ == "__main__":
    main()
