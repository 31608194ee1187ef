"""CTC decoders: greedy (best path) and prefix beam search on constructed posteriors."""
import itertools
import math

import torch

from kfront.asr.decode import ctc_decode, greedy_decode, prefix_beam_search


def collapse(path, blank=0):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force_best(probs):
    """The most probable label sequence, summing the probability of every path that collapses to it."""
    T, C = probs.shape
    total = {}
    for path in itertools.product(range(C), repeat=T):
        p = math.prod(float(probs[t, c]) for t, c in enumerate(path))
        key = collapse(path)
        total[key] = total.get(key, 0.0) + p
    return list(max(total, key=total.get))


def test_greedy_merges_repeats_and_drops_blanks():
    # frames: a a _ a b b _ _ c   (blank = 0)
    best = torch.tensor([1, 1, 0, 1, 2, 2, 0, 0, 3])
    log_probs = torch.nn.functional.one_hot(best, 4).float().log_softmax(-1)[None]  # (1, T, C)
    assert greedy_decode(log_probs) == [[1, 1, 2, 3]]
    assert greedy_decode(log_probs, torch.tensor([4])) == [[1, 1]]


def test_beam_finds_the_label_greedy_misses():
    # Each frame: blank 0.6, "a" 0.4. Best path is blank-blank (""; p = 0.36), but "a" has
    # p = 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64 summed over its three paths.
    probs = torch.tensor([[0.6, 0.4], [0.6, 0.4]])
    assert greedy_decode(probs.log()[None]) == [[]]
    assert prefix_beam_search(probs.log(), beam_size=4) == [1]


def test_beam_equals_greedy_on_peaky_posteriors():
    torch.manual_seed(0)
    best = torch.randint(0, 6, (40,))
    logits = torch.nn.functional.one_hot(best, 6).float() * 12 + 0.1 * torch.randn(40, 6)
    lp = logits.log_softmax(-1)
    assert prefix_beam_search(lp, beam_size=8) == greedy_decode(lp[None])[0]


def test_beam_matches_exhaustive_search():
    torch.manual_seed(1)
    for _ in range(20):
        probs = torch.softmax(torch.randn(5, 3) * 1.5, dim=-1)  # (T, C): 3^5 paths
        assert prefix_beam_search(probs.log(), beam_size=50, prune=-1e9) == brute_force_best(probs)


def test_repeated_label_needs_a_blank():
    # "a a" needs a blank between: frames a, blank, a
    probs = torch.tensor([[0.05, 0.95], [0.9, 0.1], [0.05, 0.95]])
    assert prefix_beam_search(probs.log(), beam_size=4) == [1, 1]
    assert ctc_decode(probs.log()[None], torch.tensor([3]), "beam", 4) == [[1, 1]]
    assert ctc_decode(probs.log()[None], torch.tensor([3]), "greedy") == [[1, 1]]
