"""Paired comparison of two recognizers' error rates over seeds and utterances, with a bootstrap interval.

Two systems A and B are trained with the same seeds and decoded on the same utterances. Per seed, each has a
corpus-level error rate (errors summed over utterances over reference tokens summed over utterances); the
quantity compared is the mean over seeds of the paired difference ``PER_A - PER_B``, in percentage points.

Its interval comes from a paired bootstrap over both sources of noise at once: each resample draws the seeds
with replacement and the utterances with replacement, and applies the same draw to A and B (the pairing). The
utterance draw is also the same for every seed: the test set is one sample shared by all seeds, and drawing it
afresh for each seed would count it as several independent samples and narrow the interval. The resamples come
from a seeded generator, so the same inputs always give the same interval.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence, Tuple

import numpy as np

__all__ = ["PairedDifference", "paired_bootstrap", "corpus_error_rates"]

_CHUNK = 1000  # resamples drawn at a time: memory of a few (chunk, utterances) arrays


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """The mean paired difference of two systems' error rates and its bootstrap interval.

    Attributes:
        per_a, per_b (tuple of float): each seed's corpus-level error rate (%) of A and of B.
        mean (float): mean over seeds of ``per_a - per_b`` (percentage points; negative: A makes fewer errors).
        low, high (float): the bootstrap interval of ``mean``.
        level (float): its coverage, e.g. 0.95.
        a_better (int): seeds on which A's rate is lower than B's.
        resamples (int): bootstrap resamples drawn.
    """

    per_a: Tuple[float, ...]
    per_b: Tuple[float, ...]
    mean: float
    low: float
    high: float
    level: float
    a_better: int
    resamples: int

    @property
    def seeds(self) -> int:
        return len(self.per_a)

    @property
    def inside_noise(self) -> bool:
        """Whether the interval holds 0: the data do not tell A and B apart at this level."""
        return self.low <= 0.0 <= self.high


def corpus_error_rates(errors, ref_lengths) -> np.ndarray:
    """Corpus-level error rate of each row, in percent: ``100 * sum(errors) / sum(ref_lengths)``.

    Args:
        errors (array-like): ``(seeds, utterances)`` error counts (S + D + I).
        ref_lengths (array-like): ``(utterances,)`` reference lengths.

    Returns:
        ndarray: ``(seeds,)``.
    """
    e, _, n = _check(errors, errors, ref_lengths)
    return 100.0 * e.sum(axis=1) / n.sum()


def _check(errors_a, errors_b, ref_lengths) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(errors_a, dtype=np.float64)
    b = np.asarray(errors_b, dtype=np.float64)
    n = np.asarray(ref_lengths, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"errors must be a (seeds, utterances) array with both sizes >= 1, got shape {a.shape}")
    if b.shape != a.shape:
        raise ValueError(f"both systems need errors of the same (seeds, utterances) shape, got {a.shape} and "
                         f"{b.shape}")
    if n.shape != (a.shape[1],):
        raise ValueError(f"ref_lengths must have shape ({a.shape[1]},), one per utterance, got {n.shape}")
    if (a < 0).any() or (b < 0).any() or (n < 0).any():
        raise ValueError("error counts and reference lengths must be >= 0")
    if n.sum() <= 0:
        raise ValueError(f"the references hold no tokens (ref_lengths sum to {n.sum()})")
    return a, b, n


def paired_bootstrap(errors_a, errors_b, ref_lengths, resamples: int = 10000, level: float = 0.95,
                     seed: int = 0) -> PairedDifference:
    """Mean over seeds of the paired difference of two systems' error rates, with a paired bootstrap interval.

    Args:
        errors_a (array-like): ``(seeds, utterances)`` error counts of system A; row ``s`` is the run with seed
            ``s``, column ``u`` the same utterance in every row.
        errors_b (array-like): the same for system B, with the same seeds and utterances in the same order.
        ref_lengths (array-like): ``(utterances,)`` reference lengths (the same references for both).
        resamples (int, optional): bootstrap resamples. (Default: ``10000``)
        level (float, optional): coverage of the percentile interval. (Default: ``0.95``)
        seed (int, optional): seed of the resampling. (Default: ``0``)

    Returns:
        PairedDifference

    Example:
        >>> d = paired_bootstrap([[3, 1, 0], [2, 2, 1]], [[4, 1, 1], [3, 2, 1]], [10, 12, 8])  # 2 seeds, 3 utts
        >>> round(d.mean, 2), d.a_better  # A: 13.33 % and 16.67 %, B: 20 % and 20 %
        (-5.0, 2)
    """
    a, b, n = _check(errors_a, errors_b, ref_lengths)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive int, got {resamples!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    n_seeds, n_utts = a.shape
    per_a, per_b = 100.0 * a.sum(1) / n.sum(), 100.0 * b.sum(1) / n.sum()  # (S,)
    diff = a - b  # (S, U): paired error differences
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, resamples, _CHUNK):
        k = min(_CHUNK, resamples - start)
        seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=k)  # (k, S)
        utt_counts = rng.multinomial(n_utts, np.full(n_utts, 1.0 / n_utts), size=k)  # (k, U)
        # Every seed is scored on the same drawn utterances, so the mean over drawn seeds of their rate
        # differences is one weighted sum over utterances divided by the drawn references' length.
        mean_diff = (seed_counts @ diff) / n_seeds  # (k, U)
        drawn_refs = utt_counts @ n  # (k,)
        # A draw of only empty references (possible with tiny sets) has no rate: it is dropped.
        ok = drawn_refs > 0
        draws.append(100.0 * (utt_counts * mean_diff).sum(1)[ok] / drawn_refs[ok])
    samples = np.concatenate(draws)
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return PairedDifference(tuple(float(x) for x in per_a), tuple(float(x) for x in per_b),
                            float(np.mean(per_a - per_b)), float(low), float(high), float(level),
                            int((per_a < per_b).sum()), int(samples.size))

