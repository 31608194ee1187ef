"""CTC decoding: greedy (best path) and prefix beam search, without a language model."""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import torch

__all__ = ["greedy_decode", "prefix_beam_search", "ctc_decode"]

_NEG_INF = float("-inf")


def _logaddexp(a: float, b: float) -> float:
    if a == _NEG_INF:
        return b
    if b == _NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor | None = None, blank: int = 0) -> List[List[int]]:
    """Best-path decoding: the most likely class per frame, repeats merged, blanks removed.

    Args:
        log_probs (Tensor): ``(batch, frames, classes)`` (log-)probabilities; only their argmax matters.
        lengths (Tensor or None, optional): valid frames per item ``(batch,)``. (Default: all frames)
        blank (int, optional): index of the CTC blank. (Default: ``0``)

    Returns:
        list of list of int: the label sequence of each item.
    """
    best = log_probs.argmax(dim=-1).cpu()  # (B, T)
    B, T = best.shape
    lengths = lengths.tolist() if lengths is not None else [T] * B
    out = []
    for b in range(B):
        seq, prev = [], None
        for c in best[b, : lengths[b]].tolist():
            if c != prev and c != blank:
                seq.append(c)
            prev = c
        out.append(seq)
    return out


def prefix_beam_search(log_probs: torch.Tensor, beam_size: int = 10, blank: int = 0,
                       prune: float = -10.0, top_k: int | None = None) -> List[int]:
    """CTC prefix beam search (Hannun et al., 2014) for one utterance.

    Keeps, for each candidate label prefix, the probability of all paths that produce it ending in a blank and
    ending in a label, so that paths which collapse to the same labels are summed rather than competing.

    Args:
        log_probs (Tensor): ``(frames, classes)`` log-probabilities (log-softmax output).
        beam_size (int, optional): prefixes kept after each frame. (Default: ``10``)
        blank (int, optional): index of the CTC blank. (Default: ``0``)
        prune (float, optional): labels whose log-probability at a frame is below this are not tried as
            extensions there (the blank and the prefix's last label always are). (Default: ``-10.0``)
        top_k (int or None, optional): at most this many of the most likely labels are tried per frame, which
            bounds the work on flat posteriors (an untrained model's). (Default: ``beam_size``)

    Returns:
        list of int: the most probable label sequence found.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    lp = log_probs.detach().float().cpu()  # (T, C)
    top_k = min(beam_size if top_k is None else top_k, lp.shape[1])
    top_lp, top_ids = lp.topk(top_k, dim=1)  # (T, top_k)
    # beams: prefix -> (log p ending in blank, log p ending in a label)
    beams: Dict[Tuple[int, ...], Tuple[float, float]] = {(): (0.0, _NEG_INF)}
    for t in range(lp.shape[0]):
        frame = lp[t].tolist()
        candidates = [c for c, v in zip(top_ids[t].tolist(), top_lp[t].tolist()) if v >= prune and c != blank]
        nxt: Dict[Tuple[int, ...], List[float]] = {}

        def slot(prefix):
            s = nxt.get(prefix)
            if s is None:
                s = nxt[prefix] = [_NEG_INF, _NEG_INF]
            return s

        for prefix, (pb, pnb) in beams.items():
            total = _logaddexp(pb, pnb)
            s = slot(prefix)
            s[0] = _logaddexp(s[0], total + frame[blank])
            last = prefix[-1] if prefix else None
            if last is not None:
                # The last label repeated without a blank in between collapses into the same prefix.
                s[1] = _logaddexp(s[1], pnb + frame[last])
            for c in candidates:
                ext = slot(prefix + (c,))
                if c == last:
                    # A repeated label starts a new symbol only after a blank.
                    ext[1] = _logaddexp(ext[1], pb + frame[c])
                else:
                    ext[1] = _logaddexp(ext[1], total + frame[c])
        ranked = sorted(nxt.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]), reverse=True)
        beams = {p: (v[0], v[1]) for p, v in ranked[:beam_size]}
    best = max(beams.items(), key=lambda kv: _logaddexp(kv[1][0], kv[1][1]))
    return list(best[0])


def ctc_decode(log_probs: torch.Tensor, lengths: torch.Tensor, method: str = "greedy", beam_size: int = 10,
               blank: int = 0) -> List[List[int]]:
    """Decode a batch with the named method.

    Args:
        log_probs (Tensor): ``(batch, frames, classes)`` log-probabilities.
        lengths (Tensor): valid frames per item ``(batch,)``.
        method (str, optional): ``"greedy"`` or ``"beam"``. (Default: ``"greedy"``)
        beam_size (int, optional): for ``"beam"``. (Default: ``10``)
        blank (int, optional): index of the CTC blank. (Default: ``0``)
    """
    if method == "greedy":
        return greedy_decode(log_probs, lengths, blank)
    if method == "beam":
        return [prefix_beam_search(log_probs[b, : int(lengths[b])], beam_size, blank) for b in range(len(lengths))]
    raise ValueError(f"decoding method {method!r} is not one of 'greedy', 'beam'")
