"""KaleidoFrontend with a frame size that is not a power of 2 (n_fft = 400: Whisper's, SpeechBrain's, torchaudio's
default) is exact at init against torchaudio with the same n_fft, and streams, freezes, exports and plots."""
import pytest
import torch
import torchaudio

import kfront
from kfront import KaleidoFrontend
from kfront.frontend import drift, freeze, frequency_response, kmatrix_drift


def rel_err(a, b) -> float:
    return float((a - b).detach().abs().max() / b.detach().abs().max())


def noise(*shape, dtype=torch.float32, seed=0):
    return (0.1 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)).to(dtype)


KW = dict(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, n_mels=40, window="hann")


def torchaudio_reference(output: str, dtype: torch.dtype):
    """torchaudio's own transforms with n_fft=400, built in ``dtype`` (its mel filters and DCT follow the module's
    dtype once moved there; they are computed in float32 first, so the float64 check uses float64 constants)."""
    melkwargs = dict(n_fft=400, win_length=400, hop_length=160, n_mels=40, window_fn=torch.hann_window, mel_scale="htk")
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # torchaudio builds its filterbank and DCT in the default dtype
    try:
        if output == "mfcc":
            ta = torchaudio.transforms.MFCC(16000, n_mfcc=13, dct_type=2, norm="ortho", log_mels=True,
                                            melkwargs=melkwargs)
            return lambda x: ta.to(dtype)(x)
        mel = torchaudio.transforms.MelSpectrogram(16000, **melkwargs).to(dtype)
        return lambda x: torch.log(mel(x) + 1e-6)
    finally:
        torch.set_default_dtype(default)


@pytest.mark.parametrize("output", ["fbank", "mfcc"])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-9)])
@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_n_fft_400_equals_torchaudio_at_init(output, dtype, tol, real_input, speech):
    fe = KaleidoFrontend(output=output, real_input=real_input, dtype=dtype, **KW)
    assert fe.kmatrix.construction == "bluestein" and fe.config.n_freqs == 201
    reference = torchaudio_reference(output, dtype)
    for x in [noise(2, 8000, dtype=dtype)] + [w.to(dtype) for w in speech[:2]]:
        want, got = reference(x), fe(x)
        assert got.shape == want.shape == (*x.shape[:-1], fe.n_features, 1 + x.shape[-1] // 160)
        assert rel_err(got, want) <= tol


@pytest.mark.parametrize("n_fft", [400, 401, 441])
def test_any_n_fft_equals_the_fixed_twin(n_fft):
    kw = dict(KW, n_fft=n_fft, dtype=torch.float64)
    x = noise(3, 5000, dtype=torch.float64)
    want = kfront.MFCC(**kw)(x)
    assert rel_err(KaleidoFrontend(output="mfcc", **kw)(x), want) <= 1e-9
    # frame counts with lengths as for any n_fft
    feats, frames = KaleidoFrontend(**kw)(x, torch.tensor([5000, 3000, 300]))
    assert frames.tolist() == [kfront.Fbank(**kw).num_frames(n) for n in (5000, 3000, 300)]


def test_gradients_reach_every_learnable_stage_at_400():
    fe = KaleidoFrontend(output="mfcc", learn="all", **KW)
    fe(noise(2, 4000)).square().mean().backward()
    for name, p in fe.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_streaming_freeze_export_and_plots_at_400(tmp_path):
    fe = KaleidoFrontend(output="mfcc", learn="all", **KW)
    opt = torch.optim.Adam(fe.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        fe(noise(2, 3000, seed=1)).square().mean().backward()
        opt.step()
    x = noise(1, 4000, seed=2)
    want = fe(x).detach()
    stream = fe.stream()
    online = torch.cat([stream.push(x[..., i:i + 700]) for i in range(0, 4000, 700)] + [stream.flush()], -1)
    torch.testing.assert_close(online, want, rtol=1e-6, atol=1e-6)  # to rounding: see test_frontend_streaming
    assert kmatrix_drift(fe) > 1e-3
    for form in ("dense", "butterfly"):
        frozen = freeze(fe, form)
        torch.testing.assert_close(frozen(x), want, rtol=1e-4, atol=1e-4)
        assert kmatrix_drift(frozen) == pytest.approx(kmatrix_drift(fe), rel=1e-6)
    program = torch.export.export(freeze(fe), (x,))
    torch.testing.assert_close(program.module()(x), want, rtol=1e-4, atol=1e-4)
    assert set(drift(fe)) == {"kmatrix", "filterbank", "window", "dct"}
    freqs, resp = frequency_response(fe, n_points=101)
    assert resp.shape == (40, 101) and torch.isfinite(resp).all()
    for plot in (kfront.plot.plot_kmatrix, kfront.plot.plot_filterbank, kfront.plot.plot_frequency_response):
        path = plot(fe, tmp_path / f"{plot.__name__}.png")
        assert open(path, "rb").read(4) == b"\x89PNG"


def test_packed_needs_an_even_n_fft():
    with pytest.raises(ValueError, match="n_fft must be even.*got 401"):
        KaleidoFrontend(real_input="packed", **dict(KW, n_fft=401))
    assert KaleidoFrontend(**dict(KW, n_fft=401)).kmatrix.construction == "bluestein"  # complex input: any n_fft
