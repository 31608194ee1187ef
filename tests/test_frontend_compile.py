"""torch.compile, autocast and devices."""
import pytest
import torch

from kfront import KaleidoFrontend

from _frontend_cases import SMALL, all_frontends


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
    for fe in all_frontends():
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
