"""The recognizer behind any front-end; optimiser groups; the front-end's twiddles skip weight decay."""
import torch
from torch import nn

import kfront
from kfront.asr.config import OptimConfig
from kfront.asr.model import CTCModel, utterance_norm
from kfront.asr.optim import WarmupCosine, make_optimizer


class TinyFrontend(nn.Module):
    """Any module with the front-end contract will do: frames of 160 samples, one learnable projection."""

    n_features = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Parameter(torch.randn(8, 160) * 0.1)
        self.proj._no_weight_decay = True
        self.gain = nn.Parameter(torch.ones(8, 8))

    def forward(self, waveform, lengths=None):
        frames = waveform[:, : waveform.shape[1] // 160 * 160].unflatten(1, (-1, 160))  # (B, N, 160)
        feats = (self.gain @ (self.proj @ frames.transpose(1, 2)))  # (B, 8, N)
        return feats if lengths is None else (feats, lengths // 160)


def test_output_shapes_and_lengths():
    model = CTCModel(TinyFrontend(), n_classes=49, subsample=2, conv_channels=16, hidden=8, layers=2)
    lengths = torch.tensor([16000, 9600, 3200])
    log_probs, out_lens = model(torch.randn(3, 16000), lengths)
    assert log_probs.shape == (3, 50, 49)
    assert out_lens.tolist() == [50, 30, 10]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, 50), atol=1e-5)


def test_padding_does_not_change_an_utterance():
    torch.manual_seed(0)
    model = CTCModel(TinyFrontend(), n_classes=49, subsample=2, conv_channels=16, hidden=8, layers=1).eval()
    wav = torch.randn(1, 8000)
    alone, _ = model(wav, torch.tensor([8000]))
    padded, lens = model(torch.cat([wav, torch.zeros(1, 8000)], 1), torch.tensor([8000]))
    # the conv sees one padded frame at the edge; everything before it is unchanged
    assert torch.allclose(alone[0, :-1], padded[0, : alone.shape[1] - 1], atol=1e-5)


def test_utterance_norm_uses_valid_frames_only():
    feats = torch.randn(2, 3, 10) * 5 + 3
    lengths = torch.tensor([10, 6])
    out = utterance_norm(feats, lengths)
    assert torch.allclose(out[1, :, :6].mean(-1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out[1, :, :6].std(-1, unbiased=False), torch.ones(3), atol=1e-3)
    assert (out[1, :, 6:] == 0).all()


def test_param_groups_and_no_weight_decay_flag():
    model = CTCModel(TinyFrontend(), n_classes=49, conv_channels=16, hidden=8, layers=1)
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
