"""What the recognizer sees of a front-end's change: normalised feature change and random moves of a K-matrix."""
import pytest
import torch
from torch import nn

import kfront
from kfront.asr.analysis import normalised_change, perturbed


class Affine(nn.Module):
    """A front-end whose features are another's times a per-feature gain plus an offset."""

    def __init__(self, inner, gain, offset):
        super().__init__()
        self.inner, self.gain, self.offset, self.n_features = inner, gain, offset, inner.n_features

    def forward(self, x, lengths):
        f, n = self.inner(x, lengths)
        return f * self.gain[:, None] + self.offset[:, None], n


def test_normalised_change_sees_what_the_recognizer_sees():
    torch.manual_seed(0)
    waves = [torch.randn(4000), torch.randn(6400)]
    mfcc = kfront.make_frontend("mfcc")
    assert torch.equal(normalised_change(mfcc, mfcc, waves), torch.zeros(13, dtype=torch.float64))
    # per-utterance normalisation removes every feature's scale and offset: no change for the recognizer
    scaled = Affine(mfcc, torch.linspace(0.5, 4.0, 13), torch.linspace(-3.0, 3.0, 13))
    assert float(normalised_change(mfcc, scaled, waves).max()) < 1e-6
    # a sign flip of one feature: its normalised values become their negatives, a mean square difference of 4
    flip = Affine(mfcc, torch.tensor([1.0] * 12 + [-1.0]), torch.zeros(13))
    change = normalised_change(mfcc, flip, waves)
    assert change[:12].abs().max() < 1e-9 and change[12] == pytest.approx(4.0, rel=1e-3)
    with pytest.raises(ValueError, match="13 and 40"):
        normalised_change(mfcc, kfront.make_frontend("fbank"), waves)


def test_perturbed_moves_learnable_parameters_by_the_relative_size():
    fe = kfront.make_frontend("kaleido", output="mfcc")
    moved = perturbed(fe, 0.01, seed=3)
    tw, tw2 = fe.kmatrix.twiddle.detach(), moved.kmatrix.twiddle.detach()
    assert float(torch.linalg.vector_norm(tw2 - tw) / torch.linalg.vector_norm(tw)) == pytest.approx(0.01, rel=1e-4)
    assert torch.equal(perturbed(fe, 0.01, seed=3).kmatrix.twiddle, moved.kmatrix.twiddle)  # seeded
    assert torch.equal(fe.dct_mat, moved.dct_mat)  # a frozen stage stays
    waves = [torch.randn(4000)]
    assert float(normalised_change(fe, moved, waves).mean()) > 0
    with pytest.raises(ValueError, match="relative must be > 0"):
        perturbed(fe, 0.0)
