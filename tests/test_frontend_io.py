"""Bad input, streaming, export, torch.compile, autocast, devices, diagnostics and plots of the front-ends."""
import importlib.util
import random

import pytest
import torch

import kfront
from kfront import MFCC, Fbank, KaleidoFrontend
from kfront.frontend import drift, filterbank_drift, freeze, frequency_response, kmatrix_drift
from kfront.frontend import functional as F

SMALL = dict(sample_rate=8000, n_fft=64, win_length=50, hop_length=16, n_mels=8)
CLASSES = [KaleidoFrontend, MFCC, Fbank]


def _all_frontends(**kw):
    return [KaleidoFrontend(output="mfcc", n_mfcc=5, **SMALL, **kw), MFCC(n_mfcc=5, **SMALL, **kw),
            Fbank(**SMALL, **kw)]


# --- bad input ----------------------------------------------------------------------------------------------
BAD_CALLS = [
    ("int16", lambda: (torch.zeros(2, 800, dtype=torch.int16),), {}, "int16"),
    ("complex", lambda: (torch.zeros(800, dtype=torch.complex64),), {}, "complex64"),
    ("0-d", lambda: (torch.tensor(1.0),), {}, "0-d"),
    ("list", lambda: ([0.0] * 800,), {}, "list"),
    ("short", lambda: (torch.zeros(2, 32),), {}, "32 samples"),
    ("nan", lambda: (torch.zeros(2, 800).index_fill_(1, torch.tensor([7]), float("nan")),), {}, r"\(0, 7\)"),
    ("inf", lambda: (torch.zeros(800).index_fill_(0, torch.tensor([9]), float("inf")),), {}, "inf"),
    ("rate", lambda: (torch.zeros(800),), {"sample_rate": 16000}, "16000"),
    ("lengths-size", lambda: (torch.zeros(2, 800), torch.tensor([800, 800, 800])), {}, r"\(3,\)"),
    ("lengths-float", lambda: (torch.zeros(2, 800), torch.tensor([800.0, 700.0])), {}, "float32"),
    ("lengths-long", lambda: (torch.zeros(2, 800), torch.tensor([800, 900])), {}, "900"),
    ("lengths-zero", lambda: (torch.zeros(2, 800), torch.tensor([0, 800])), {}, r"lengths\[0\] = 0"),
    ("lengths-1d", lambda: (torch.zeros(800), torch.tensor([800])), {}, "batched"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("case", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_value_error_naming_it(cls, case):
    _, make_args, kwargs, match = case
    fe = cls(**SMALL, n_mfcc=5) if cls is MFCC else cls(**SMALL)
    with pytest.raises(ValueError, match=match):
        fe(*make_args(), **kwargs)


def test_shortest_input_and_matching_rate():
    for fe in _all_frontends():
        assert fe(torch.randn(33), sample_rate=8000).shape[-1] == 1 + 33 // 16  # n_fft // 2 + 1 samples suffice
    assert KaleidoFrontend(center=False, **SMALL)(torch.randn(64)).shape == (8, 1)
    with pytest.raises(ValueError, match="63 samples"):
        KaleidoFrontend(center=False, **SMALL)(torch.randn(63))


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_fft=400, win_length=400), "power of 2"), (dict(win_length=600), "win_length"),
    (dict(f_max=9000.0), "f_max"), (dict(f_min=-1.0), "f_min"), (dict(hop_length=0), "hop_length"),
    (dict(output="spectrogram"), "output"), (dict(filterbank="gaussian"), "filterbank"),
    (dict(output="mfcc", n_mfcc=41), "n_mfcc"), (dict(window="kaiser"), "kaiser"), (dict(log_offset=0.0), "log_offset"),
    (dict(dtype=torch.float16), "float16"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KaleidoFrontend(**kwargs)


# --- streaming ----------------------------------------------------------------------------------------------
def _stream(fe, x, sizes):
    stream, parts, i = fe.stream(), [], 0
    while i < x.shape[-1]:
        n = next(sizes)
        parts.append(stream.push(x[..., i:i + n]))
        i += n
    parts.append(stream.flush())
    assert all(p.shape[:-1] == parts[0].shape[:-1] for p in parts)
    return torch.cat(parts, -1)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("hop", [16, 80])  # hop > n_fft skips samples between frames
def test_streaming_equals_offline(center, hop):
    rng = random.Random(0)
    frontends = _all_frontends(center=center) if hop == 16 else \
        [KaleidoFrontend(**{**SMALL, "hop_length": hop}, center=center, real_input="packed")]
    for fe in frontends:
        x = torch.randn(2, 600)
        offline = fe(x)
        for sizes in ([1] * 600, [5000], [33, 1, 64, 2, 500], None):
            it = iter(sizes) if sizes else iter(lambda: rng.choice([1, 2, 3, 17, 31, 64, 100, 257]), None)
            online = _stream(fe, x, it)
            assert online.shape == offline.shape
            if isinstance(fe, KaleidoFrontend):
                assert torch.equal(online, offline)  # same ops on the same frames
            else:  # the STFT's own batching can change the last bit
                torch.testing.assert_close(online, offline, rtol=1e-6, atol=1e-6)


def test_streaming_errors_and_reuse():
    fe = KaleidoFrontend(**SMALL)
    stream = fe.stream()
    stream.push(torch.randn(2, 20))
    assert stream.push(torch.randn(2, 10)).shape == (2, 8, 0)  # 30 samples: left padding not known yet
    with pytest.raises(ValueError, match="30 samples"):
        stream.flush()  # offline would refuse 30 samples too
    with pytest.raises(ValueError, match="leading shape"):
        stream.push(torch.randn(2, 10))
        stream.push(torch.randn(3, 10))
    stream.reset()
    with pytest.raises(ValueError, match="non-finite"):
        stream.push(torch.full((5,), float("nan")))
    x = torch.randn(500)
    assert torch.equal(_stream(fe, x, iter([100] * 5)), fe(x))  # usable again after reset


# --- export -------------------------------------------------------------------------------------------------
def _trained(**kw):
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn="all", **SMALL, **kw)
    opt = torch.optim.Adam(fe.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        fe(torch.randn(2, 400)).square().mean().backward()
        opt.step()
    return fe


@pytest.mark.parametrize("form,real_input", [("dense", "complex"), ("butterfly", "complex"),
                                             ("butterfly", "packed")])
def test_freeze_and_torch_export(form, real_input):
    fe = _trained(real_input=real_input)
    assert kmatrix_drift(fe) > 1e-3
    frozen = freeze(fe, form)
    assert not list(frozen.parameters()) and frozen.n_features == fe.n_features
    x = torch.randn(2, 800)
    want = fe(x).detach()
    torch.testing.assert_close(frozen(x), want, rtol=1e-4, atol=1e-4)
    program = torch.export.export(frozen, (x,))
    torch.testing.assert_close(program.module()(x), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(program.module()(x * 0.5), fe(x * 0.5).detach(), rtol=1e-4, atol=1e-4)
    feats, lengths = frozen(x, torch.tensor([800, 300]))
    assert lengths.tolist() == [51, 19]
    torch.testing.assert_close(frozen.analysis_matrix(), fe.analysis_matrix(), rtol=1e-5, atol=1e-5)


def test_freeze_fixed_frontend():
    fe = MFCC(**SMALL, n_mfcc=5)
    x = torch.randn(700)
    torch.testing.assert_close(freeze(fe)(x), fe(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="K-matrix"):
        freeze(fe, "butterfly")


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
                    reason="onnx / onnxscript are not installed")
def test_onnx_export(tmp_path):
    trained = _trained()
    frozen = freeze(trained)
    x = torch.randn(1, 800)
    torch.onnx.export(frozen, (x,), str(tmp_path / "frontend.onnx"), dynamo=True)
    assert (tmp_path / "frontend.onnx").stat().st_size > 0
    ort = pytest.importorskip("onnxruntime")
    runner = ort.InferenceSession(str(tmp_path / "frontend.onnx"))
    (got,) = runner.run(None, {runner.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        want = trained(x)  # the trained module itself, custom op and all
    torch.testing.assert_close(torch.from_numpy(got), want, rtol=1e-4, atol=1e-4)


# --- compile, autocast, devices -----------------------------------------------------------------------------
@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_torch_compile_forward_and_backward(real_input):
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn="all", real_input=real_input, **SMALL)
    x = torch.randn(2, 600)
    want = fe(x)
    want.sum().backward()
    grads = {n: p.grad.clone() for n, p in fe.named_parameters()}
    fe.zero_grad()
    compiled = torch.compile(fe, backend="aot_eager")  # aot_eager: dynamo + AOTAutograd, no codegen wait
    got = compiled(x)
    got.sum().backward()
    torch.testing.assert_close(got, want)
    for n, p in fe.named_parameters():
        torch.testing.assert_close(p.grad, grads[n], rtol=1e-5, atol=1e-5)


def test_torch_compile_fullgraph_on_reference_backend(monkeypatch):
    """The front-end's own code (input checks included) traces without a graph break."""
    monkeypatch.setenv("KFRONT_BACKEND", "reference")
    fe = KaleidoFrontend(learn="all", **SMALL)
    x, lengths = torch.randn(2, 600), torch.tensor([600, 300])
    feats, frames = torch.compile(fe, backend="aot_eager", fullgraph=True)(x, lengths)
    torch.testing.assert_close(feats, fe(x))
    assert frames.tolist() == [38, 19]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_keeps_float32(dtype):
    x = 0.9 * torch.randn(2, 600).clamp(-1, 1)
    for fe in _all_frontends():
        want = fe(x)
        with torch.autocast("cpu", dtype=dtype):
            got = fe(x.to(dtype))  # half-precision audio in, too
        assert got.dtype == torch.float32 and torch.isfinite(got).all()
        torch.testing.assert_close(got, fe(x.to(dtype).float()))
        assert (got - want).abs().max() < 0.5  # only the input's rounding differs
    fe = KaleidoFrontend(learn="all", **SMALL)
    with torch.autocast("cpu", dtype=dtype):
        loud = fe(torch.ones(600) * 1e3)  # |X|^2 ~ 1e12: would overflow float16
    loud.sum().backward()  # outside the autocast region, as torch.autocast's documentation asks
    assert torch.isfinite(loud).all() and all(torch.isfinite(p.grad).all() for p in fe.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():  # pragma: no cover - runs only with a GPU
    fe = KaleidoFrontend(output="mfcc", learn="all")
    x = torch.randn(2, 16000)
    want = fe(x)
    want.sum().backward()
    grad = fe.kmatrix.twiddle.grad.clone()
    fe_cuda = fe.cuda()
    fe_cuda.zero_grad()
    got = fe_cuda(x.cuda())
    got.sum().backward()
    torch.testing.assert_close(got.cpu(), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fe_cuda.kmatrix.twiddle.grad.cpu(), grad, rtol=1e-3, atol=1e-3)


# --- diagnostics and plots ----------------------------------------------------------------------------------
def test_drift_and_frequency_response():
    fe = KaleidoFrontend(output="mfcc", n_mfcc=5, learn="all", **SMALL)
    assert all(v < 1e-6 for v in drift(fe).values()) and set(drift(fe)) == {"kmatrix", "filterbank", "window", "dct"}
    freqs, resp = frequency_response(fe, n_points=401)
    assert freqs.shape == (401,) and resp.shape == (8, 401)
    centres = F.mel_points(0.0, 4000.0, 8)[1:-1]  # each channel peaks at its mel centre (within a bin)
    assert (freqs[resp.argmax(-1)] - centres).abs().max() <= 8000 / 64
    torch.testing.assert_close(frequency_response(MFCC(**SMALL, n_mfcc=5), 401)[1], resp)  # the same pipeline
    trained = _trained()
    d = drift(trained)
    assert d["kmatrix"] == kmatrix_drift(trained) > 1e-3 and d["filterbank"] == filterbank_drift(trained) > 1e-4
    assert d["window"] > 1e-4 and d["dct"] > 1e-4
    assert drift(MFCC(**SMALL, n_mfcc=5)) == {"kmatrix": 0.0, "filterbank": 0.0, "window": 0.0, "dct": 0.0}


@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_kmatrix_drift_from_random_init(real_input):
    fe = KaleidoFrontend(init="ortho", real_input=real_input, **SMALL)
    assert kmatrix_drift(fe) == 0.0
    with torch.no_grad():
        fe.kmatrix.twiddle.mul_(1.1)
    assert kmatrix_drift(fe) > 0.1


def test_plots_write_pngs(tmp_path):
    fe = _trained()
    paths = [kfront.plot.plot_filterbank(fe, tmp_path / "fb.png"), kfront.plot.plot_kmatrix(fe, tmp_path / "k.png"),
             kfront.plot.plot_frequency_response(MFCC(**SMALL, n_mfcc=5), tmp_path / "resp.png")]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
