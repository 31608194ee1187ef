#!/usr/bin/env python3
"""Stage 1: write train / dev / core-test manifests for a TIMIT tree (skipped when already done)."""
import argparse
import logging

from kfront.timit import prepare_timit


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--timit", required=True, help="the TIMIT tree (folder holding TRAIN and TEST, any case)")
    p.add_argument("--out", required=True, help="folder for the manifests")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "tsv"], help="manifest format (default: jsonl)")
    p.add_argument("--force", action="store_true", help="prepare again even if done before")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = prepare_timit(args.timit, args.out, fmt=args.format, force=args.force, progress=True)
    for split, path in paths.items():
        print(f"{split}: {path}")


if __name__ == "__main__":
    main()
