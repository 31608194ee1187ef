"""Optimiser param groups (the front-end apart from the recognizer), the learning-rate schedule with the
front-end's freeze-then-release, and the front-end's pull toward its initialisation (L2-SP)."""
from __future__ import annotations

import math
from typing import Dict, List

import torch
from torch import nn

from .config import OptimConfig

__all__ = ["make_optimizer", "WarmupCosine", "InitAnchor", "release_factor"]


def _no_decay(name: str, p: nn.Parameter) -> bool:
    # Biases and 1-d gains are not weights to shrink; twiddles are flagged by the butterfly core because decaying
    # them pulls the transform away from the DFT it starts as, towards zero.
    return getattr(p, "_no_weight_decay", False) or p.ndim <= 1 or name.endswith(".bias")


def make_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW over four groups: recognizer and front-end, each with and without weight decay.

    The front-end's groups take ``cfg.frontend_lr`` and ``cfg.frontend_weight_decay``, and carry
    ``freeze_epochs`` / ``release_epochs`` (``cfg.frontend_freeze_epochs``, ``cfg.frontend_release_epochs``) for
    the schedule; empty groups are left out. Each group records its peak rate as ``base_lr`` for the schedule.

    Args:
        model (nn.Module): a :class:`kfront.asr.CTCModel` (its ``frontend`` attribute is the front-end).
        cfg (OptimConfig): the ``optim`` block of the config.
    """
    groups: Dict[str, List[nn.Parameter]] = {"model": [], "model_no_decay": [], "frontend": [],
                                             "frontend_no_decay": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        part = "frontend" if name.startswith("frontend.") else "model"
        groups[part + ("_no_decay" if _no_decay(name, p) else "")].append(p)
    settings = {
        "model": (cfg.lr, cfg.weight_decay),
        "model_no_decay": (cfg.lr, 0.0),
        "frontend": (cfg.frontend_lr, cfg.frontend_weight_decay),
        "frontend_no_decay": (cfg.frontend_lr, 0.0),
    }
    param_groups = [
        {"params": ps, "name": name, "lr": settings[name][0], "base_lr": settings[name][0],
         "weight_decay": settings[name][1]}
        for name, ps in groups.items() if ps
    ]
    for g in param_groups:
        if g["name"].startswith("frontend"):
            g.update(freeze_epochs=cfg.frontend_freeze_epochs, release_epochs=cfg.frontend_release_epochs)
    return torch.optim.AdamW(param_groups, betas=tuple(cfg.betas))


def release_factor(progress: float, freeze_epochs: float = 0.0, release_epochs: float = 0.0) -> float:
    """How much of its scheduled rate a group gets: 0 while frozen, then a linear ramp to 1.

    Args:
        progress (float): training progress in epochs.
        freeze_epochs (float, optional): the rate is 0 before this. (Default: ``0.0``)
        release_epochs (float, optional): length of the ramp from 0 to 1 after the freeze; 0 releases at once.
            (Default: ``0.0``)
    """
    if freeze_epochs < 0 or release_epochs < 0:
        raise ValueError(f"freeze_epochs and release_epochs must be >= 0, got {freeze_epochs}, {release_epochs}")
    if progress < freeze_epochs:
        return 0.0
    if release_epochs > 0 and progress < freeze_epochs + release_epochs:
        return (progress - freeze_epochs) / release_epochs
    return 1.0


class WarmupCosine:
    """Linear warmup then cosine decay, as a function of training progress measured in epochs.

    The rate of each param group is ``base_lr * factor(progress)``, times :func:`release_factor` for a group that
    carries ``freeze_epochs`` / ``release_epochs`` (the front-end's, from :func:`make_optimizer`); progress is
    ``epoch + step / steps_per_epoch``, so epochs with different numbers of batches follow the same curve.

    Args:
        optimizer (Optimizer): groups carry ``base_lr``.
        total_epochs (int): length of training.
        warmup_epochs (float, optional): (Default: ``1.0``)
        min_ratio (float, optional): final rate as a fraction of the peak. (Default: ``0.05``)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_epochs: int, warmup_epochs: float = 1.0,
                 min_ratio: float = 0.05):
        self.optimizer = optimizer
        self.total = float(total_epochs)
        self.warmup = float(warmup_epochs)
        self.min_ratio = min_ratio
        self.progress = 0.0

    def factor(self, progress: float) -> float:
        if self.warmup > 0 and progress < self.warmup:
            return (progress + 1e-3) / (self.warmup + 1e-3)
        span = max(self.total - self.warmup, 1e-8)
        t = min(max((progress - self.warmup) / span, 0.0), 1.0)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    def set_progress(self, progress: float) -> None:
        """Set every group's rate for the given progress (in epochs)."""
        self.progress = progress
        f = self.factor(progress)
        for g in self.optimizer.param_groups:
            g["lr"] = g["base_lr"] * f
            if g.get("freeze_epochs") or g.get("release_epochs"):
                g["lr"] *= release_factor(progress, g["freeze_epochs"], g["release_epochs"])

    def state_dict(self) -> Dict[str, float]:
        return {"total": self.total, "warmup": self.warmup, "min_ratio": self.min_ratio, "progress": self.progress}

    def load_state_dict(self, state: Dict[str, float]) -> None:
        self.total, self.warmup = state["total"], state["warmup"]
        self.min_ratio, self.progress = state["min_ratio"], state["progress"]
        self.set_progress(self.progress)


class InitAnchor:
    """L2-SP (Li et al., ICML 2018): a pull of a module's learnable parameters toward their starting values.

    ``penalty() = weight / 2 * sum_p |p - p0|^2`` over every parameter with ``requires_grad`` (a complex entry
    counts as its real and imaginary parts), so its gradient is ``weight * (p - p0)``. The starting values are
    copied when the anchor is made; :meth:`state_dict` keeps them, so a resumed run pulls toward the same point.

    Args:
        module (nn.Module): the front-end.
        weight (float): the penalty's weight, ``> 0``.

    Example:
        >>> anchor = InitAnchor(model.frontend, weight=1.0)
        >>> (ctc_loss + anchor.penalty()).backward()
    """

    def __init__(self, module: nn.Module, weight: float):
        if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
            raise ValueError(f"L2-SP weight must be a finite number > 0, got {weight!r}")
        self.weight = float(weight)
        self.params: Dict[str, nn.Parameter] = {n: p for n, p in module.named_parameters() if p.requires_grad}
        self.initial: Dict[str, torch.Tensor] = {n: p.detach().clone() for n, p in self.params.items()}

    def penalty(self) -> torch.Tensor:
        """``weight / 2 * sum |p - p0|^2``, a 0-d tensor in the parameters' real dtype (0 without parameters)."""
        total: torch.Tensor | None = None
        for name, p in self.params.items():
            d = p - self.initial[name]
            sq = (d.real.square() + d.imag.square()).sum() if d.is_complex() else d.square().sum()
            total = sq if total is None else total + sq
        return torch.zeros(()) if total is None else 0.5 * self.weight * total

    def state_dict(self) -> Dict[str, torch.Tensor]:
        return {n: t.clone() for n, t in self.initial.items()}

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        if set(state) != set(self.params):
            raise ValueError(f"L2-SP anchor holds {sorted(state)}, the module learns {sorted(self.params)}")
        for name, t in state.items():
            self.initial[name] = t.to(self.params[name].device, self.params[name].dtype).clone()
