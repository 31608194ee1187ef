"""PER scorer: Levenshtein alignment and S/D/I counts on hand-made cases."""
import math

import pytest

from kfront.asr.score import ErrorCounts, align, count_errors, format_alignment, parse_alignment_counts, score_corpus


def counts(ref, hyp):
    c = count_errors(align(ref.split(), hyp.split()))
    return c.ref, c.sub, c.dels, c.ins


@pytest.mark.parametrize("ref, hyp, expected", [
    ("a b c", "a b c", (3, 0, 0, 0)),
    ("a b c", "a x c", (3, 1, 0, 0)),
    ("a b c", "a c", (3, 0, 1, 0)),
    ("a b c", "a b x c", (3, 0, 0, 1)),
    ("a b c", "", (3, 0, 3, 0)),
    ("", "a b", (0, 0, 0, 2)),
    ("a b c d", "b c d e", (4, 0, 1, 1)),   # a shift: one deletion and one insertion beat four substitutions
    ("sil ae t sil", "sil t ae sil", (4, 2, 0, 0)),  # a swap: two substitutions (cost 2) tie with D+I; S wins
    ("a a a", "a", (3, 0, 2, 0)),
    ("k ae t", "k ae ae t t", (3, 0, 0, 2)),
])
def test_counts(ref, hyp, expected):
    assert counts(ref, hyp) == expected


def test_alignment_pairs():
    assert align(["a", "b", "c"], ["a", "x", "c", "d"]) == [
        ("C", "a", "a"), ("S", "b", "x"), ("C", "c", "c"), ("I", None, "d")]
    assert align(["a", "b"], ["b"]) == [("D", "a", None), ("C", "b", "b")]


def test_error_count_is_edit_distance():
    # the alignment's cost is the Levenshtein distance, computed independently here
    import random

    def lev(a, b):
        d = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            prev, d[0] = d[0], i
            for j, y in enumerate(b, 1):
                prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
        return d[-1]

    rng = random.Random(0)
    for _ in range(200):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        c = count_errors(align(a, b))
        assert c.errors == lev(a, b) and c.ref == len(a)


def test_corpus_totals_and_per():
    refs = {"u1": "a b c d".split(), "u2": "e f".split()}
    hyps = {"u1": "a x c d".split(), "u2": "e f g".split()}
    total, alignments = score_corpus(refs, hyps)
    assert (total.ref, total.sub, total.dels, total.ins) == (6, 1, 0, 1)
    assert total.per == pytest.approx(100 * 2 / 6)
    assert set(alignments) == {"u1", "u2"}
    assert math.isnan(ErrorCounts().per)


def test_corpus_id_mismatch_is_an_error():
    with pytest.raises(ValueError, match="missing"):
        score_corpus({"u1": ["a"], "u2": ["b"]}, {"u1": ["a"]})


def test_format_alignment():
    text = format_alignment("spk_sx1", align("a bb c x".split(), "a c x dd".split()))
    lines = text.splitlines()
    assert lines[0].startswith("spk_sx1") and "S=0 D=1 I=1" in lines[0]
    assert lines[1].split() == ["REF:", "a", "bb", "c", "x", "**"]
    assert lines[2].split() == ["HYP:", "a", "**", "c", "x", "dd"]
    assert lines[3].split() == ["OP:", "D", "I"]


def test_alignment_counts_read_back():
    refs = {"u1": "sil ae t sil".split(), "u2": "a b c".split(), "u3": "a".split()}
    hyps = {"u1": "sil t ae sil".split(), "u2": "a x c d".split(), "u3": []}
    _, alignments = score_corpus(refs, hyps)
    text = "\n".join(format_alignment(u, alignments[u]) for u in sorted(alignments))
    got = parse_alignment_counts(text)
    assert got == {u: count_errors(alignments[u]) for u in refs}
    assert got["u2"] == ErrorCounts(ref=3, sub=1, dels=0, ins=1)
    with pytest.raises(ValueError, match="'u1' appears twice"):
        parse_alignment_counts(text + "\n" + format_alignment("u1", alignments["u1"]))
