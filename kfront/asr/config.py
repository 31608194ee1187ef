"""Experiment configuration: defaults in one place, YAML files and dotted command-line overrides on top.

A config file or override may only name keys that exist here (a typo is an error naming the key), except inside
the ``frontend`` block, whose keys are the keyword arguments of :func:`kfront.make_frontend` and are checked when
the front-end is built.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml

from .._atomic import atomic_write

__all__ = ["Config", "ConfigError", "load_config", "apply_overrides", "config_to_dict"]


class ConfigError(ValueError):
    """A config file or override names a key that does not exist or gives it a value of the wrong type."""


@dataclasses.dataclass
class DataConfig:
    dir: str = "data"               # folder holding the train/dev/test manifests
    format: str = "jsonl"           # manifest format: jsonl or tsv
    batch_seconds: float = 60.0     # audio per batch (batches are bucketed by length, so padding stays small)
    max_batch_size: int = 64        # utterances per batch at most
    preload: bool = True            # keep all waveforms in memory (TIMIT's train set is ~0.35 GB as float32)
    num_workers: int = 0            # DataLoader workers when not preloading


@dataclasses.dataclass
class ModelConfig:
    subsample: int = 2              # stride of the conv layer before the recurrent layers (1: none)
    conv_channels: int = 256        # channels of the conv layer (0: no conv layer)
    rnn: str = "gru"                # gru or lstm; bidirectional
    hidden: int = 256               # units per direction
    layers: int = 4
    dropout: float = 0.15


@dataclasses.dataclass
class OptimConfig:
    lr: float = 1e-3                # peak learning rate of the recognizer (Adam)
    betas: List[float] = dataclasses.field(default_factory=lambda: [0.9, 0.98])
    weight_decay: float = 0.0       # decoupled (AdamW); never applied to biases or normalisation gains
    frontend_lr: float = 1e-3       # the front-end's own param group
    frontend_weight_decay: float = 0.0  # never applied to parameters flagged _no_weight_decay (twiddles)
    frontend_l2sp: float = 0.0      # L2-SP: loss += w / 2 * sum |p - p_init|^2 over the front-end's parameters
    frontend_freeze_epochs: float = 0.0   # the front-end's rate is 0 for this many epochs (released after)
    frontend_release_epochs: float = 0.0  # then it rises linearly to the schedule's over this many epochs
    grad_clip: float = 5.0          # max global gradient norm
    warmup_epochs: float = 1.0      # linear warmup, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05


@dataclasses.dataclass
class TrainConfig:
    epochs: int = 30
    seed: int = 1
    device: str = "cpu"             # cpu, cuda, cuda:N (under torchrun, cuda means cuda:LOCAL_RANK)
    num_threads: int = 0            # torch intra-op threads on CPU (0: torch's default)


@dataclasses.dataclass
class DecodeConfig:
    method: str = "beam"            # greedy or beam (CTC prefix beam search); dev PER during training is greedy
    beam_size: int = 10


@dataclasses.dataclass
class Config:
    frontend: Dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "mfcc"})
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    decode: DecodeConfig = dataclasses.field(default_factory=DecodeConfig)


def config_to_dict(cfg: Config) -> Dict[str, Any]:
    """The config as plain nested dicts (what is written to YAML and saved with checkpoints)."""
    return dataclasses.asdict(cfg)


def _check_type(key: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        if isinstance(value, str):
            # YAML 1.1 reads "1e-3" (no dot) as a string: take it as the number it means.
            try:
                value = float(value)
            except ValueError:
                pass
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"config key {key!r} expects a {type(default).__name__}, got {value!r}")
    return value


def _merge(base: Dict[str, Any], new: Dict[str, Any], prefix: str = "") -> None:
    for key, value in new.items():
        full = f"{prefix}{key}"
        if prefix == "frontend.":
            # Front-end keyword arguments are checked by make_frontend, which knows them.
            base[key] = value
            continue
        if key not in base:
            raise ConfigError(f"unknown config key {full!r}; known keys here: {sorted(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {full!r} is a section; got {value!r}")
            if key == "frontend":
                # A front-end block replaces the default one whole: mfcc and kaleido take different arguments.
                base[key] = {}
            _merge(base[key], value, full + ".")
        else:
            base[key] = _check_type(full, base[key], value)


def _from_dict(d: Dict[str, Any]) -> Config:
    return Config(frontend=d["frontend"], model=ModelConfig(**d["model"]), data=DataConfig(**d["data"]),
                  optim=OptimConfig(**d["optim"]), train=TrainConfig(**d["train"]),
                  decode=DecodeConfig(**d["decode"]))


def config_from_dict(d: Dict[str, Any]) -> Config:
    """Build a config from nested dicts, on top of the defaults (unknown keys are errors)."""
    merged = config_to_dict(Config())
    _merge(merged, copy.deepcopy(d))
    if "name" not in merged["frontend"]:
        raise ConfigError("the frontend block needs a 'name' (mfcc, fbank or kaleido)")
    return _from_dict(merged)


def parse_override(text: str) -> Dict[str, Any]:
    """``"train.lr=1e-3"`` -> ``{"train": {"lr": 0.001}}``; the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form section.key=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    out: Dict[str, Any] = {}
    node = out
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"override {text!r} has an empty key part")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def apply_overrides(cfg: Config, overrides: Sequence[str]) -> Config:
    """Apply dotted ``section.key=value`` overrides to a config (unknown keys are errors)."""
    d = config_to_dict(cfg)
    for text in overrides:
        o = parse_override(text)
        if "frontend" in o and "name" in o["frontend"] and o["frontend"]["name"] != d["frontend"].get("name"):
            # Another front-end: its arguments are not the old one's, so start its block afresh.
            d["frontend"] = {}
        _merge_override(d, o)
    return _from_dict(d)


def _merge_override(d: Dict[str, Any], o: Dict[str, Any]) -> None:
    fe = o.pop("frontend", None)
    _merge(d, o)
    if fe is not None:
        if not isinstance(fe, dict):
            raise ConfigError(f"config key 'frontend' is a section; got {fe!r}")
        _merge(d["frontend"], fe, "frontend.")


def load_config(path=None, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config (keys it does not set keep their defaults) and apply overrides.

    Args:
        path (str, Path or None, optional): the YAML file. (Default: ``None``, the defaults)
        overrides (sequence of str, optional): ``section.key=value`` items, applied in order. (Default: ``()``)

    Raises:
        ConfigError: a key does not exist or a value has the wrong type (the message names the key and file).
    """
    d: Dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text()
        d = yaml.safe_load(text) or {}
        if not isinstance(d, dict):
            raise ConfigError(f"config file {str(path)!r} does not hold a mapping")
    try:
        cfg = config_from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return apply_overrides(cfg, overrides)


def save_config(cfg: Config, path) -> None:
    """Write the resolved config as YAML."""
    atomic_write(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False).encode())
