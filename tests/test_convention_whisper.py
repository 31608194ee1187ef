"""The "whisper" convention against transformers' WhisperFeatureExtractor: exact at init, and its gradients.

float64: against the extractor's NumPy path run in float64 (``_whisper_cases.float64_reference`` says why that is
the package's own computation), <= 1e-9 relative. float32: against the extractor's own output, torch path and
NumPy path, <= 1e-4. Random audio, quiet audio whose mel energies straddle the 1e-10 clamp, and the ``speech``
fixture; 80 and 128 bins; padded to 30 s and not padded; batches of different lengths.
"""
import numpy as np
import pytest
import torch

from _whisper_cases import (N_SAMPLES, extract, float64_reference, pad_to, rel_err,
                            transformers)
from kfront import KaleidoFrontend, make_frontend
from kfront.frontend import functional as F
from kfront.frontend import get_convention

MELS = [80, 128]
KINDS = ["fixed", "kaleido"]


def whisper_frontend(kind: str, n_mels: int, dtype=torch.float32, **overrides):
    if kind == "fixed":
        return make_frontend("fbank", convention="whisper", n_mels=n_mels, dtype=dtype, **overrides)
    return KaleidoFrontend(convention="whisper", n_mels=n_mels, dtype=dtype, **overrides)


def noise_waves() -> list:
    """Loud and soft noise, and noise at 3e-6 whose mel energies lie around the 1e-10 clamp (a log with an offset
    instead of a clamp would differ there). Lengths not multiples of the hop."""
    g = torch.Generator().manual_seed(13)
    loud = torch.rand(48_123, generator=g) - 0.5
    soft = 0.01 * torch.randn(20_011, generator=g)
    quiet = 3e-6 * torch.randn(16_161, generator=g)
    return [loud, soft, quiet]


@pytest.fixture(params=["noise", "speech"])
def waves(request, speech):
    return noise_waves() if request.param == "noise" else speech


def test_float64_reference_is_the_package_in_float64():
    # The reference differs from the extractor's own (float32-storing) NumPy path only by float32 rounding, and does
    # differ: the promotion took effect.
    wave = noise_waves()[0][:24_000]
    ours = float64_reference(wave[None].double().numpy())
    theirs = extract([wave], path="numpy", padding="longest")["input_features"]
    assert 1e-9 < rel_err(theirs, ours) < 1e-5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_mels", MELS)
def test_exact_float64_padded_to_30s(kind, n_mels, waves):
    padded = pad_to([w.double() for w in waves], N_SAMPLES)  # (batch, 480000)
    ref = float64_reference(padded.numpy(), n_mels)  # (batch, n_mels, 3000)
    ours = whisper_frontend(kind, n_mels, torch.float64)(padded)
    assert ours.shape == ref.shape == (len(waves), n_mels, 3000)
    assert rel_err(ours, ref) <= 1e-9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_mels", MELS)
def test_exact_float64_unpadded(kind, n_mels, waves):
    frontend = whisper_frontend(kind, n_mels, torch.float64)
    for wave in waves:
        ref = float64_reference(wave[None].double().numpy(), n_mels)  # (1, n_mels, time // 160)
        ours = frontend(wave[None].double())
        assert ours.shape == ref.shape == (1, n_mels, wave.shape[0] // 160)
        assert rel_err(ours, ref) <= 1e-9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["torch", "numpy"])
@pytest.mark.parametrize("n_mels", MELS)
def test_exact_float32_against_the_extractor(kind, path, n_mels, waves):
    # A batch of different lengths, padded by the extractor to 30 s and to the longest item: each item's features
    # are floored at that item's own maximum (a loud and a quiet item share the batch).
    frontend = whisper_frontend(kind, n_mels)
    for padding, length in (("max_length", N_SAMPLES), ("longest", max(w.shape[0] for w in waves))):
        ref = extract(waves, n_mels, path, padding=padding)["input_features"]
        ours = frontend(pad_to(waves, length))
        assert ours.dtype == torch.float32 and ours.shape == ref.shape == (len(waves), n_mels, length // 160)
        assert rel_err(ours, ref) <= 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_frame_counts_with_lengths(kind, speech):
    # The frame count of each item of a padded batch is what the extractor gives that item alone, unpadded.
    frontend = whisper_frontend(kind, 80)
    lengths = torch.tensor([w.shape[0] for w in speech])
    _, frame_lengths = frontend(pad_to(speech, int(lengths.max())), lengths)
    alone = [extract([w], padding="longest")["input_features"].shape[-1] for w in speech]
    assert frame_lengths.tolist() == alone
    for n in (201, 359, 360, 16_001):  # around hop multiples; 201 is the fewest reflect padding allows
        wave = torch.randn(n)
        assert frontend(wave).shape[-1] == extract([wave], padding="longest")["input_features"].shape[-1] == n // 160


@pytest.mark.parametrize("n_mels", MELS)
def test_filterbank_is_transformers_and_librosa(n_mels):
    # transformers' float64 Slaney filters exactly; openai-whisper's mel_filters.npz is librosa.filters.mel in
    # float32, the same filters to float32 rounding.
    librosa = pytest.importorskip("librosa")
    ours = whisper_frontend("fixed", n_mels, torch.float64).filterbank()  # (201, n_mels)
    hf = transformers.WhisperFeatureExtractor(feature_size=n_mels).mel_filters  # (201, n_mels)
    assert rel_err(ours, hf) <= 1e-12
    npz = librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels)  # (n_mels, 201), float32
    assert npz.dtype == np.float32 and rel_err(ours, npz.T) <= 1e-6
    window = whisper_frontend("fixed", n_mels, torch.float64).window_values()
    assert torch.equal(window, torch.hann_window(400, dtype=torch.float64))  # both torch paths' window
    assert rel_err(window, transformers.audio_utils.window_function(400, "hann")) <= 1e-15


def test_other_sample_rates_are_refused():
    with pytest.raises(ValueError, match=r"convention 'whisper' is defined at sample_rate \(16000,\), got "
                                         r"sample_rate=8000; resample"):
        get_convention("whisper", sample_rate=8000)
    with pytest.raises(ValueError, match="sample_rate=44100 does not match the 16000 Hz"):
        whisper_frontend("fixed", 80)(torch.randn(1000), sample_rate=44100)


def test_int16_audio_is_refused():
    with pytest.raises(ValueError, match=r"floating-point tensor, got dtype torch.int16 .*divide by 32768"):
        whisper_frontend("fixed", 80)(torch.zeros(1000, dtype=torch.int16))


# --- gradients --------------------------------------------------------------------------------------------------
SMALL = dict(n_fft=32, win_length=32, hop_length=8, n_mels=6)  # the whisper convention at a gradcheck size


def regimes(frontend, x):
    """Log10-mel energies before the floor, and the floor: what decides which kink each feature sits near."""
    cfg = frontend.config
    frames = F.frame(frontend.pad(x), cfg.frame_length, cfg.hop_length)[..., :-1, :]  # (batch, frames, n_fft)
    mel = frontend.power_spectrum(frames) @ frontend.filterbank()  # (batch, frames, n_mels)
    log = mel.clamp_min(1e-10).log10()
    return mel, log, log.amax(dim=(-2, -1), keepdim=True) - 8.0


def quiet_input() -> torch.Tensor:
    """Soft noise, then near-silence whose mel energies are clamped at 1e-10; nothing floored (max - 8 < -10)."""
    g = torch.Generator().manual_seed(0)
    x = 1e-2 * torch.randn(1, 96, generator=g, dtype=torch.float64)
    x[:, 48:] *= 1e-6
    return x


def loud_input() -> torch.Tensor:
    """Loud noise, then soft noise floored at max - 8 and clear of the clamp."""
    g = torch.Generator().manual_seed(1)
    x = 10.0 * torch.randn(1, 96, generator=g, dtype=torch.float64)
    x[:, 48:] *= 3e-5
    return x


def test_inputs_sit_where_they_claim():
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **SMALL)
    mel, log, floor = regimes(fixed, quiet_input())
    assert (mel < 1e-10).sum() >= 12 and not (log < floor).any()
    assert ((mel / 1e-10).log10().abs() > 0.05).all()  # clear of the clamp kink
    mel, log, floor = regimes(fixed, loud_input())
    assert (log < floor).sum() >= 12 and (mel > 1e-10).all()
    assert ((log - floor).abs() > 0.05).all()  # clear of the floor kink
    assert (log == log.max()).sum() == 1  # one argmax


@pytest.mark.parametrize("make_input", [quiet_input, loud_input])
def test_gradcheck_clamp_floor_and_scaling(make_input):
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **SMALL)
    x = make_input().requires_grad_()
    assert torch.autograd.gradcheck(fixed, (x,), eps=1e-7, atol=1e-8, rtol=1e-6, fast_mode=True)


def test_clamped_features_pass_no_gradient():
    # log10(max(mel, 1e-10)): a clamped feature is the constant -1.5; an offset (log10(mel + 1e-10)) would pass one.
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **SMALL)
    x = quiet_input().requires_grad_()
    mel, _, _ = regimes(fixed, x.detach())
    out = fixed(x).transpose(-1, -2)  # (batch, frames, n_mels)
    assert torch.allclose(out[mel < 1e-10], torch.tensor(-1.5, dtype=torch.float64))
    (grad,) = torch.autograd.grad(out[mel < 1e-10].sum(), x, allow_unused=True, retain_graph=True)
    assert grad is None or bool((grad == 0).all())
    (grad,) = torch.autograd.grad(out[mel > 1e-10].sum(), x)
    assert grad.abs().max() > 1.0


def test_floored_features_take_the_gradient_of_the_maximum():
    # Each floored feature is (max - 8 + 4) / 4: its gradient is the argmax feature's.
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **SMALL)
    x = loud_input().requires_grad_()
    _, log, floor = regimes(fixed, x.detach())
    out = fixed(x).transpose(-1, -2)  # (batch, frames, n_mels)
    floored = log < floor
    (g_floored,) = torch.autograd.grad(out[floored].sum(), x, retain_graph=True)
    (g_max,) = torch.autograd.grad(out[log == log.max()].sum(), x)
    assert g_max.abs().max() > 1e-3
    torch.testing.assert_close(g_floored, int(floored.sum()) * g_max, rtol=1e-10, atol=0)


def test_a_detached_maximum_fails_the_gradient_tests(monkeypatch):
    # The tests above catch the careless floor: max(x, max(x).detach() - 8) has the same values, wrong gradients.
    def careless(feats, dynamic_range):
        return torch.maximum(feats, feats.amax(dim=(-2, -1), keepdim=True).detach() - dynamic_range)

    monkeypatch.setattr(F, "floor_dynamic_range", careless)
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **SMALL)
    x = loud_input().requires_grad_()
    assert not torch.autograd.gradcheck(fixed, (x,), eps=1e-7, atol=1e-8, rtol=1e-6, fast_mode=True,
                                        raise_exception=False)
    with pytest.raises(AssertionError):
        test_floored_features_take_the_gradient_of_the_maximum()


def test_gradcheck_into_the_kmatrix():
    # The whisper convention's fixed stages at a power-of-2 size, differentiated with respect to the twiddles.
    frontend = KaleidoFrontend(convention="whisper", dtype=torch.float64, **SMALL)
    x = loud_input()
    twiddle = frontend.kmatrix.twiddle.detach().clone().requires_grad_()

    def features(tw):
        return torch.func.functional_call(frontend, {"kmatrix.twiddle": tw}, (x,))

    assert torch.autograd.gradcheck(features, (twiddle,), eps=1e-7, atol=1e-8, rtol=1e-6, fast_mode=True)


@pytest.mark.parametrize("overrides", [SMALL, {}], ids=["n_fft=32", "n_fft=400"])
def test_kmatrix_gradient_at_init(overrides):
    # At init the K-matrix front-end is the fixed twin, gradients included; the twiddles receive a gradient.
    fixed = make_frontend("fbank", convention="whisper", dtype=torch.float64, **overrides)
    kaleido = KaleidoFrontend(convention="whisper", dtype=torch.float64, **overrides)
    x = loud_input() if overrides else 0.1 * torch.randn(2, 8000, dtype=torch.float64)
    x_fixed, x_kaleido = x.clone().requires_grad_(), x.clone().requires_grad_()
    weight = torch.randn(fixed(x).shape, dtype=torch.float64)
    (fixed(x_fixed) * weight).sum().backward()
    (kaleido(x_kaleido) * weight).sum().backward()
    torch.testing.assert_close(x_kaleido.grad, x_fixed.grad, rtol=1e-9, atol=1e-12 * x_fixed.grad.abs().max())
    grad = kaleido.kmatrix.twiddle.grad
    assert torch.isfinite(torch.view_as_real(grad)).all() and grad.abs().max() > 0
