"""KaleidoFrontend on CUDA: at init it equals kfront.MFCC on CUDA, and training gradients reach the K-matrix.

Skipped without a GPU. With one, every test runs once per GPU implementation of the butterfly op: the CUDA C++ op
(composed with the power, as the CUDA library has no fused power kernel) and the Triton kernels (with their fused
power), each skipped where it is unavailable.
"""
import pytest
import torch

from kfront import MFCC, KaleidoFrontend
from kfront.core import _backend, _triton
from test_frontend import audio, rel_err

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(autouse=True, params=["cuda", "triton"], ids=["cuda", "cuda-triton"])
def implementation(request, monkeypatch):
    """The GPU implementation the test runs on (KFRONT_BACKEND), skipped where it is unavailable."""
    if request.param == "triton" and _triton.unavailable() is not None:
        pytest.skip(f"Triton kernels unavailable: {_triton.unavailable()}")
    if request.param == "cuda" and not _backend.ensure_loaded("cuda"):
        pytest.skip(f"the compiled CUDA op is unavailable: {_backend.backend_reason('cuda')}")
    monkeypatch.setenv("KFRONT_BACKEND", request.param)
    return request.param

# The recipe's front-end (recipes/timit/conf/timit_*.yaml) and the library's default of 13 cepstra.
RECIPE = dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40)


@pytest.mark.parametrize("real_input", ["complex", "packed"])
@pytest.mark.parametrize("n_mfcc", [13, 40])
def test_equals_mfcc_on_cuda_at_init(n_mfcc, real_input):
    base = MFCC(n_mfcc=n_mfcc, **RECIPE).cuda()
    ours = KaleidoFrontend(output="mfcc", n_mfcc=n_mfcc, real_input=real_input, **RECIPE).cuda()
    x = audio(3, 32000).cuda()  # (batch, time)
    want, got = base(x), ours(x)
    assert got.device.type == "cuda" and got.shape == want.shape == (3, n_mfcc, 201)
    assert rel_err(got, want) <= 1e-4


@pytest.mark.parametrize("real_input", ["complex", "packed"])
def test_gradients_reach_the_kmatrix_on_cuda(real_input):
    """A loss on the CUDA features gives the twiddles a finite, non-zero gradient, the CPU's to float32 rounding."""
    fe = KaleidoFrontend(output="mfcc", real_input=real_input, learn=("kmatrix",), **RECIPE)
    x = audio(2, 16000)
    fe(x).square().mean().backward()
    want = fe.kmatrix.twiddle.grad.clone()
    fe = fe.cuda()
    fe.zero_grad()
    fe(x.cuda()).square().mean().backward()
    got = fe.kmatrix.twiddle.grad
    assert got is not None and got.device.type == "cuda" and torch.isfinite(got).all() and got.abs().max() > 0
    assert rel_err(got.cpu(), want) <= 1e-3


def test_the_cuda_front_end_runs_the_implementation(implementation):
    """The front-end's butterfly runs the implementation asked for (so the checks above cover its kernels)."""
    fe = KaleidoFrontend(output="mfcc", **RECIPE).cuda()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fe(audio(1, 8000).cuda())
    namespace = "kfront_triton" if implementation == "triton" else "kfront"
    assert any(f"{namespace}::butterfly_multiply" in e.key for e in prof.key_averages())
