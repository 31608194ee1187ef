#!/usr/bin/env python3
"""Stage 2: train one recognizer (one front-end, one seed); runs under torchrun for data parallelism.

    local/train.py --config conf/mini_mfcc.yaml --exp_dir exp/mfcc_seed1 --resume train.seed=1 data.dir=data
    torchrun --nproc_per_node 2 local/train.py --config ... --exp_dir ...

Positional arguments are dotted config overrides (section.key=value); an unknown key is an error.
"""
import argparse
import logging
import sys

from kfront.asr import TrainingInterrupted, load_config, train


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="YAML config (recipes/timit/conf/*.yaml)")
    p.add_argument("--exp_dir", required=True, help="experiment folder (checkpoints, log.csv, config.yaml)")
    p.add_argument("--resume", action="store_true", help="continue from exp_dir/last.pt if it exists")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. train.epochs=5 optim.lr=1e-3")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        cfg = load_config(args.config, args.overrides)
        summary = train(cfg, args.exp_dir, resume=args.resume)
    except (ValueError, OSError, TrainingInterrupted) as e:
        # bad config keys, bad or missing files, a checkpoint in the way: the message names the key or file
        sys.exit(f"error: {e}")
    if summary:
        print(f"{args.exp_dir}: best dev PER {summary['best_dev_per']:.2f}% at epoch {summary['best_epoch']}, "
              f"{summary['train_seconds']:.0f}s")


if __name__ == "__main__":
    main()
