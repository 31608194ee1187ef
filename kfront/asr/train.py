"""Training a CTC phone recognizer with its front-end, end to end.

One call of :func:`train` runs (or resumes) one experiment in one folder:

    config.yaml   the resolved config
    init.pt       the weights at initialisation (the untrained baseline; the front-end's starting point)
    last.pt       everything needed to resume, written atomically after every epoch (with L2-SP, the
                  front-end's starting values it pulls toward)
    best.pt       the weights with the lowest dev PER so far
    log.csv       one row per epoch (rebuilt from the checkpoint's history, so it never disagrees with it)
    summary.json  best dev PER and epoch, training time, the front-end's parameter count
    status.txt    one line, replaced after every epoch: the epoch reached, its dev PER, the time left
    replicas.json under data parallelism: a digest of each rank's weights at the end

Resuming restarts the epoch that was interrupted from the state saved at the end of the one before, and the
batch order of an epoch depends only on (seed, epoch), so a resumed run ends exactly where an uninterrupted one
would. Set ``KFRONT_CRASH_AFTER_STEPS=N`` (or pass ``crash_after_steps``) to stop a run after N optimiser steps,
to test that.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from .._atomic import atomic_write
from ..frontend import count_parameters
from ..timit.manifest import read_manifest
from .builder import build_model, set_threads
from .checkpoint import atomic_save, load_checkpoint, write_csv_atomic
from .config import Config, config_from_dict, config_to_dict, save_config
from .data import BucketBatchSampler, PhoneVocab, UtteranceDataset, collate
from .distributed import DistInfo, all_gather_objects, cleanup_distributed, parameter_digest, setup_distributed
from .inference import eval_loader, evaluate
from .optim import InitAnchor, WarmupCosine, make_optimizer

__all__ = ["train", "TrainingInterrupted"]

log = logging.getLogger(__name__)

LOG_FIELDS = ["epoch", "train_loss", "dev_loss", "dev_per", "dev_sub", "dev_del", "dev_ins", "lr", "epoch_seconds",
              "train_seconds", "frontend_share", "best", "frontend_lr", "frontend_penalty"]
# Keys that may differ between a run and its resumption: where it runs, not what it computes.
_RESUME_MAY_DIFFER = {"train.device", "train.num_threads", "data.num_workers", "data.preload", "data.dir"}


class TrainingInterrupted(RuntimeError):
    """Raised on purpose after a given number of steps, to test resuming."""


def _flatten(d: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and not (prefix == "" and k == "frontend"):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif isinstance(v, dict):
            out.update({f"frontend.{kk}": vv for kk, vv in v.items()})
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_same_config(saved: Dict[str, Any], cfg: Config, path: Path) -> None:
    # A key the saved config lacks (written before the key existed) has its default: what that run trained with.
    a, b = _flatten(config_to_dict(config_from_dict(saved))), _flatten(config_to_dict(cfg))
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in _RESUME_MAY_DIFFER)
    if diff:
        raise ValueError(f"cannot resume from {str(path)!r}: its config differs in {diff} "
                         f"(e.g. {diff[0]}: {a.get(diff[0])!r} there, {b.get(diff[0])!r} now)")


def _rng_state(device: torch.device) -> Dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _sync(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _train_step(model, ddp, batch, vocab, optimizer, grad_clip, device, split: bool,
                anchor: InitAnchor | None = None):
    """One optimiser step. Returns (CTC loss, seconds in the front-end, seconds in total).

    With ``split``, the front-end's forward and backward are run (and timed) apart from the rest: the features
    are detached, the recognizer's backward yields their gradient, which is then pushed through the front-end.
    The gradients are the same as in one backward pass. Under data parallelism one pass is needed (DDP's gradient
    hooks expect it), and nothing is timed apart. The ``anchor``'s L2-SP penalty, when given, adds its gradient
    to the front-end's (in the front-end's time).
    """
    t0 = _sync(device)
    if split:
        feats, flen = model.frontend(batch.waveform, batch.lengths)  # (B, F, N), (B,)
        t1 = _sync(device)
        fe_grad = feats.requires_grad
        feats_in = feats.detach().requires_grad_(fe_grad)
        log_probs, out_lens = model.encode(feats_in, flen)  # (B, N', C), (B,)
    else:
        log_probs, out_lens = ddp(batch.waveform, batch.lengths)
    loss = F.ctc_loss(log_probs.transpose(0, 1), batch.labels, out_lens, batch.label_lengths,
                      blank=vocab.blank, reduction="mean", zero_infinity=True)
    optimizer.zero_grad(set_to_none=True)
    (loss if split or anchor is None else loss + anchor.penalty()).backward()
    fe_seconds = float("nan")
    if split:
        t2 = _sync(device)
        if fe_grad:
            feats.backward(feats_in.grad)
        if anchor is not None:
            anchor.penalty().backward()
        t3 = _sync(device)
        fe_seconds = (t1 - t0) + (t3 - t2)
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach()), fe_seconds, _sync(device) - t0


def train(cfg: Config, exp_dir, resume: bool = False, crash_after_steps: int | None = None,
          progress: bool | None = None) -> Dict[str, Any]:
    """Train (or resume training) one experiment; see the module docstring for what it writes.

    Args:
        cfg (Config): the resolved config.
        exp_dir (str or Path): the experiment folder.
        resume (bool, optional): continue from ``last.pt`` if there is one; a finished run returns at once.
            Without it, a folder that already holds a checkpoint is an error (nothing is overwritten).
            (Default: ``False``)
        crash_after_steps (int or None, optional): raise :class:`TrainingInterrupted` after this many optimiser
            steps of this call (default: ``KFRONT_CRASH_AFTER_STEPS`` if set).
        progress (bool or None, optional): tqdm bars; ``None``: only on a terminal. (Default: ``None``)

    Returns:
        dict: summary with ``best_dev_per``, ``best_epoch``, ``train_seconds``, ``frontend_params``, ``epochs``.
    """
    if crash_after_steps is None and os.environ.get("KFRONT_CRASH_AFTER_STEPS"):
        crash_after_steps = int(os.environ["KFRONT_CRASH_AFTER_STEPS"])
    exp_dir = Path(exp_dir)
    info = setup_distributed(cfg.train.device)
    try:
        return _train(cfg, exp_dir, resume, crash_after_steps, progress, info)
    finally:
        cleanup_distributed()


@dataclass
class _Run:
    """What one experiment trains with, built from its config."""

    model: torch.nn.Module
    vocab: PhoneVocab
    sampler: BucketBatchSampler
    train_loader: DataLoader
    dev_loader: DataLoader
    dev_refs: Dict[str, List[str]]
    optimizer: torch.optim.Optimizer
    schedule: WarmupCosine
    n_train: int
    n_dev: int
    frontend_params: int
    anchor: InitAnchor | None  # L2-SP toward the front-end's starting values, or None


@dataclass
class _State:
    """Where training stands after ``epoch`` epochs: what ``last.pt`` keeps besides the weights."""

    epoch: int = 0
    best_per: float = float("inf")
    best_epoch: int = 0
    history: List[Dict[str, Any]] = field(default_factory=list)


def _train(cfg: Config, exp_dir: Path, resume: bool, crash_after_steps: int | None, progress: bool | None,
           info: DistInfo) -> Dict[str, Any]:
    """Start afresh or restore ``last.pt``; then, epoch by epoch: train, evaluate on dev, save, report."""
    ckpt = _checkpoint_to_resume(exp_dir, cfg, resume, info.device)
    if ckpt is not None and ckpt["epoch"] >= cfg.train.epochs:
        if info.is_main:
            log.info("%s: finished (%d epochs); nothing to do", exp_dir, ckpt["epoch"])
        return ckpt["summary"]

    set_threads(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)
    run = _build(cfg, info)
    state = _start(run, cfg, exp_dir, info) if ckpt is None else _restore(run, ckpt, exp_dir, info)
    first_epoch = state.epoch
    if info.is_main:
        _write_status(exp_dir, f"epoch {state.epoch}/{cfg.train.epochs}, {'starting' if ckpt is None else 'resuming'}")

    ddp = run.model
    if info.enabled:
        ddp = DistributedDataParallel(run.model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
    steps = 0
    for epoch in range(first_epoch, cfg.train.epochs):
        t_epoch = time.perf_counter()
        loss, frontend_share, steps = _train_epoch(run, ddp, epoch, cfg, info, progress, steps, crash_after_steps)
        dev = evaluate(run.model, run.dev_loader, run.vocab, run.dev_refs, info.device, info)
        train_loss = sum(all_gather_objects(loss, info)) / info.world_size
        is_best = _record_epoch(state, train_loss, dev, frontend_share, time.perf_counter() - t_epoch,
                                run.optimizer.param_groups[0]["lr"], _frontend_lr(run.optimizer),
                                run.anchor.penalty().item() if run.anchor is not None else 0.0)
        summary = _summary(state, run, cfg, info)
        rng = all_gather_objects(_rng_state(info.device), info)
        if info.is_main:
            _save(run, state, summary, rng, is_best, cfg, exp_dir)
            _report(state, is_best, first_epoch, cfg, exp_dir)

    _check_replicas(run.model, exp_dir, info)
    return _summary(state, run, cfg, info) if state.history else {}


def _checkpoint_to_resume(exp_dir: Path, cfg: Config, resume: bool, device: torch.device) -> Dict | None:
    """``last.pt`` when there is one to resume (checked against ``cfg``), ``None`` for a fresh start."""
    last_path = exp_dir / "last.pt"
    if not last_path.is_file():
        return None
    if not resume:
        raise FileExistsError(f"{str(exp_dir)!r} already holds a checkpoint; pass resume to continue it, or "
                              f"choose another folder")
    ckpt = load_checkpoint(last_path, device)
    _check_same_config(ckpt["config"], cfg, last_path)
    return ckpt


def _build(cfg: Config, info: DistInfo) -> _Run:
    """The model (initialised from the global seed), the data and the optimiser of ``cfg``."""
    vocab = PhoneVocab()
    model = build_model(cfg, len(vocab)).to(info.device)
    sample_rate = int(cfg.frontend.get("sample_rate", 16000))

    data_dir = Path(cfg.data.dir)
    train_set = UtteranceDataset(read_manifest(data_dir / f"train.{cfg.data.format}"), vocab, sample_rate,
                                 cfg.data.preload)
    dev_entries = read_manifest(data_dir / f"dev.{cfg.data.format}")
    dev_set = UtteranceDataset(dev_entries, vocab, sample_rate, cfg.data.preload)
    sampler = BucketBatchSampler(train_set.lengths, int(cfg.data.batch_seconds * sample_rate),
                                 cfg.data.max_batch_size, shuffle=True, seed=cfg.train.seed, rank=info.rank,
                                 world_size=info.world_size)
    train_loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate,
                              num_workers=0 if cfg.data.preload else cfg.data.num_workers)
    dev_loader = eval_loader(dev_set, cfg.data.batch_seconds, cfg.data.max_batch_size, sample_rate, info)

    optimizer = make_optimizer(model, cfg.optim)
    schedule = WarmupCosine(optimizer, cfg.train.epochs, cfg.optim.warmup_epochs, cfg.optim.min_lr_ratio)
    # Made from the freshly built front-end; a resumed run replaces its values with the saved ones.
    anchor = InitAnchor(model.frontend, cfg.optim.frontend_l2sp) if cfg.optim.frontend_l2sp > 0 else None
    return _Run(model, vocab, sampler, train_loader, dev_loader,
                {e["id"]: e["phones39"].split() for e in dev_entries}, optimizer, schedule, len(train_set),
                len(dev_set), count_parameters(model.frontend), anchor)


def _start(run: _Run, cfg: Config, exp_dir: Path, info: DistInfo) -> _State:
    """A fresh run: the config and the weights at initialisation (``init.pt``) go to ``exp_dir``."""
    if info.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, exp_dir / "config.yaml")
        atomic_save({"model": run.model.state_dict(), "config": config_to_dict(cfg), "n_classes": len(run.vocab),
                     "epoch": 0}, exp_dir / "init.pt")
        log.info("%s: front-end %s with %d learnable parameters; %d train / %d dev utterances", exp_dir,
                 type(run.model.frontend).__name__, run.frontend_params, run.n_train, run.n_dev)
    return _State()


def _restore(run: _Run, ckpt: Dict[str, Any], exp_dir: Path, info: DistInfo) -> _State:
    """Weights, optimiser, schedule and random streams as ``last.pt`` left them."""
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.schedule.load_state_dict(ckpt["schedule"])
    if run.anchor is not None:
        run.anchor.load_state_dict(ckpt["frontend_anchor"])
    if len(ckpt["rng"]) != info.world_size:
        log.warning("%s was written by %d processes, resumed by %d: random streams restart from rank 0's",
                    exp_dir / "last.pt", len(ckpt["rng"]), info.world_size)
    _set_rng_state(ckpt["rng"][info.rank if len(ckpt["rng"]) == info.world_size else 0], info.device)
    state = _State(ckpt["epoch"], ckpt["best_per"], ckpt["best_epoch"], ckpt["history"])
    if info.is_main:
        log.info("%s: resuming after epoch %d (best dev PER %.2f at epoch %d)", exp_dir, state.epoch,
                 state.best_per, state.best_epoch)
    return state


def _train_epoch(run: _Run, ddp, epoch: int, cfg: Config, info: DistInfo, progress: bool | None, steps: int,
                 crash_after_steps: int | None):
    """One pass over the training set. Returns (mean loss, front-end share of step time, steps of this call)."""
    run.sampler.set_epoch(epoch)
    n_batches = len(run.sampler)
    run.model.train()
    split_frontend = not info.enabled
    loss_sum, fe_time, step_time = 0.0, 0.0, 0.0
    it = run.train_loader
    if info.is_main and progress is not False:
        from tqdm import tqdm
        # disable=None: a bar on a terminal only, so that logs written to files stay one line per epoch
        it = tqdm(run.train_loader, desc=f"epoch {epoch + 1}/{cfg.train.epochs}", unit="batch", leave=False,
                  disable=None if progress is None else False)
    for i, batch in enumerate(it):
        run.schedule.set_progress(epoch + i / n_batches)
        loss, fe_s, total_s = _train_step(run.model, ddp, batch.to(info.device), run.vocab, run.optimizer,
                                          cfg.optim.grad_clip, info.device, split_frontend, run.anchor)
        loss_sum += loss
        fe_time += fe_s
        step_time += total_s
        steps += 1
        if crash_after_steps is not None and steps >= crash_after_steps:
            raise TrainingInterrupted(f"stopped on purpose after {steps} steps (epoch {epoch + 1}, batch {i + 1})")
    run.schedule.set_progress(epoch + 1.0)
    share = round(fe_time / step_time, 4) if split_frontend and step_time > 0 else float("nan")
    return loss_sum / max(n_batches, 1), share, steps


def _frontend_lr(optimizer: torch.optim.Optimizer) -> float:
    """The front-end's current rate (its groups share it), ``nan`` when nothing in it learns."""
    rates = [g["lr"] for g in optimizer.param_groups if g["name"].startswith("frontend")]
    return rates[0] if rates else float("nan")


def _record_epoch(state: _State, train_loss: float, dev: Dict[str, float], frontend_share: float,
                  epoch_seconds: float, lr: float, frontend_lr: float = float("nan"),
                  frontend_penalty: float = 0.0) -> bool:
    """Append the epoch's row to the history and move the best so far; returns whether this epoch is the best."""
    state.epoch += 1
    is_best = dev["per"] < state.best_per
    if is_best:
        state.best_per, state.best_epoch = dev["per"], state.epoch
    previous = state.history[-1]["train_seconds"] if state.history else 0.0
    state.history.append({
        "epoch": state.epoch, "train_loss": round(train_loss, 4), "dev_loss": round(dev["loss"], 4),
        "dev_per": round(dev["per"], 3), "dev_sub": dev["sub"], "dev_del": dev["del"], "dev_ins": dev["ins"],
        "lr": lr, "epoch_seconds": round(epoch_seconds, 2), "train_seconds": round(epoch_seconds + previous, 2),
        "frontend_share": frontend_share, "best": int(is_best), "frontend_lr": frontend_lr,
        "frontend_penalty": frontend_penalty,
    })
    return is_best


def _summary(state: _State, run: _Run, cfg: Config, info: DistInfo) -> Dict[str, Any]:
    return {"best_dev_per": state.best_per, "best_epoch": state.best_epoch, "epochs": state.epoch,
            "train_seconds": state.history[-1]["train_seconds"], "frontend_params": run.frontend_params,
            "frontend": cfg.frontend.get("name"), "seed": cfg.train.seed, "world_size": info.world_size}


def _save(run: _Run, state: _State, summary: Dict[str, Any], rng: List[Dict[str, Any]], is_best: bool,
          cfg: Config, exp_dir: Path) -> None:
    """``best.pt`` when the epoch is the best so far, then ``last.pt``, ``log.csv`` and ``summary.json``."""
    config, n_classes = config_to_dict(cfg), len(run.vocab)
    if is_best:
        atomic_save({"model": run.model.state_dict(), "config": config, "n_classes": n_classes,
                     "epoch": state.epoch, "dev_per": state.best_per}, exp_dir / "best.pt")
    last = {"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "schedule": run.schedule.state_dict(), "rng": rng, "epoch": state.epoch, "best_per": state.best_per,
            "best_epoch": state.best_epoch, "history": state.history, "summary": summary, "config": config,
            "n_classes": n_classes}
    if run.anchor is not None:
        last["frontend_anchor"] = run.anchor.state_dict()
    atomic_save(last, exp_dir / "last.pt")
    write_csv_atomic(state.history, exp_dir / "log.csv", LOG_FIELDS)
    atomic_write(exp_dir / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())


def _report(state: _State, is_best: bool, first_epoch: int, cfg: Config, exp_dir: Path) -> None:
    """The epoch's line on stdout, and the run's one-line ``status.txt`` with the time left."""
    h, epochs = state.history[-1], cfg.train.epochs
    this_call = [r["epoch_seconds"] for r in state.history[first_epoch:]]  # not a resumed run's earlier epochs
    left = "done" if state.epoch >= epochs else \
        f"{_format_duration(sum(this_call) / len(this_call) * (epochs - state.epoch))} left"
    print(f"{exp_dir.name} epoch {state.epoch}/{epochs}: train loss {h['train_loss']:.3f}, "
          f"dev loss {h['dev_loss']:.3f}, dev PER {h['dev_per']:.2f}%, lr {h['lr']:.2e}, "
          f"{h['epoch_seconds']:.1f}s, front-end {100 * h['frontend_share']:.1f}% of step time, {left}"
          f"{' *' if is_best else ''}", flush=True)
    _write_status(exp_dir, f"epoch {state.epoch}/{epochs}, dev PER {h['dev_per']:.2f}%, {left}")


def _write_status(exp_dir: Path, text: str) -> None:
    # Replaced whole, never appended to: whoever reads it (run.sh, between epochs) sees one complete line.
    atomic_write(exp_dir / "status.txt", (text + "\n").encode(), sync_folder=False)


def _format_duration(seconds: float) -> str:
    """``"45s"``, ``"3m05s"`` or ``"1h02m"``: a time left, to the second below an hour."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _check_replicas(model: torch.nn.Module, exp_dir: Path, info: DistInfo) -> None:
    """Under data parallelism: every rank's weights are the same at the end (``replicas.json``)."""
    digests = all_gather_objects(parameter_digest(model), info)
    if info.is_main and info.enabled:
        atomic_write(exp_dir / "replicas.json", (json.dumps({"digests": digests}, indent=1) + "\n").encode())
        if len(set(digests)) != 1:
            raise RuntimeError(f"data-parallel replicas differ at the end of training: {digests}")
