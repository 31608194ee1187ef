"""Every stage the user makes learnable gets gradients; the fast path equals the module path; training works."""
import math

import pytest
import torch
from torch.func import functional_call

from kfront import KaleidoFrontend
from kfront.frontend import count_parameters, drift, kmatrix_drift

SMALL = dict(sample_rate=8000, n_fft=32, win_length=24, hop_length=8, n_mels=6, n_mfcc=4)


@pytest.mark.parametrize("stage", ["kmatrix", "window", "filterbank", "dct"])
def test_gradient_reaches_each_learnable_stage(stage):
    fe = KaleidoFrontend(output="mfcc", learn=(stage,), **SMALL)
    learnable = {n for n, p in fe.named_parameters() if p.requires_grad}
    expected = {"kmatrix": {"kmatrix.twiddle"}, "window": {"window"}, "filterbank": {"mel_log_steps"},
                "dct": {"dct_mat"}}[stage]
    assert learnable == expected
    fe(torch.randn(2, 300)).square().mean().backward()
    for name, p in fe.named_parameters():
        if name in expected:
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


def test_learn_all_and_none():
    fe = KaleidoFrontend(output="mfcc", learn="all", filterbank="free", **SMALL)
    assert fe.learn == ("kmatrix", "window", "filterbank", "dct")
    fe(torch.randn(300)).sum().backward()
    assert all(p.grad is not None for p in fe.parameters())
    assert count_parameters(KaleidoFrontend(learn="none", **SMALL)) == 0
    with pytest.raises(ValueError, match="'dct'"):
        KaleidoFrontend(output="fbank", learn=("dct",))
    with pytest.raises(ValueError, match="'fft'"):
        KaleidoFrontend(learn=("fft",))


@pytest.mark.parametrize("kwargs", [dict(), dict(kmatrix_width=2, init="ortho"), dict(kmatrix_expansion=2),
                                    dict(init="randn")])
def test_folded_gather_equals_kmatrix_module(kwargs):
    """The window and bit reversal folded into the framing gather give the K-matrix module's values and
    gradients (twiddle and window), for bit-reversed, unpermuted and expanded K-matrices."""
    torch.manual_seed(0)
    fe = KaleidoFrontend(learn=("kmatrix", "window"), dtype=torch.float64, **SMALL, **kwargs)
    frames = torch.randn(5, 3, SMALL["n_fft"], dtype=torch.float64)
    from kfront.frontend.functional import pad_window
    ours = fe.spectrum(frames)
    ref = fe.kmatrix(frames * pad_window(fe.window, fe.config.n_fft))
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn(ours.shape, dtype=torch.complex128)
    g1 = torch.autograd.grad((ours * w).real.sum(), (fe.kmatrix.twiddle, fe.window))
    g2 = torch.autograd.grad((ref * w).real.sum(), (fe.kmatrix.twiddle, fe.window))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(), dict(kmatrix_expansion=2, init="ortho")])
def test_packed_equals_explicit_real_fft_trick(kwargs):
    """real_input="packed": z = x_even + i x_odd through the K-matrix module, then the separation written out."""
    torch.manual_seed(0)
    fe = KaleidoFrontend(learn=("kmatrix", "window"), real_input="packed", dtype=torch.float64, **SMALL, **kwargs)
    with torch.no_grad():
        fe.separation.add_(0.1 * torch.randn_like(fe.separation))  # a trained separation, not the exact one
    frames = torch.randn(5, 3, SMALL["n_fft"], dtype=torch.float64)
    from kfront.frontend.functional import pad_window
    xw = frames * pad_window(fe.window, fe.config.n_fft)
    zspec = fe.kmatrix(torch.complex(xw[..., 0::2], xw[..., 1::2]))  # (..., n/2)
    half = fe.config.n_fft // 2
    a, b = fe.separation
    ref = torch.stack([a[k] * zspec[..., k % half] + b[k] * zspec[..., (half - k) % half].conj()
                       for k in range(half + 1)], -1)
    ours = fe.spectrum(frames)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn(ours.shape, dtype=torch.complex128)
    params = (fe.kmatrix.twiddle, fe.separation, fe.window)
    g1 = torch.autograd.grad((ours * w).real.sum(), params)
    g2 = torch.autograd.grad((ref * w).real.sum(), params)
    for x, y in zip(g1, g2):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-10)
    assert count_parameters(KaleidoFrontend(real_input="packed")) == 2 * (4 * 256 * 8 + 2 * 257)


@pytest.mark.parametrize("filterbank,name", [("triangular", "mel_log_steps"), ("free", "fb_sqrt")])
def test_filterbank_gradcheck(filterbank, name):
    fe = KaleidoFrontend(learn=("filterbank",), filterbank=filterbank, dtype=torch.float64,
                         **{**SMALL, "n_mels": 4})
    x = torch.randn(2, 200, dtype=torch.float64)
    p0 = getattr(fe, name).detach().clone()
    p0 = p0 + 0.05 * torch.randn_like(p0)  # away from init, where edges sit exactly on bin frequencies
    fn = lambda p: functional_call(fe, {name: p}, (x,))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (p0.requires_grad_(),), eps=1e-6, atol=1e-5, fast_mode=True)


def test_twiddle_gradcheck():
    fe = KaleidoFrontend(learn=("kmatrix",), dtype=torch.float64, **{**SMALL, "n_fft": 16, "win_length": 16,
                                                                     "n_mels": 4})
    x = torch.randn(1, 60, dtype=torch.float64)
    tw = fe.kmatrix.twiddle.detach().clone().requires_grad_()
    fn = lambda t: functional_call(fe, {"kmatrix.twiddle": t}, (x,))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (tw,), eps=1e-6, atol=1e-5, fast_mode=True)


@pytest.mark.parametrize("filterbank", ["triangular", "free"])
def test_filterbank_stays_nonnegative_and_ordered(filterbank):
    fe = KaleidoFrontend(learn=("filterbank",), filterbank=filterbank, **SMALL)
    opt = torch.optim.SGD(fe.parameters(), lr=5.0)
    for _ in range(5):  # push hard to make the filters' energies small
        opt.zero_grad()
        fe(torch.randn(2, 300)).sum().backward()
        opt.step()
    fb = fe.filterbank()
    assert (fb >= 0).all() and torch.isfinite(fb).all()
    assert drift(fe)["filterbank"] > 1e-3
    if filterbank == "triangular":
        edges = fe.mel_edges()
        assert (edges[1:] > edges[:-1]).all()


def _tones(n, gen, sr=8000, f2=3440.0, delta=250.0, length=480):
    """Class 0: tones at f2 -+ delta; class 1: one tone at f2 with the same power. All three frequencies lie
    between the same two mel edges, where the triangles are linear, so the mel energies are the same."""
    t = torch.arange(length, dtype=torch.float64) / sr
    y = torch.randint(0, 2, (n,), generator=gen)
    ph = torch.rand(n, 3, generator=gen, dtype=torch.float64) * 2 * math.pi
    two = torch.cos(2 * math.pi * (f2 - delta) * t + ph[:, :1]) + torch.cos(2 * math.pi * (f2 + delta) * t + ph[:, 1:2])
    one = math.sqrt(2) * torch.cos(2 * math.pi * f2 * t + ph[:, 2:3])
    x = torch.where(y[:, None] == 0, two, one) + 0.3 * torch.randn(n, length, generator=gen, dtype=torch.float64)
    return x.float(), y


def _train(learn, steps=30, real_input="complex"):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = _tones(256, gen)
    fe = KaleidoFrontend(sample_rate=8000, n_fft=64, win_length=64, hop_length=32, n_mels=6, learn=learn,
                         real_input=real_input)
    head = torch.nn.Linear(6, 2)
    opt = torch.optim.Adam([p for p in fe.parameters() if p.requires_grad] + list(head.parameters()), lr=0.01)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, 256, (32,), generator=gen)
        z = fe(x[idx]).mean(-1)  # (B, n_mels)
        z = (z - z.mean(0)) / (z.std(0) + 1e-3)
        loss = torch.nn.functional.cross_entropy(head(z), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return sum(losses[:5]) / 5, sum(losses[-5:]) / 5, kmatrix_drift(fe)


@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_training_learns_what_the_mel_filterbank_blurs(real_input):
    start, end, moved = _train(("kmatrix",), real_input=real_input)
    fixed_start, fixed_end, fixed_moved = _train((), real_input=real_input)
    assert fixed_moved < 1e-6 and fixed_end > 0.6  # the fixed front-end cannot tell the classes apart
    assert end < 0.5 * start and end < 0.5 * fixed_end
    assert moved > 0.05  # the K-matrix left the DFT
