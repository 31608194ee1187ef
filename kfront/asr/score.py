"""Phone error rate: Levenshtein alignment with substitution, deletion and insertion counts."""
from __future__ import annotations

import dataclasses
import re
from typing import Dict, List, Sequence, Tuple

__all__ = ["ErrorCounts", "align", "count_errors", "score_corpus", "format_alignment", "parse_alignment_counts"]

# One aligned pair: (op, ref token or None, hyp token or None); op is "C", "S", "D" or "I".
AlignedPair = Tuple[str, str | None, str | None]


@dataclasses.dataclass
class ErrorCounts:
    """Error counts of a hypothesis against a reference; they add up over utterances.

    Attributes:
        ref (int): reference length N.
        sub, dels, ins (int): substitutions, deletions, insertions.
    """

    ref: int = 0
    sub: int = 0
    dels: int = 0
    ins: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.dels + self.ins

    @property
    def per(self) -> float:
        """(S + D + I) / N in percent; ``nan`` for an empty reference."""
        return 100.0 * self.errors / self.ref if self.ref else float("nan")

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.ref + other.ref, self.sub + other.sub, self.dels + other.dels, self.ins + other.ins)

    def as_dict(self) -> Dict[str, float]:
        return {"per": self.per, "n": self.ref, "sub": self.sub, "del": self.dels, "ins": self.ins}


def align(ref: Sequence[str], hyp: Sequence[str]) -> List[AlignedPair]:
    """Align two token sequences with the fewest edits (each substitution, deletion, insertion costs 1).

    Among alignments with the same cost, the one found first when tracing back (match/substitution, then
    deletion, then insertion) is returned, so the counts S, D, I of a given pair are deterministic.

    Args:
        ref (sequence of str): the reference.
        hyp (sequence of str): the hypothesis.

    Returns:
        list of (op, ref_token, hyp_token): op ``"C"`` (correct), ``"S"``, ``"D"`` (ref token missing from hyp,
        hyp_token None) or ``"I"`` (extra hyp token, ref_token None).
    """
    n, m = len(ref), len(hyp)
    # cost[i][j]: edits to turn ref[:i] into hyp[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i
    for j in range(1, m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        r = ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (r != hyp[j - 1]), prev[j] + 1, row[j - 1] + 1)
    out: List[AlignedPair] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append(("C" if ref[i - 1] == hyp[j - 1] else "S", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            out.append(("D", ref[i - 1], None))
            i -= 1
        else:
            out.append(("I", None, hyp[j - 1]))
            j -= 1
    out.reverse()
    return out


def count_errors(alignment: Sequence[AlignedPair]) -> ErrorCounts:
    """Count S, D, I and the reference length of an alignment from :func:`align`."""
    ops = [op for op, _, _ in alignment]
    return ErrorCounts(ref=sum(op != "I" for op in ops), sub=ops.count("S"), dels=ops.count("D"),
                       ins=ops.count("I"))


def score_corpus(refs: Dict[str, Sequence[str]], hyps: Dict[str, Sequence[str]]):
    """Score every utterance of a set.

    Args:
        refs (dict): utterance id -> reference tokens.
        hyps (dict): utterance id -> hypothesis tokens; must hold exactly the ids of ``refs``.

    Returns:
        (ErrorCounts, dict): the totals, and utterance id -> alignment.

    Raises:
        ValueError: the id sets differ (naming a few of the ids concerned).
    """
    if set(refs) != set(hyps):
        missing, extra = sorted(set(refs) - set(hyps)), sorted(set(hyps) - set(refs))
        raise ValueError(f"hypotheses do not match references: missing {missing[:5]}, unexpected {extra[:5]}")
    total = ErrorCounts()
    alignments = {}
    for uid in sorted(refs):
        alignments[uid] = align(list(refs[uid]), list(hyps[uid]))
        total = total + count_errors(alignments[uid])
    return total, alignments


def format_alignment(uid: str, alignment: Sequence[AlignedPair]) -> str:
    """Render one alignment as three aligned lines (REF, HYP, OP), sclite style, with its counts."""
    c = count_errors(alignment)
    ref_line, hyp_line, op_line = ["REF:"], ["HYP:"], ["OP: "]
    for op, r, h in alignment:
        r = r if r is not None else "*" * len(h)
        h = h if h is not None else "*" * len(r)
        w = max(len(r), len(h))
        ref_line.append(r.ljust(w))
        hyp_line.append(h.ljust(w))
        op_line.append((op if op != "C" else "").ljust(w))
    head = f"{uid}  N={c.ref} S={c.sub} D={c.dels} I={c.ins} PER={c.per:.1f}"
    return "\n".join([head] + [" ".join(x).rstrip() for x in (ref_line, hyp_line, op_line)]) + "\n"


# The head line of a block of format_alignment: "<uid>  N=.. S=.. D=.. I=.. PER=..".
_HEAD = re.compile(r"(?P<uid>\S+)  N=(?P<ref>\d+) S=(?P<sub>\d+) D=(?P<dels>\d+) I=(?P<ins>\d+) PER=\S+")


def parse_alignment_counts(text: str) -> Dict[str, ErrorCounts]:
    """Each utterance's counts, read back from the head lines of :func:`format_alignment` blocks.

    Raises:
        ValueError: an utterance appears twice (naming it).
    """
    out: Dict[str, ErrorCounts] = {}
    for line in text.splitlines():
        m = _HEAD.fullmatch(line)
        if m:
            if m["uid"] in out:
                raise ValueError(f"utterance {m['uid']!r} appears twice in the alignments")
            out[m["uid"]] = ErrorCounts(int(m["ref"]), int(m["sub"]), int(m["dels"]), int(m["ins"]))
    return out
