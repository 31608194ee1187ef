"""The "espnet" convention against the installed ESPnet2 ``DefaultFrontend``.

Exact at init: ``make_frontend("fbank", convention="espnet")`` (the fixed twin) and ``KaleidoFrontend`` in float64
(<= 1e-9 relative) and float32 (<= 1e-4), on noise and on speech from the built-in corpus, with ESPnet's frame counts
and its zeroed padding frames (through the adapter, which applies them); options beyond the defaults; gradients
through the clamped log; bad input. The adapter in ESPnet's own model is in test_integration_espnet.py.
"""
import pytest
import torch

pytest.importorskip("espnet2.asr.frontend.default")

from kfront import KaleidoFrontend, make_frontend  # noqa: E402
from kfront.frontend import functional as F  # noqa: E402
from kfront.integrations.espnet import DefaultFrontend  # noqa: E402

from _speechbrain_espnet_cases import (  # noqa: E402
    TOL, assert_float32_as_accurate, audio, espnet_reference, lengths_of, rel)


def assert_equals_espnet(feats: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor, dtype: torch.dtype,
                         **options) -> None:
    """``feats`` (batch, frames, n_mels) against ESPnet's: float64 within 1e-9; float32 against ESPnet's float64 run
    within 1e-4 or ESPnet's own float32 error (see ``assert_float32_as_accurate``)."""
    ref64, _ = espnet_reference(torch.float64, **options)(x, lengths)
    if dtype == torch.float64:
        assert rel(feats, ref64) <= TOL[dtype]
    else:
        ref32, _ = espnet_reference(torch.float32, **options)(x.float(), lengths)
        assert_float32_as_accurate(feats, ref32, ref64)


def _batch(kind: str, request):
    """Audio ``(batch, time)`` and absolute lengths: the speech fixture's own, or three for the noise."""
    x = audio(kind, request)
    if kind == "speech":
        return x, lengths_of(request.getfixturevalue("speech"))
    return x, torch.tensor([x.shape[1], x.shape[1] * 2 // 3, 1001])


@pytest.mark.parametrize("kind", ["noise", "speech"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fixed_twin_equals_espnet(dtype, kind, request):
    x, lengths = _batch(kind, request)
    ref, ref_lengths = espnet_reference(dtype)(x.to(dtype), lengths)  # (batch, frames, 80)
    feats, frames = make_frontend("fbank", convention="espnet", dtype=dtype)(x.to(dtype), lengths=lengths)
    assert torch.equal(frames, ref_lengths)
    assert ref.shape == (x.shape[0], x.shape[1] // 128 + 1, 80)
    valid = torch.arange(ref.shape[1]) < frames.unsqueeze(1)  # (batch, frames): ESPnet zeroes the others
    assert bool((ref[~valid] == 0).all())
    assert_equals_espnet(feats.transpose(-1, -2) * valid.unsqueeze(-1), x, lengths, dtype)


@pytest.mark.parametrize("kind", ["noise", "speech"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("learnable", [False, True])
def test_adapter_equals_espnet(learnable, dtype, kind, request):
    """The adapter (a KaleidoFrontend, or the fixed twin) with ESPnet's lengths and zeroed padding frames."""
    x, lengths = _batch(kind, request)
    _, ref_lengths = espnet_reference(dtype)(x.to(dtype), lengths)
    feats, frames = DefaultFrontend(learnable=learnable, dtype=dtype)(x.to(dtype), lengths)
    assert torch.equal(frames, ref_lengths) and feats.dtype == dtype
    assert_equals_espnet(feats, x, lengths, dtype)


OPTIONS = [  # DefaultFrontend arguments beyond the defaults, each as ESPnet spells it
    dict(fs=8000, n_fft=256, hop_length=64, n_mels=40),
    dict(fs="16k", n_fft=400, win_length=320, hop_length=160, window="hamming"),
    dict(window="blackman", win_length=400),
    dict(window=None),
    dict(center=False),
    dict(normalized=True),
    dict(htk=True, fmin=20, fmax=7600, n_mels=40),
]


@pytest.mark.filterwarnings("ignore:A window was not provided")
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_options_equal_espnet(dtype, options):
    n_fft = options.get("n_fft", 512)
    x, lengths = _batch("noise", None)
    x = x.to(dtype)
    lengths[-1] = max(int(lengths[-1]), n_fft)  # center=False: ESPnet's STFT needs a whole frame
    ref, ref_lengths = espnet_reference(dtype, **options)(x, lengths)
    feats, frames = DefaultFrontend(learnable=False, dtype=dtype, **options)(x, lengths)
    assert torch.equal(frames, ref_lengths)
    assert rel(feats, ref) <= TOL[dtype]
    if n_fft & (n_fft - 1) == 0:  # a power of 2: the K-matrix today
        feats, _ = DefaultFrontend(dtype=dtype, **options)(x, lengths)
        assert rel(feats, ref) <= TOL[dtype]


@pytest.mark.parametrize("kind", ["noise", "speech"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_kaleido_frontend_equals_espnet(dtype, kind, request):
    """kfront's own layout and lengths: features of the valid frames are ESPnet's."""
    x, lengths = _batch(kind, request)
    feats, frames = KaleidoFrontend(convention="espnet", dtype=dtype)(x.to(dtype), lengths=lengths)
    valid = torch.arange(feats.shape[-1]) < frames.unsqueeze(1)
    assert_equals_espnet(feats.transpose(-1, -2) * valid.unsqueeze(-1), x, lengths, dtype)


def test_multichannel_as_espnet():
    """``(batch, samples, channels)``: ESPnet keeps channel 0 in eval mode and a numpy-random one in training."""
    from espnet2.asr.frontend.default import DefaultFrontend as ESPnetDefaultFrontend
    import numpy as np

    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2, 8000, 3, generator=gen)
    lengths = torch.tensor([8000, 6000])
    theirs, ours = ESPnetDefaultFrontend(), DefaultFrontend()
    for train in (False, True):
        theirs.train(train), ours.train(train)
        for seed in range(4):
            np.random.seed(seed)
            ref, ref_lengths = theirs(x, lengths)
            np.random.seed(seed)
            feats, frames = ours(x, lengths)
            assert torch.equal(frames, ref_lengths) and rel(feats, ref) <= 1e-4
    np.random.seed(1)
    picked = {int(np.random.randint(3)) for _ in range(4)}
    assert len(picked) > 1  # the seeds above reach more than one channel


# --- gradients ---------------------------------------------------------------------------------------------------
def test_gradcheck_clamped_log():
    """log(max(x, 1e-10)), through x = exp(u) so that gradcheck's step is relative on both sides of the floor."""
    u = torch.tensor([1e-14, 2e-12, 3e-9, 1e-3, 5.0], dtype=torch.float64).log().requires_grad_()
    assert bool(((u.detach() - torch.tensor(1e-10, dtype=torch.float64).log()).abs() > 1e-2).all())
    assert torch.autograd.gradcheck(lambda v: F.compress(v.exp(), "natural", 1e-10), (u,))
    g, = torch.autograd.grad(F.compress(u.exp(), "natural", 1e-10).sum(), u)
    assert g[:2].eq(0).all() and torch.allclose(g[2:], torch.ones(3, dtype=torch.float64))


def _small(**kw) -> DefaultFrontend:
    return DefaultFrontend(fs=8000, n_fft=32, hop_length=16, n_mels=6, dtype=torch.float64, **kw)


def test_gradcheck_adapter_through_clamp_and_padding():
    """Sound, digital silence (mel energies clamped at 1e-10) and a padded item whose last frames are zeroed."""
    fe = _small()
    gen = torch.Generator().manual_seed(9)
    x = torch.cat((torch.randn(2, 80, generator=gen, dtype=torch.float64), torch.zeros(2, 80, dtype=torch.float64)), 1)
    lengths = torch.tensor([160, 100])
    frames = F.frame(fe.frontend.pad(x), 32, 16)  # (2, frames, 32)
    mel = torch.matmul(fe.frontend.power_spectrum(frames), fe.frontend.filterbank()).detach()
    assert bool((mel < 1e-10).any()) and bool((mel[mel > 0] > 1e-9).all())
    assert torch.autograd.gradcheck(lambda v: fe(v, lengths)[0], (x.requires_grad_(),), fast_mode=True)


def test_gradcheck_kmatrix_twiddles():
    fe = _small()
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(2, 160, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([160, 120])
    twiddle = fe.frontend.kmatrix.twiddle.detach().clone().requires_grad_()

    def features(tw):
        return torch.func.functional_call(fe, {"frontend.kmatrix.twiddle": tw}, (x, lengths))[0]

    assert torch.autograd.gradcheck(features, (twiddle,), fast_mode=True)  # random projections: 640 complex inputs


def test_kmatrix_gradient_at_full_size():
    """ESPnet's sizes: the twiddle gradient is finite, reaches every layer, and its directional derivative matches a
    central difference; the zeroed padding frames pass none."""
    fe = DefaultFrontend(dtype=torch.float64)
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, 8000, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([8000, 5000])
    feats, frames = fe(x, lengths)
    weights = torch.randn(feats.shape, generator=gen, dtype=torch.float64)
    (feats * weights).sum().backward()
    grad = fe.frontend.kmatrix.twiddle.grad
    assert bool(torch.isfinite(torch.view_as_real(grad)).all())
    assert bool((grad.abs().flatten(0, 2).amax(dim=(-3, -2, -1)) > 0).all())
    direction = torch.randn(grad.shape, generator=gen, dtype=grad.dtype)
    h, tw = 1e-6, fe.frontend.kmatrix.twiddle.detach()
    with torch.no_grad():
        loss = [(torch.func.functional_call(fe, {"frontend.kmatrix.twiddle": tw + s * h * direction},
                                            (x, lengths))[0] * weights).sum() for s in (1, -1)]
    numeric = float((loss[0] - loss[1]) / (2 * h))
    analytic = float((torch.view_as_real(grad) * torch.view_as_real(direction)).sum())
    assert abs(numeric - analytic) <= 1e-6 * abs(analytic)
    xg = x.clone().requires_grad_()
    out, _ = fe(xg, lengths)
    out[1, frames[1]:].sum().backward()
    assert float(xg.grad.abs().max()) == 0.0  # zeroed frames depend on nothing
