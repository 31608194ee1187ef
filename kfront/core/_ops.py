"""Autograd and fake (meta) kernels of the compiled ``torch.ops.kfront`` ops.

Registered from Python, as pytorch/extension-cpp does, once the C++ library has declared the ops: autograd
routes ``butterfly_multiply``'s backward to the fused ``butterfly_multiply_backward`` kernel, and the fake
kernels give ``torch.compile`` and ``torch.library.opcheck`` output shapes without running anything.
"""
import torch

FORWARD = "kfront::butterfly_multiply"
BACKWARD = "kfront::butterfly_multiply_backward"


def _fake_forward(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool) -> torch.Tensor:
    # (batch, nstacks, n) -> (batch, nstacks, n); the kernel always returns a contiguous tensor
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _fake_backward(grad: torch.Tensor, twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool):
    return (torch.empty_like(twiddle, memory_format=torch.contiguous_format),
            torch.empty_like(x, memory_format=torch.contiguous_format))


def _setup_context(ctx, inputs, output) -> None:
    twiddle, x, increasing_stride = inputs
    # Only the inputs are kept: the backward kernel recomputes every layer's activations tile by tile.
    ctx.save_for_backward(twiddle, x)
    ctx.increasing_stride = increasing_stride


def _backward(ctx, grad: torch.Tensor):
    twiddle, x = ctx.saved_tensors
    d_twiddle, d_x = torch.ops.kfront.butterfly_multiply_backward(grad.contiguous(), twiddle, x,
                                                                  ctx.increasing_stride)
    return (d_twiddle if ctx.needs_input_grad[0] else None), (d_x if ctx.needs_input_grad[1] else None), None


def _setup_context_backward(ctx, inputs, output) -> None:
    pass


def _double_backward(ctx, d_d_twiddle, d_d_x):
    raise RuntimeError(
        "kfront: double backward (gradient of a gradient) through the compiled butterfly op is not supported; "
        "set KFRONT_BACKEND=reference to differentiate the pure-PyTorch reference to any order")


def register() -> None:
    """Register the fake and autograd kernels; call once, after the C++ library is loaded."""
    torch.library.register_fake(FORWARD)(_fake_forward)
    torch.library.register_fake(BACKWARD)(_fake_backward)
    torch.library.register_autograd(FORWARD, _backward, setup_context=_setup_context)
    torch.library.register_autograd(BACKWARD, _double_backward, setup_context=_setup_context_backward)
