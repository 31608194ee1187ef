"""Shared cases of the front-end tests: small settings, every front-end class, a briefly trained front-end."""
import torch

from kfront import MFCC, Fbank, KaleidoFrontend

SMALL = dict(sample_rate=8000, n_fft=64, win_length=50, hop_length=16, n_mels=8)
CLASSES = [KaleidoFrontend, MFCC, Fbank]


def all_frontends(**kw):
    return [KaleidoFrontend(output="mfcc", n_mfcc=5, **SMALL, **kw), MFCC(n_mfcc=5, **SMALL, **kw),
            Fbank(**SMALL, **kw)]


def trained(**kw):
    """A KaleidoFrontend whose every stage has moved a little (three Adam steps)."""
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn="all", **SMALL, **kw)
    opt = torch.optim.Adam(fe.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        fe(torch.randn(2, 400)).square().mean().backward()
        opt.step()
    return fe
