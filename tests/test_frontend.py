"""KaleidoFrontend at init equals the fixed pipeline; the fixed pipeline equals torchaudio and librosa."""
import io
import math

import pytest
import torch
import torchaudio

import kfront
from kfront import MFCC, Fbank, KaleidoFrontend, make_frontend
from kfront.frontend import functional as F


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max abs error relative to the reference's max abs value (log features cross zero, so no per-entry ratio)."""
    return float((a - b).detach().abs().max() / b.detach().abs().max())


def audio(*shape, sample_rate=16000, dtype=torch.float32, seed=0):
    """Noise plus a few tones: energy in every band, with strong and weak bins."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(shape[-1], dtype=torch.float64) / sample_rate
    x = 0.1 * torch.randn(*shape, generator=g, dtype=torch.float64)
    for f, a in ((220.0, 0.5), (1330.0, 0.3), (sample_rate * 0.37, 0.2)):
        x = x + a * torch.sin(2 * math.pi * f * t + torch.rand((), generator=g, dtype=torch.float64))
    return x.to(dtype)


CONFIGS = [  # (sample_rate, n_fft, win_length, hop_length, n_mels)
    (16000, 512, 400, 160, 40),
    (16000, 256, 256, 64, 23),
    (8000, 1024, 800, 320, 64),
]


@pytest.mark.parametrize("output", ["fbank", "mfcc"])
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-9)])
@pytest.mark.parametrize("shape", [(4000,), (2, 3, 4000)])
@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_kaleido_at_init_equals_fixed(output, cfg, dtype, tol, shape, real_input):
    sr, n_fft, win, hop, n_mels = cfg
    kw = dict(sample_rate=sr, n_fft=n_fft, win_length=win, hop_length=hop, n_mels=n_mels, dtype=dtype)
    base = MFCC(**kw) if output == "mfcc" else Fbank(**kw)
    ours = KaleidoFrontend(output=output, real_input=real_input, **kw)
    x = audio(*shape, sample_rate=sr, dtype=dtype)
    want, got = base(x), ours(x)
    n_frames = 1 + shape[-1] // hop
    assert got.shape == want.shape == (*shape[:-1], base.n_features, n_frames)
    assert got.dtype == dtype
    assert rel_err(got, want) <= tol


@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_spectrum_is_rfft_at_init(real_input):
    fe = KaleidoFrontend(dtype=torch.float64, real_input=real_input)
    frames = torch.randn(7, 512, dtype=torch.float64)
    window = F.pad_window(fe.window, 512)
    torch.testing.assert_close(fe.spectrum(frames), torch.fft.rfft(frames * window), rtol=0, atol=1e-11)
    torch.testing.assert_close(fe.transform_matrix(), torch.fft.rfft(torch.eye(512, dtype=torch.float64), dim=0),
                               rtol=0, atol=1e-11)


@pytest.mark.parametrize("output", ["fbank", "mfcc"])
def test_fixed_equals_torchaudio_transforms(output):
    melkwargs = dict(n_fft=512, win_length=400, hop_length=160, n_mels=40, f_min=20.0, f_max=7600.0,
                     window_fn=torch.hamming_window, mel_scale="htk")
    x = audio(2, 8000)
    if output == "mfcc":
        ta = torchaudio.transforms.MFCC(16000, n_mfcc=13, dct_type=2, norm="ortho", log_mels=True, melkwargs=melkwargs)
        want = ta(x)
        got = MFCC(n_mfcc=13, f_min=20.0, f_max=7600.0)(x)
    else:
        want = torch.log(torchaudio.transforms.MelSpectrogram(16000, **melkwargs)(x) + 1e-6)
        got = Fbank(f_min=20.0, f_max=7600.0)(x)
    assert rel_err(got, want) <= 1e-5


def test_constants_match_torchaudio_functional():
    # torchaudio computes in float32 (edges near 8 kHz carry ~5e-4 Hz of rounding), we in float64
    fb = F.mel_filterbank(257, 0.0, 8000.0, 40, 16000, torch.float32)
    torch.testing.assert_close(fb, torchaudio.functional.melscale_fbanks(257, 0.0, 8000.0, 40, 16000), rtol=0,
                               atol=1e-5)
    torch.testing.assert_close(F.create_dct(13, 40, torch.float32), torchaudio.functional.create_dct(13, 40, "ortho"),
                               rtol=0, atol=2e-6)  # float32 cos of arguments up to 12 pi
    assert F.num_frames(16000, 512, 160) == 101 and F.num_frames(16000, 512, 160, center=False) == 97


def test_matches_librosa():
    """librosa (numpy, float64) with the same conventions: center reflect padding, periodic Hamming window,
    power 2, HTK mel without norm, log(mel + 1e-6), orthonormal DCT-II. Documented tolerance: 1e-10 relative
    (float64 on both sides; the two differ only in summation order)."""
    librosa = pytest.importorskip("librosa")
    scipy_fft = pytest.importorskip("scipy.fft")
    x = audio(6000, dtype=torch.float64)
    mel = librosa.feature.melspectrogram(
        y=x.numpy(), sr=16000, n_fft=512, hop_length=160, win_length=400, window="hamming", center=True,
        pad_mode="reflect", power=2.0, n_mels=40, fmin=0.0, fmax=8000.0, htk=True, norm=None, dtype=x.numpy().dtype)
    logmel = torch.log(torch.from_numpy(mel) + 1e-6)
    mfcc = torch.from_numpy(scipy_fft.dct(logmel.numpy(), type=2, axis=-2, norm="ortho")[:13])
    assert rel_err(KaleidoFrontend(output="fbank", dtype=torch.float64)(x), logmel) <= 1e-10
    assert rel_err(KaleidoFrontend(output="mfcc", dtype=torch.float64)(x), mfcc) <= 1e-10


@pytest.mark.parametrize("name", ["mfcc", "fbank", "kaleido"])
def test_lengths_give_frame_counts(name):
    fe = make_frontend(name, n_fft=256, win_length=200, hop_length=80)
    x = audio(3, 3000)
    lengths = torch.tensor([3000, 1234, 129])
    feats, frame_lengths = fe(x, lengths)
    assert feats.shape == (3, fe.n_features, 1 + 3000 // 80)
    assert frame_lengths.dtype == torch.long
    for i, n in enumerate(lengths.tolist()):
        alone = fe(x[i, :n])
        assert frame_lengths[i] == alone.shape[-1]
        # frames that do not reach the padding are the same as for the item alone
        inner = (n - 128) // 80 + 1
        torch.testing.assert_close(feats[i, :, :inner], alone[:, :inner], rtol=1e-5, atol=1e-5)


def test_factory():
    assert isinstance(make_frontend("MFCC"), MFCC) and isinstance(make_frontend("fbank"), Fbank)
    k = make_frontend("kaleido", output="mfcc", n_mfcc=20, n_mels=30, learn="all")
    assert isinstance(k, KaleidoFrontend) and k.n_features == 20
    assert make_frontend("fbank", n_mels=64).n_features == 64 and make_frontend("mfcc").n_features == 13
    with pytest.raises(ValueError, match="'spectrogram'"):
        make_frontend("spectrogram")
    with pytest.raises(ValueError, match="learn"):
        make_frontend("mfcc", learn="all")
    assert kfront.make_frontend is make_frontend


def test_state_dict_round_trip():
    fe = KaleidoFrontend(output="mfcc", learn="all", n_fft=256, win_length=256, hop_length=128)
    x = audio(2, 2000)
    opt = torch.optim.SGD(fe.parameters(), lr=1e-3)
    fe(x).pow(2).mean().backward()
    opt.step()
    buf = io.BytesIO()
    torch.save(fe.state_dict(), buf)
    buf.seek(0)
    fresh = KaleidoFrontend(output="mfcc", learn="all", n_fft=256, win_length=256, hop_length=128)
    fresh.load_state_dict(torch.load(buf))
    torch.testing.assert_close(fresh(x), fe(x), rtol=0, atol=0)
    # a frozen twin (buffers instead of parameters) loads the same state dict
    frozen = KaleidoFrontend(output="mfcc", learn="none", n_fft=256, win_length=256, hop_length=128)
    frozen.load_state_dict(fe.state_dict())
    torch.testing.assert_close(frozen(x), fe(x), rtol=0, atol=0)
    assert not any(p.requires_grad for p in frozen.parameters())


def test_module_to_dtype_keeps_the_kmatrix_complex():
    """Module.to(float64) would drop the imaginary part of complex parameters; the K-matrix stays complex."""
    kw = dict(n_fft=64, win_length=64, hop_length=32, n_mels=8)
    fe = KaleidoFrontend(**kw).to(torch.float64)
    assert fe.kmatrix.twiddle.dtype == torch.complex128
    x = torch.randn(400, dtype=torch.float64)
    y = fe(x)
    assert y.dtype == torch.float64
    # the constants were rounded to float32 before the cast, so agreement is to float32 precision
    torch.testing.assert_close(y, KaleidoFrontend(**kw, dtype=torch.float64)(x), rtol=1e-5, atol=1e-6)
    half = KaleidoFrontend(**kw).to(torch.bfloat16)
    assert half.kmatrix.twiddle.dtype == torch.complex64


@pytest.mark.parametrize("real_input", ["complex", "packed"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_power_spectrum_matches_the_unfused_formula(real_input, dtype):
    """The power spectrum as kmatrix_spectrum computes it (window folded into the twiddles, the fused power or
    separated-power op where compiled) equals the formula written step by step on the reference product, for
    random twiddles, window and separation: values and the gradients of all three."""
    from kfront.core import butterfly_multiply_reference
    from kfront.core import separate
    from kfront.frontend._spectrum import kmatrix_spectrum

    fe = KaleidoFrontend(n_fft=64, win_length=48, hop_length=16, n_mels=8, real_input=real_input, dtype=dtype)
    km, n_fft, g = fe.kmatrix, 64, torch.Generator().manual_seed(3)
    tw = (km.twiddle.detach() + 0.3 * torch.randn(km.twiddle.shape, dtype=km.twiddle.dtype, generator=g))
    window = torch.rand(n_fft, dtype=dtype, generator=g)
    sep = None if fe.separation is None else (
        fe.separation.detach() + 0.2 * torch.randn(fe.separation.shape, dtype=fe.separation.dtype, generator=g))
    frames = torch.randn(2, 7, n_fft, dtype=dtype, generator=g)
    perm = km.perm if km.perm is not None else torch.arange(2 * tw.shape[3])

    def unfused(t, w, s):
        windowed = frames * w  # (2, 7, n_fft)
        if s is None:
            padded = nn_pad(windowed, 2 * t.shape[3] - n_fft)
            y = butterfly_multiply_reference(t, padded[..., perm].to(t.dtype).reshape(14, 1, -1), km.increasing_stride)
            return torch.view_as_real(y.reshape(2, 7, -1)[..., :fe.config.n_freqs]).square().sum(-1)
        z = torch.view_as_complex(windowed.unflatten(-1, (n_fft // 2, 2)).contiguous())  # (2, 7, n_fft / 2)
        z = nn_pad(z, 2 * t.shape[3] - n_fft // 2)[..., perm]
        y = butterfly_multiply_reference(t, z.reshape(14, 1, -1), km.increasing_stride).reshape(2, 7, -1)
        return torch.view_as_real(separate(y[..., :n_fft // 2], s)).square().sum(-1)

    def nn_pad(v, extra):
        return torch.nn.functional.pad(v, (0, extra)) if extra else v

    args = [t.clone().requires_grad_() for t in (tw, window)] + [None if sep is None else sep.clone().requires_grad_()]
    ref_args = [None if t is None else t.detach().clone().requires_grad_() for t in args]
    got = kmatrix_spectrum(frames, args[1], args[0], km.perm, km.increasing_stride, fe.config.n_freqs, args[2], power=True)
    want = unfused(*ref_args)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert rel_err(got, want) < tol
    grad = torch.randn(want.shape, dtype=dtype, generator=g)
    got.backward(grad)
    want.backward(grad)
    for a, b, what in zip(args, ref_args, ("twiddle", "window", "separation")):
        if a is not None:
            assert rel_err(a.grad, b.grad) < tol, what
