"""Optimiser param groups (the front-end apart from the recognizer) and the learning-rate schedule."""
from __future__ import annotations

import math
from typing import Dict, List

import torch
from torch import nn

from .config import OptimConfig

__all__ = ["make_optimizer", "WarmupCosine"]


def _no_decay(name: str, p: nn.Parameter) -> bool:
    # Biases and 1-d gains are not weights to shrink; twiddles are flagged by the butterfly core because decaying
    # them pulls the transform away from the DFT it starts as, towards zero.
    return getattr(p, "_no_weight_decay", False) or p.ndim <= 1 or name.endswith(".bias")


def make_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW over four groups: recognizer and front-end, each with and without weight decay.

    The front-end's groups take ``cfg.frontend_lr`` and ``cfg.frontend_weight_decay``; empty groups are left out.
    Each group records its peak rate as ``base_lr`` for the schedule.

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
    return torch.optim.AdamW(param_groups, betas=tuple(cfg.betas))


class WarmupCosine:
    """Linear warmup then cosine decay, as a function of training progress measured in epochs.

    The rate of each param group is ``base_lr * factor(progress)``; progress is ``epoch + step / steps_per_epoch``,
    so epochs with different numbers of batches follow the same curve.

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

    def state_dict(self) -> Dict[str, float]:
        return {"total": self.total, "warmup": self.warmup, "min_ratio": self.min_ratio, "progress": self.progress}

    def load_state_dict(self, state: Dict[str, float]) -> None:
        self.total, self.warmup = state["total"], state["warmup"]
        self.min_ratio, self.progress = state["min_ratio"], state["progress"]
        self.set_progress(self.progress)
