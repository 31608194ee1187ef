"""Paired bootstrap of two systems' error rates over seeds and utterances, on cases worked out by hand."""
import numpy as np
import pytest

from kfront.asr.stats import corpus_error_rates, paired_bootstrap


def test_point_estimate_and_seed_count_by_hand():
    # A: 4 / 30 and 5 / 30 errors per reference token; B: 6 / 30 on both seeds
    d = paired_bootstrap([[3, 1, 0], [2, 2, 1]], [[4, 1, 1], [3, 2, 1]], [10, 12, 8])
    assert d.per_a == pytest.approx((40 / 3, 50 / 3)) and d.per_b == pytest.approx((20.0, 20.0))
    assert d.mean == pytest.approx(-5.0) and d.a_better == 2 and d.seeds == 2
    assert d.low <= d.mean <= d.high and d.resamples == 10000 and d.level == 0.95


def test_rates_are_corpus_level_not_means_of_utterance_rates():
    # one error on a 1-token utterance beside a clean 9-token one: 10 %, not (100 % + 0 %) / 2
    assert corpus_error_rates([[1, 0]], [1, 9]) == pytest.approx([10.0])
    assert paired_bootstrap([[1, 0]], [[0, 0]], [1, 9]).mean == pytest.approx(10.0)


def test_identical_systems_differ_by_nothing():
    e = np.random.default_rng(1).integers(0, 5, size=(3, 20))
    d = paired_bootstrap(e, e, np.full(20, 10))
    assert (d.mean, d.low, d.high, d.a_better) == (0.0, 0.0, 0.0, 0) and d.inside_noise


def test_a_difference_on_every_utterance_is_outside_the_noise():
    # A makes one error fewer on every 10-token utterance of every seed: every resample says -10 points
    b = np.random.default_rng(2).integers(1, 5, size=(3, 15))
    d = paired_bootstrap(b - 1, b, np.full(15, 10))
    assert d.mean == pytest.approx(-10.0) and d.low == pytest.approx(-10.0) and d.high == pytest.approx(-10.0)
    assert not d.inside_noise and d.a_better == 3


def test_seeds_are_resampled_with_replacement():
    # One utterance of 10 tokens, two seeds with differences -20 and +40 points. Drawing two seeds with
    # replacement gives -20 (1/4), +10 (1/2), +40 (1/4): the 95 % interval spans both ends, the central 40 % is +10.
    d = paired_bootstrap([[0], [5]], [[2], [1]], [10])
    assert d.mean == pytest.approx(10.0)
    assert (d.low, d.high) == pytest.approx((-20.0, 40.0))
    narrow = paired_bootstrap([[0], [5]], [[2], [1]], [10], level=0.4)
    assert (narrow.low, narrow.high) == pytest.approx((10.0, 10.0))


def test_utterances_are_resampled_with_replacement():
    # One seed, two 1-token utterances, A wrong on the first only: both firsts 100 (1/4), one each 50 (1/2),
    # both seconds 0 (1/4).
    d = paired_bootstrap([[1, 0]], [[0, 0]], [1, 1])
    assert d.mean == pytest.approx(50.0) and (d.low, d.high) == pytest.approx((0.0, 100.0))
    assert d.inside_noise
    narrow = paired_bootstrap([[1, 0]], [[0, 0]], [1, 1], level=0.4)
    assert (narrow.low, narrow.high) == pytest.approx((50.0, 50.0))


def test_one_utterance_draw_serves_every_seed():
    # Four seeds that all behave alike carry no more information about the test set than one: the interval must
    # stay as wide (drawing the utterances afresh for each seed would narrow it by about half).
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 6, size=(1, 60)), rng.integers(0, 6, size=(1, 60))
    n = rng.integers(8, 30, size=60)
    one = paired_bootstrap(a, b, n)
    four = paired_bootstrap(np.repeat(a, 4, 0), np.repeat(b, 4, 0), n)
    assert four.mean == pytest.approx(one.mean)
    assert 0.9 < (four.high - four.low) / (one.high - one.low) < 1.1


def test_seeded_and_symmetric():
    rng = np.random.default_rng(4)
    a, b, n = rng.integers(0, 6, size=(3, 40)), rng.integers(0, 6, size=(3, 40)), rng.integers(5, 20, size=40)
    d = paired_bootstrap(a, b, n, resamples=2000)
    assert d == paired_bootstrap(a, b, n, resamples=2000)  # same seed, same interval
    assert d != paired_bootstrap(a, b, n, resamples=2000, seed=1)
    swapped = paired_bootstrap(b, a, n, resamples=2000)  # the same draws, the difference negated
    assert swapped.mean == pytest.approx(-d.mean)
    assert (swapped.low, swapped.high) == pytest.approx((-d.high, -d.low))
    assert swapped.a_better + d.a_better + int(np.sum(a.sum(1) == b.sum(1))) == 3


@pytest.mark.parametrize("args, kwargs, message", [
    (([[1, 2]], [[1, 2, 3]], [1, 1]), {}, r"\(1, 2\) and \(1, 3\)"),
    (([1, 2], [1, 2], [1, 1]), {}, r"shape \(2,\)"),
    (([[1, 2]], [[1, 2]], [1, 1, 1]), {}, r"ref_lengths must have shape \(2,\)"),
    (([[1, 2]], [[1, 2]], [0, 0]), {}, "no tokens"),
    (([[1, -2]], [[1, 2]], [1, 1]), {}, ">= 0"),
    (([[1, 2]], [[1, 2]], [1, 1]), {"resamples": 0}, "resamples must be a positive int, got 0"),
    (([[1, 2]], [[1, 2]], [1, 1]), {"level": 95}, "level must be in"),
])
def test_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(*args, **kwargs)
