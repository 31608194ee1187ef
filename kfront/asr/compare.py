"""Which front-ends of a set of experiments are compared with which, and their paired differences.

A learnable front-end is set against two fixed ones: its twin (the fixed front-end that computes the same
features, the learnable one at initialisation: ``mfcc`` for a K-matrix MFCC, ``fbank`` for a K-matrix log-mel)
and the best fixed front-end of the set (lowest mean dev PER, so that the choice is not made on the test set it
is then compared on). Each comparison pairs the runs by seed and the decodings by utterance
(:func:`kfront.asr.stats.paired_bootstrap`).
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Any, Dict, List, Sequence

from .builder import build_frontend
from .evaluation import read_utterance_counts
from .layout import decode_dir
from .stats import PairedDifference, paired_bootstrap

__all__ = ["Comparison", "fixed_twin", "best_fixed", "paired_difference", "paired_comparisons"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One learnable front-end against one fixed front-end on one split.

    Attributes:
        learnable, fixed (str): the front-ends' names in the set.
        relation (str): why they are compared: ``"twin"``, ``"best fixed"`` or ``"twin, best fixed"``.
        split (str): the decoded split (``test``, ``dev``).
        seeds (tuple of int): the seeds both were run with, in order.
        difference (PairedDifference): learnable minus fixed.
    """

    learnable: str
    fixed: str
    relation: str
    split: str
    seeds: tuple
    difference: PairedDifference


def _features(block: Dict[str, Any]):
    # What a front-end computes, whatever it is made of: its resolved fixed stages (FeatureConfig).
    return build_frontend(block).config


def fixed_twin(learnable_block: Dict[str, Any], fixed_blocks: Dict[str, Dict[str, Any]]) -> str | None:
    """The name of the fixed front-end computing the same features as ``learnable_block`` at initialisation.

    Args:
        learnable_block (dict): the learnable front-end's config block.
        fixed_blocks (dict): name -> config block of each fixed front-end of the set.

    Returns:
        str or None: the first name whose features (every fixed stage, the output included) are the same.
    """
    want = _features(learnable_block)
    return next((name for name, block in fixed_blocks.items() if _features(block) == want), None)


def _mean_per(runs: List[Dict[str, Any]], split: str) -> float:
    pers = [r[split]["per"] for r in runs if r.get(split)]
    return statistics.mean(pers) if pers else float("inf")


def best_fixed(groups: Dict[str, List[Dict[str, Any]]], fixed: Sequence[str]) -> str | None:
    """The fixed front-end with the lowest mean dev PER over its seeds (``None`` when none was decoded on dev)."""
    scored = [(_mean_per(groups[name], "dev"), name) for name in fixed]
    scored = [s for s in scored if s[0] != float("inf")]
    return min(scored)[1] if scored else None


def paired_difference(a_runs: List[Dict[str, Any]], b_runs: List[Dict[str, Any]], split: str,
                      resamples: int = 10000, seed: int = 0):
    """The seeds both sets of runs have scored on ``split``, and the paired difference of A minus B.

    Args:
        a_runs, b_runs (list of dict): runs of two front-ends (``seed`` and ``dir`` of each).
        split (str): the decoded split.
        resamples (int, optional): bootstrap resamples. (Default: ``10000``)
        seed (int, optional): seed of the bootstrap. (Default: ``0``)

    Returns:
        (tuple of int, PairedDifference or None): ``None`` without a common seed.

    Raises:
        ValueError: the two were scored on different utterances or references.
    """
    by_seed = lambda runs: {r["seed"]: r for r in runs if (decode_dir(r["dir"], split) / "alignments.txt").is_file()}
    a, b = by_seed(a_runs), by_seed(b_runs)
    seeds = tuple(sorted(set(a) & set(b)))
    if not seeds:
        return seeds, None
    counts = {(side, s): read_utterance_counts(decode_dir(runs[s]["dir"], split))
              for side, runs in (("a", a), ("b", b)) for s in seeds}
    utts = sorted(counts[("a", seeds[0])])
    refs = [counts[("a", seeds[0])][u].ref for u in utts]
    for key, c in counts.items():
        if sorted(c) != utts or [c[u].ref for u in utts] != refs:
            raise ValueError(f"{decode_dir((a if key[0] == 'a' else b)[key[1]]['dir'], split)} was scored on other "
                             f"utterances or references than {decode_dir(a[seeds[0]]['dir'], split)}")
    errors = {side: [[counts[(side, s)][u].errors for u in utts] for s in seeds] for side in ("a", "b")}
    return seeds, paired_bootstrap(errors["a"], errors["b"], refs, resamples=resamples, seed=seed)


def paired_comparisons(runs: List[Dict[str, Any]], splits: Sequence[str] = ("test", "dev"),
                       resamples: int = 10000, seed: int = 0) -> List[Comparison]:
    """Every learnable front-end of ``runs`` against its fixed twin and the best fixed front-end, per split.

    Args:
        runs (list of dict): :func:`kfront.asr.report.collect_runs`'s, each with ``frontend``, ``seed``, ``dir``,
            ``frontend_block`` (its config's front-end block), ``summary`` and the decodings' ``per.json``.
        splits (sequence of str, optional): (Default: ``("test", "dev")``)
        resamples (int, optional): bootstrap resamples. (Default: ``10000``)
        seed (int, optional): seed of the bootstrap. (Default: ``0``)

    Returns:
        list of Comparison: split by split, learnable front-ends in the order of ``runs``; comparisons without a
        seed in common are left out.
    """
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(r["frontend"], []).append(r)
    learnable = [fe for fe, rs in groups.items() if rs[0]["summary"].get("frontend_params", 0) > 0]
    fixed = [fe for fe in groups if fe not in learnable]
    blocks = {fe: groups[fe][0]["frontend_block"] for fe in groups}
    best = best_fixed(groups, fixed)
    out = []
    for split in splits:
        for fe in learnable:
            twin = fixed_twin(blocks[fe], {f: blocks[f] for f in fixed})
            against: Dict[str, List[str]] = {}
            for name, why in ((twin, "twin"), (best, "best fixed")):
                if name is not None:
                    against.setdefault(name, []).append(why)
            for name, why in against.items():
                seeds, diff = paired_difference(groups[fe], groups[name], split, resamples, seed)
                if diff is not None:
                    out.append(Comparison(fe, name, ", ".join(why), split, seeds, diff))
    return out
