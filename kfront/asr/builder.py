"""Building the recognizer from a config, and rebuilding it from a checkpoint."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import nn

from ..frontend import make_frontend
from .checkpoint import load_checkpoint
from .config import Config, ConfigError, config_from_dict
from .model import CTCModel

__all__ = ["build_frontend", "build_model", "load_model"]


def build_frontend(block: Dict[str, Any]) -> nn.Module:
    """Build the front-end named in a config's ``frontend`` block with :func:`kfront.make_frontend`.

    Raises:
        ConfigError: the block names an unknown front-end or argument (the message names it).
    """
    kwargs = dict(block)
    name = kwargs.pop("name")
    try:
        return make_frontend(name, **kwargs)
    except TypeError as e:
        # An unexpected keyword argument: Python's message names it.
        raise ConfigError(f"frontend block {block}: {e}") from None
    except ValueError as e:
        raise ConfigError(f"frontend block {block}: {e}") from None


def build_model(cfg: Config, n_classes: int) -> CTCModel:
    """The front-end of ``cfg.frontend`` followed by the recognizer of ``cfg.model``."""
    m = cfg.model
    return CTCModel(build_frontend(cfg.frontend), n_classes, subsample=m.subsample, conv_channels=m.conv_channels,
                    rnn=m.rnn, hidden=m.hidden, layers=m.layers, dropout=m.dropout)


def load_model(path, map_location="cpu") -> Tuple[CTCModel, Config, Dict[str, Any]]:
    """Rebuild a model from a checkpoint (``best.pt``, ``last.pt`` or ``init.pt``) with the config saved in it.

    Returns:
        (CTCModel, Config, dict): the model in eval mode, its config, and the checkpoint.
    """
    ckpt = load_checkpoint(path, map_location)
    cfg = config_from_dict(ckpt["config"])
    model = build_model(cfg, ckpt["n_classes"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, cfg, ckpt


def set_threads(n: int) -> None:
    """Set torch's CPU threads (0 keeps torch's default)."""
    if n > 0:
        torch.set_num_threads(n)
