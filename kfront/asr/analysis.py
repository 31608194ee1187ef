"""How much a change of the front-end changes what the recognizer sees.

The recognizer sees the front-end's features after per-utterance normalisation of each feature
(:func:`kfront.asr.model.utterance_norm`), so a front-end's change is measured there: per feature, the mean
square difference of the normalised features of two front-ends over the valid frames of a set of utterances.
0 is no change; two unrelated signals of unit variance differ by 2. A feature of small variance (a high cepstrum)
is scaled up by the normalisation, and so is any change in it.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from .model import utterance_norm

__all__ = ["normalised_change", "perturbed"]


@torch.no_grad()
def normalised_change(a: nn.Module, b: nn.Module, waves: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per feature, the mean square difference of two front-ends' normalised features over ``waves``.

    Args:
        a, b (nn.Module): front-ends with the same ``n_features`` (``forward(waveform, lengths)`` ->
            ``(features (batch, n_features, frames), frame_lengths)``).
        waves (sequence of Tensor): utterances ``(time,)``, taken one at a time.

    Returns:
        Tensor: ``(n_features,)`` float64.

    Example:
        >>> normalised_change(initial.frontend, trained.frontend, [dev_wave_1, dev_wave_2])
    """
    if a.n_features != b.n_features:
        raise ValueError(f"front-ends differ in n_features: {a.n_features} and {b.n_features}")
    if not waves:
        raise ValueError("need at least one utterance")
    total = torch.zeros(a.n_features, dtype=torch.float64)
    frames = 0
    for w in waves:
        x, n = w[None, :], torch.tensor([w.shape[-1]])
        fa, la = a(x, n)  # (1, F, N), (1,)
        fb, lb = b(x, n)
        na, nb = utterance_norm(fa, la)[0], utterance_norm(fb, lb)[0]  # (F, N), zero past the valid frames
        total += (na - nb).to(torch.float64).square().sum(-1)
        frames += int(la[0])
    return total / frames


@torch.no_grad()
def perturbed(frontend: nn.Module, relative: float, seed: int = 0) -> nn.Module:
    """A copy of ``frontend`` whose learnable parameters are moved by random noise of relative size ``relative``.

    Each parameter ``p`` becomes ``p + relative * ||p|| * u / ||u||`` with ``u`` Gaussian (complex Gaussian for a
    complex ``p``), drawn from a generator seeded with ``seed``: a K-matrix moved as far as training moves it,
    in no particular direction.
    """
    if not relative > 0:
        raise ValueError(f"relative must be > 0, got {relative!r}")
    out = copy.deepcopy(frontend)
    gen = torch.Generator().manual_seed(seed)
    for p in out.parameters():
        if p.requires_grad:
            u = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            p.add_(relative * torch.linalg.vector_norm(p) * u / torch.linalg.vector_norm(u))
    return out
