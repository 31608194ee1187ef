"""Optimiser groups (the front-end apart, twiddles without weight decay), the learning-rate schedule, the
front-end's freeze-then-release and its L2-SP pull toward the initialisation."""
import pytest
import torch
from torch import nn

import kfront
from kfront.asr.config import OptimConfig
from kfront.asr.model import CTCModel
from kfront.asr.optim import InitAnchor, WarmupCosine, make_optimizer, release_factor


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


# --- the front-end's freeze-then-release and its pull toward the initialisation (L2-SP) --------------------------

def test_release_factor_per_epoch():
    assert [release_factor(p, 2.0, 2.0) for p in (0.0, 1.99, 2.0, 2.5, 3.0, 4.0, 9.0)] == \
        [0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert [release_factor(p, 1.0) for p in (0.5, 1.0)] == [0.0, 1.0]  # released at once
    assert [release_factor(p, 0.0, 4.0) for p in (0.0, 1.0, 4.0)] == [0.0, 0.25, 1.0]  # a warm-up of its own
    assert release_factor(0.0) == 1.0
    with pytest.raises(ValueError, match="-1"):
        release_factor(1.0, -1.0)


def test_frontend_rate_per_epoch_follows_freeze_then_release(tiny_frontend):
    model = CTCModel(tiny_frontend(), n_classes=49, conv_channels=16, hidden=8, layers=1)
    cfg = OptimConfig(lr=1e-3, frontend_lr=1e-4, frontend_freeze_epochs=2.0, frontend_release_epochs=2.0)
    opt = make_optimizer(model, cfg)
    s = WarmupCosine(opt, total_epochs=10, warmup_epochs=0.5, min_ratio=0.1)
    for progress in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0):
        s.set_progress(progress)
        f = s.factor(progress)
        want = 1e-4 * f * min(max(progress - 2.0, 0.0) / 2.0, 1.0)
        for g in opt.param_groups:
            assert g["lr"] == pytest.approx(want if g["name"].startswith("frontend") else 1e-3 * f, rel=1e-12,
                                            abs=0.0), (progress, g["name"])
    # without the keys the rates are the plain schedule's, bitwise
    plain = make_optimizer(model, OptimConfig(lr=1e-3, frontend_lr=1e-4))
    s2 = WarmupCosine(plain, total_epochs=10, warmup_epochs=0.5, min_ratio=0.1)
    s2.set_progress(3.3)
    assert all(g["lr"] == g["base_lr"] * s2.factor(3.3) for g in plain.param_groups)


def test_l2sp_penalty_value_and_gradient():
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    module.twiddle = nn.Parameter(torch.randn(4, dtype=torch.complex128))
    module.frozen = nn.Parameter(torch.randn(2), requires_grad=False)
    anchor = InitAnchor(module, weight=0.3)
    assert anchor.penalty().item() == 0.0  # at the starting point
    start = {n: p.detach().clone() for n, p in module.named_parameters()}
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))
    want = 0.15 * sum(float((p.detach() - start[n]).abs().square().sum()) for n, p in module.named_parameters()
                      if p.requires_grad)
    pen = anchor.penalty()
    assert pen.item() == pytest.approx(want, rel=1e-6)
    pen.backward()
    for n, p in module.named_parameters():
        if p.requires_grad:  # d/dp of w/2 |p - p0|^2 is w (p - p0), for the real and imaginary parts alike
            torch.testing.assert_close(p.grad, 0.3 * (p.detach() - start[n]))
    assert module.frozen.grad is None and "frozen" not in anchor.state_dict()
    holder = nn.Module()
    holder.z = nn.Parameter(torch.randn(3, dtype=torch.complex64))
    a = InitAnchor(holder, weight=2.0)
    with torch.no_grad():
        holder.z.add_(1 + 1j)
    pen = a.penalty()
    assert pen.dtype == torch.float32 and pen.item() == pytest.approx(0.5 * 2.0 * 3 * 2.0)  # |1 + i|^2 = 2 each


def test_l2sp_anchor_state_round_trip_and_checks():
    module = nn.Linear(3, 2)
    anchor = InitAnchor(module, weight=1.0)
    state = anchor.state_dict()
    with torch.no_grad():
        module.weight.add_(1.0)
    other = InitAnchor(module, weight=1.0)  # made from the moved values: pulls toward them
    assert other.penalty().item() == 0.0
    other.load_state_dict(state)  # the saved starting point: the same pull as the original anchor
    assert other.penalty().item() == anchor.penalty().item() == pytest.approx(0.5 * 6)
    with pytest.raises(ValueError, match="bias"):
        other.load_state_dict({"weight": state["weight"]})
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="L2-SP weight"):
            InitAnchor(module, bad)
