"""The recognizer's command line: the names of an experiment's folders, for shell scripts.

    python -m kfront.asr run-dir mfcc 1                                       # mfcc_seed1
    python -m kfront.asr run-dirs --frontends mfcc kaleido_mfcc --seeds 1 2   # "<frontend> <seed> <name>" per line

The names come from :mod:`kfront.asr.layout`, so a recipe's folders are the ones decoding, scoring and the report
look for. Bad names or seeds exit with status 2 and say which.
"""
import argparse
import re
import sys
from typing import List, Sequence

from .layout import run_dir_name


def _seed(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError(f"seed must be a non-negative integer, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); prints the names, one per line."""
    p = argparse.ArgumentParser(prog="python -m kfront.asr", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run-dir", help="the folder name of one run: <frontend>_seed<seed>")
    one.add_argument("frontend")
    one.add_argument("seed", type=_seed)
    many = sub.add_parser("run-dirs", help="'<frontend> <seed> <name>' per line, every seed of each front-end in turn")
    many.add_argument("--frontends", nargs="+", required=True)
    many.add_argument("--seeds", nargs="+", type=_seed, required=True)
    args = p.parse_args(argv)
    try:
        if args.command == "run-dir":
            lines: List[str] = [run_dir_name(args.frontend, args.seed)]
        else:
            lines = [f"{fe} {seed} {run_dir_name(fe, seed)}" for fe in args.frontends for seed in args.seeds]
    except ValueError as e:
        p.error(str(e))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
