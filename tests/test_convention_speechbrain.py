"""The "speechbrain-fbank" / "speechbrain-mfcc" conventions against the installed speechbrain package.

Exact at init: ``make_frontend(...)`` (the fixed twin) and ``KaleidoFrontend`` against
``speechbrain.lobes.features.Fbank`` / ``MFCC``, in float64 (<= 1e-9 relative) and float32 (<= 1e-4), on noise and on
speech from the built-in corpus; gradients through the dB clamp, the top_db floor, deltas and context; bad input.
The adapter and a HyperPyYAML model are in test_integration_speechbrain.py.
"""
import pytest
import torch

speechbrain_features = pytest.importorskip("speechbrain.lobes.features")

from kfront import KaleidoFrontend, make_frontend  # noqa: E402
from kfront.frontend import functional as F  # noqa: E402
from kfront.frontend import get_convention  # noqa: E402
from kfront.frontend.conventions import SPEECHBRAIN_FBANK  # noqa: E402

from _speechbrain_espnet_cases import TOL, audio, rel, speechbrain_reference as speechbrain  # noqa: E402

CASES = {"speechbrain-fbank": ("fbank", speechbrain_features.Fbank),
         "speechbrain-mfcc": ("mfcc", speechbrain_features.MFCC)}


@pytest.mark.parametrize("kind", ["noise", "speech"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("convention", list(CASES))
def test_fixed_twin_equals_speechbrain(convention, dtype, kind, request):
    output, cls = CASES[convention]
    x = audio(kind, request).to(dtype)
    ref = speechbrain(cls, dtype)(x)  # (batch, frames, features)
    ours = make_frontend(output, convention=convention, dtype=dtype)(x).transpose(-1, -2)
    assert ours.shape == ref.shape == (x.shape[0], x.shape[1] // 160 + 1, 40 if output == "fbank" else 660)
    assert rel(ours, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("convention", list(CASES))
def test_fixed_twin_equals_speechbrain_at_8k(convention, dtype):
    """At 8 kHz SpeechBrain's 25 ms / 10 ms are 200 / 80 samples in the same 400-point transform."""
    output, cls = CASES[convention]
    x = audio("noise", sample_rate=8000).to(dtype)
    ref = speechbrain(cls, dtype, sample_rate=8000)(x)
    fe = make_frontend(output, convention=convention, sample_rate=8000, dtype=dtype)
    assert (fe.config.win_length, fe.config.hop_length, fe.config.n_fft, fe.config.f_max) == (200, 80, 400, 4000.0)
    assert rel(fe(x).transpose(-1, -2), ref) <= TOL[dtype]


@pytest.mark.parametrize("sample_rate", [8000, 11025, 16000, 22050, 44100])
@pytest.mark.parametrize("win_ms, hop_ms", [(25, 10), (32, 12.5), (20, 5), (30.5, 7.3)])
def test_milliseconds_to_samples_as_speechbrain_stft(sample_rate, win_ms, hop_ms):
    from speechbrain.processing.features import STFT

    stft = STFT(sample_rate=sample_rate, win_length=win_ms, hop_length=hop_ms, n_fft=4096)
    assert SPEECHBRAIN_FBANK.samples(win_ms, sample_rate) == stft.win_length
    assert SPEECHBRAIN_FBANK.samples(hop_ms, sample_rate) == stft.hop_length
    cfg = get_convention("speechbrain-fbank", sample_rate=sample_rate, n_fft=4096)
    assert (cfg.win_length, cfg.hop_length) == (SPEECHBRAIN_FBANK.samples(25, sample_rate),
                                                SPEECHBRAIN_FBANK.samples(10, sample_rate))


@pytest.mark.parametrize("kind", ["noise", "speech"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("convention", list(CASES))
@pytest.mark.parametrize("n_fft", [400, 512])
def test_kaleido_equals_speechbrain(n_fft, convention, dtype, kind, request):
    """SpeechBrain's default n_fft = 400 (the any-length DFT K-matrix) and 512 (the 25 ms window centred in 512
    points, a power-of-2 K-matrix)."""
    output, cls = CASES[convention]
    fe = KaleidoFrontend(convention=convention, n_fft=n_fft, dtype=dtype)
    x = audio(kind, request).to(dtype)
    ref = speechbrain(cls, dtype, n_fft=n_fft)(x)
    assert rel(fe(x).transpose(-1, -2), ref) <= TOL[dtype]


@pytest.mark.parametrize("convention", list(CASES))
def test_padded_batch_frames_and_lengths(convention):
    """SpeechBrain computes every item over the whole padded batch (no masking); kfront with ``lengths`` gives the
    same features and counts each item's frames as torch.stft would for it alone."""
    output, cls = CASES[convention]
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([16000, 11111, 4000])
    x = torch.randn(3, 16000, generator=gen, dtype=torch.float64)
    x[torch.arange(16000) >= lengths.unsqueeze(1)] = 0.0
    fe = make_frontend(output, convention=convention, dtype=torch.float64)
    feats, frames = fe(x, lengths=lengths)
    assert rel(feats.transpose(-1, -2), speechbrain(cls, torch.float64)(x)) <= 1e-9
    assert frames.tolist() == [n // 160 + 1 for n in lengths.tolist()]
    assert frames.tolist() == [speechbrain(cls, torch.float64)(x[i:i + 1, :n]).shape[1]
                               for i, n in enumerate(lengths.tolist())]


# --- gradients ---------------------------------------------------------------------------------------------------
def _check_away_from(values: torch.Tensor, kink: float, margin: float) -> None:
    assert bool(((values - kink).abs() > margin).all()), f"an input sits within {margin} of the kink at {kink}"


def test_gradcheck_db_clamp():
    """10 log10(max(x, 1e-10)): the gradient is 10 / (x ln 10) above the floor and 0 below it. Checked through
    x = exp(u), so that gradcheck's fixed step is a relative step in x on both sides of the floor."""
    x = torch.tensor([1e-13, 3e-12, 5e-9, 2e-4, 0.7, 12.0], dtype=torch.float64)
    _check_away_from(x.log(), float(torch.tensor(1e-10, dtype=torch.float64).log()), 1e-2)
    u = x.log().requires_grad_()
    assert torch.autograd.gradcheck(lambda v: F.compress(v.exp(), "db", 1e-10), (u,))
    g, = torch.autograd.grad(F.compress(u.exp(), "db", 1e-10).sum(), u)
    assert g[:2].eq(0).all() and torch.allclose(g[2:], torch.full((4,), 10 / torch.log(torch.tensor(10.0)).item(),
                                                                    dtype=torch.float64))


def test_gradcheck_top_db_floor():
    """max(x, max(x) - top_db): floored entries pass their gradient to the utterance maximum."""
    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(2, 7, 5, generator=gen, dtype=torch.float64) * 200 - 150).requires_grad_()
    top = x.detach().amax(dim=(-2, -1), keepdim=True)
    _check_away_from(x.detach() - (top - 80.0), 0.0, 1e-3)
    assert bool((x.detach() < top - 80).any()) and bool((x.detach() > top - 80).sum() > 1)
    assert torch.autograd.gradcheck(lambda v: F.floor_dynamic_range(v, 80.0), (x,))


def test_gradcheck_deltas_and_context():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: F.context_window(F.deltas(F.deltas(v, 5), 5), 3, 2), (x,))


def _small(convention: str, **kw) -> KaleidoFrontend:
    """A small front-end of the convention, float64: 32-point frames at 8 kHz, 6 mels."""
    extra = dict(n_mfcc=4, context=(2, 1)) if convention.endswith("mfcc") else {}
    return KaleidoFrontend(convention=convention, sample_rate=8000, n_fft=32, win_length=32, hop_length=16,
                           n_mels=6, dtype=torch.float64, **extra, **kw)


def _mel(fe, x: torch.Tensor) -> torch.Tensor:
    """The mel energies ``(frames, n_mels)`` before the dB step, from the front-end's public stages."""
    frames = F.frame(fe.pad(x), fe.config.frame_length, fe.config.hop_length)  # (frames, n_fft)
    return torch.matmul(fe.power_spectrum(frames), fe.filterbank()).detach()


@pytest.mark.parametrize("convention", list(CASES))
def test_gradcheck_pipeline_through_top_db(convention):
    """A loud half and a half 100 dB down: the top_db floor holds part of the features (away from its kink)."""
    fe = _small(convention)
    gen = torch.Generator().manual_seed(4)
    x = torch.cat((torch.randn(96, generator=gen), 1e-5 * torch.randn(64, generator=gen))).double()
    db = 10 * torch.log10(_mel(fe, x))
    floor = db.max() - 80.0
    assert bool((db < floor).any()) and bool((db > floor).any())
    _check_away_from(db, float(floor), 1e-3)
    assert torch.autograd.gradcheck(fe, (x.requires_grad_(),))


@pytest.mark.parametrize("convention", list(CASES))
def test_gradcheck_pipeline_through_db_clamp(convention):
    """Digital silence (mel energies below amin = 1e-10, clamped) next to sound; top_db widened so that the clamp,
    not the floor, holds the silent frames."""
    fe = _small(convention, dynamic_range=300.0)
    gen = torch.Generator().manual_seed(5)
    x = torch.cat((torch.randn(80, generator=gen, dtype=torch.float64), torch.zeros(80, dtype=torch.float64)))
    mel = _mel(fe, x)
    assert bool((mel < 1e-10).any()) and bool((mel > 1e-10).any())
    _check_away_from(mel[mel > 0], 1e-10, 5e-11)
    assert torch.autograd.gradcheck(fe, (x.requires_grad_(),))


@pytest.mark.parametrize("convention", list(CASES))
def test_gradcheck_kmatrix_twiddles(convention):
    """The analytic gradient reaching the K-matrix twiddles (complex) against finite differences."""
    fe = _small(convention)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 160, generator=gen, dtype=torch.float64)
    twiddle = fe.kmatrix.twiddle.detach().clone().requires_grad_()

    def features(tw):
        return torch.func.functional_call(fe, {"kmatrix.twiddle": tw}, (x,))

    assert torch.autograd.gradcheck(features, (twiddle,), fast_mode=True)  # random projections: 640 complex inputs


@pytest.mark.parametrize("convention", list(CASES))
def test_kmatrix_gradient_at_full_size(convention):
    """At SpeechBrain's sizes: the twiddle gradient is finite, reaches every layer, and its directional derivative
    matches a central difference."""
    fe = KaleidoFrontend(convention=convention, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 8000, generator=gen, dtype=torch.float64)
    weights = torch.randn(fe(x).shape, generator=gen, dtype=torch.float64)
    (fe(x) * weights).sum().backward()
    grad = fe.kmatrix.twiddle.grad
    assert grad is not None and bool(torch.isfinite(torch.view_as_real(grad)).all())
    assert bool((grad.abs().flatten(0, 2).amax(dim=(-3, -2, -1)) > 0).all())  # every layer gets a gradient
    direction = torch.randn(grad.shape, generator=gen, dtype=grad.dtype)
    h = 1e-6
    tw = fe.kmatrix.twiddle.detach()
    with torch.no_grad():
        loss = [(torch.func.functional_call(fe, {"kmatrix.twiddle": tw + s * h * direction}, (x,)) * weights).sum()
                for s in (1, -1)]
    numeric = float((loss[0] - loss[1]) / (2 * h))
    analytic = float((torch.view_as_real(grad) * torch.view_as_real(direction)).sum())
    assert abs(numeric - analytic) <= 1e-6 * abs(analytic)


# --- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("convention", list(CASES))
def test_bad_input(convention):
    output, _ = CASES[convention]
    fe = make_frontend(output, convention=convention)
    x = torch.randn(2, 4000)
    with pytest.raises(ValueError, match=r"sample_rate=8000 .*16000"):
        fe(x, sample_rate=8000)
    with pytest.raises(ValueError, match=r"floating-point.*int16.*32768"):
        fe((x * 1000).to(torch.int16))
    with pytest.raises(ValueError, match=r"0 samples"):
        fe(torch.zeros(2, 0))
    with pytest.raises(ValueError, match=r"float32.*relative lengths"):
        fe(x, lengths=torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"win_length must be <= n_fft = 400, got 1200"):
        make_frontend(output, convention=convention, sample_rate=48000)  # 25 ms at 48 kHz is 1200 samples
