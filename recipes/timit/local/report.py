#!/usr/bin/env python3
"""Stage 5: the results table (printed and saved as Markdown) and plots of a set of experiments."""
import argparse
import logging
import os
import platform

import torch

from kfront.asr.report import write_report


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--exp_dir", required=True, help="folder holding <frontend>_seed<seed> experiments")
    p.add_argument("--out", required=True, help="Markdown file to write (plots go to plots/ beside it)")
    p.add_argument("--frontends", nargs="*", default=None, help="front-ends to report, in order (default: all)")
    p.add_argument("--seeds", nargs="*", type=int, default=None, help="seeds to report (default: all)")
    p.add_argument("--title", default="TIMIT phone recognition", help="heading of the report")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    header = (f"# {args.title}\n\nmachine: {platform.machine()}, {os.cpu_count()} CPU cores{gpu}, "
              f"torch {torch.__version__}\n\n")
    print(write_report(args.exp_dir, args.out, args.frontends, args.seeds, header), end="")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
