"""The recipe accepts a frame size that is not a power of 2: its config builds the length-400 DFT K-matrix and trains."""
from pathlib import Path

import torch

from kfront.asr.builder import build_model
from kfront.asr.config import load_config

CONF = Path(__file__).resolve().parents[1] / "recipes" / "timit" / "conf"


def test_config_with_n_fft_400_trains_the_kmatrix():
    cfg = load_config(CONF / "mini_kaleido_mfcc.yaml", ["frontend.n_fft=400", "frontend.win_length=400"])
    model = build_model(cfg, n_classes=49)
    assert model.frontend.config.n_fft == 400 and model.frontend.kmatrix.construction == "bluestein"
    log_probs, lengths = model(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    assert log_probs.shape[:2] == (2, 51) and lengths.tolist() == [51, 38]
    log_probs[..., 0].sum().backward()  # the blank's log-probability: depends on the features
    grad = model.frontend.kmatrix.twiddle.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 1e-3
