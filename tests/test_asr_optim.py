"""Optimiser groups (the front-end apart, twiddles without weight decay) and the learning-rate schedule."""
import torch
from torch import nn

import kfront
from kfront.asr.config import OptimConfig
from kfront.asr.model import CTCModel
from kfront.asr.optim import WarmupCosine, make_optimizer


def test_param_groups_and_no_weight_decay_flag(tiny_frontend):
    model = CTCModel(tiny_frontend(), n_classes=49, conv_channels=16, hidden=8, layers=1)
    cfg = OptimConfig(lr=1e-3, weight_decay=0.1, frontend_lr=5e-4, frontend_weight_decay=0.01)
    opt = make_optimizer(model, cfg)
    groups = {g["name"]: g for g in opt.param_groups}
    fe_no_decay = {id(p) for p in groups["frontend_no_decay"]["params"]}
    assert id(model.frontend.proj) in fe_no_decay  # flagged _no_weight_decay
    assert [id(p) for p in groups["frontend"]["params"]] == [id(model.frontend.gain)]
    assert groups["frontend"]["weight_decay"] == 0.01 and groups["frontend"]["lr"] == 5e-4
    assert groups["frontend_no_decay"]["weight_decay"] == 0.0
    assert groups["model"]["weight_decay"] == 0.1 and groups["model_no_decay"]["weight_decay"] == 0.0
    n = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def test_kaleido_twiddles_are_excluded_from_weight_decay():
    fe = kfront.make_frontend("kaleido", output="mfcc")
    model = CTCModel(fe, n_classes=49, conv_channels=16, hidden=8, layers=1)
    opt = make_optimizer(model, OptimConfig(frontend_weight_decay=0.1))
    flagged = [p for p in fe.parameters() if getattr(p, "_no_weight_decay", False)]
    assert flagged, "the K-matrix front-end flags its twiddles"
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert not any(id(p) in decayed for p in flagged)


def test_schedule():
    opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "base_lr": 1.0, "lr": 1.0}])
    s = WarmupCosine(opt, total_epochs=10, warmup_epochs=1, min_ratio=0.1)
    lrs = []
    for p in (0.0, 0.5, 1.0, 5.5, 10.0):
        s.set_progress(p)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] < lrs[1] < lrs[2] == 1.0 and lrs[3] < 1.0 and abs(lrs[4] - 0.1) < 1e-9
