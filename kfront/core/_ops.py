"""Autograd and fake (meta) kernels of the butterfly ops: ``torch.ops.kfront`` (the compiled C++ op) and
``torch.ops.kfront_triton`` (the Triton kernels, :mod:`kfront.core._triton`), which share one schema.

Registered from Python, as pytorch/extension-cpp does, once a library has declared the ops: autograd routes
``butterfly_multiply``'s backward to the fused ``butterfly_multiply_backward`` kernel of the same namespace (and
``butterfly_multiply_power``'s to ``butterfly_multiply_power_backward``), and the fake kernels give
``torch.compile`` and ``torch.library.opcheck`` output shapes without running anything.
"""
import functools

import torch

# The schemas, as csrc/butterfly.cpp declares them for the C++ library; the Triton library declares the same.
SCHEMAS = {
    "butterfly_multiply": "(Tensor twiddle, Tensor x, bool increasing_stride, Tensor? perm=None) -> Tensor",
    "butterfly_multiply_backward": "(Tensor grad, Tensor twiddle, Tensor x, bool increasing_stride, "
                                   "bool input_grad=True, Tensor? perm=None) -> (Tensor, Tensor)",
    "butterfly_multiply_power": "(Tensor twiddle, Tensor x, bool increasing_stride, int k, "
                                "Tensor? separation=None, Tensor? perm=None) -> Tensor",
    "butterfly_multiply_power_backward": "(Tensor grad, Tensor twiddle, Tensor x, bool increasing_stride, int k, "
                                         "Tensor? separation=None, bool input_grad=True, Tensor? perm=None) "
                                         "-> (Tensor, Tensor, Tensor)",
}


def _fake_forward(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool,
                  perm: torch.Tensor | None = None) -> torch.Tensor:
    # (batch, nstacks, L) -> (batch, nstacks, n), contiguous, with the twiddle's dtype (x may be real when the
    # twiddle is complex; its rows, L <= n samples, are read zero-padded to n)
    return x.new_empty((x.shape[0], x.shape[1], 2 * twiddle.shape[3]), dtype=twiddle.dtype)


def _fake_backward(grad: torch.Tensor, twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool,
                   input_grad: bool = True, perm: torch.Tensor | None = None):
    # d_x has x's shape (batch, nstacks, L), grad the output's (batch, nstacks, n); d_x is an empty (0,)
    # placeholder when the input's gradient is not asked for
    d_x = torch.empty_like(x, memory_format=torch.contiguous_format) if input_grad else x.new_empty((0,))
    return torch.empty_like(twiddle, memory_format=torch.contiguous_format), d_x


def _setup_context(ctx, inputs, output) -> None:
    twiddle, x, increasing_stride, *perm = inputs  # perm is no input when left to its default
    # Only the inputs are kept: the backward kernel recomputes every layer's activations tile by tile.
    ctx.save_for_backward(twiddle, x, *perm)
    ctx.increasing_stride = increasing_stride


def _backward(namespace: str, ctx, grad: torch.Tensor):
    twiddle, x, *perm = ctx.saved_tensors
    # Frames cut from a waveform need no gradient: then the kernel skips d_x (its last layer's input gradient
    # and the write of a tensor the size of x).
    input_grad = ctx.needs_input_grad[1]
    d_twiddle, d_x = getattr(torch.ops, namespace).butterfly_multiply_backward(grad.contiguous(), twiddle, x,
                                                                  ctx.increasing_stride, input_grad, *perm)
    grads = (d_twiddle if ctx.needs_input_grad[0] else None), (d_x if input_grad else None), None, None
    return grads[:len(ctx.needs_input_grad)]


def _fake_power(twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool, k: int,
                separation: torch.Tensor | None = None, perm: torch.Tensor | None = None) -> torch.Tensor:
    return x.new_empty((x.shape[0], k), dtype=twiddle.real.dtype)  # (batch, k), real


def _fake_power_backward(grad: torch.Tensor, twiddle: torch.Tensor, x: torch.Tensor, increasing_stride: bool, k: int,
                         separation: torch.Tensor | None = None, input_grad: bool = True,
                         perm: torch.Tensor | None = None):
    d_separation = twiddle.new_empty((0,)) if separation is None else torch.empty_like(
        separation, memory_format=torch.contiguous_format)
    return (*_fake_backward(grad, twiddle, x, increasing_stride, input_grad), d_separation)


def _setup_context_power(ctx, inputs, output) -> None:
    twiddle, x, increasing_stride, k, *optional = inputs  # separation, perm: no inputs when left to their defaults
    separation, perm = (*optional, None, None)[:2]
    ctx.save_for_backward(twiddle, x, separation, perm)  # not the output: the backward recomputes it
    ctx.increasing_stride, ctx.k = increasing_stride, k


def _backward_power(namespace: str, ctx, grad: torch.Tensor):
    twiddle, x, separation, perm = ctx.saved_tensors
    input_grad = ctx.needs_input_grad[1]
    d_twiddle, d_x, d_separation = getattr(torch.ops, namespace).butterfly_multiply_power_backward(
        grad.contiguous(), twiddle, x, ctx.increasing_stride, ctx.k, separation, input_grad, perm)
    grads = ((d_twiddle if ctx.needs_input_grad[0] else None), (d_x if input_grad else None), None, None,
             (d_separation if separation is not None and ctx.needs_input_grad[4] else None), None)
    return grads[:len(ctx.needs_input_grad)]  # a separation or perm left to its default is no input


def _setup_context_backward(ctx, inputs, output) -> None:
    pass


def _double_backward(*grads):
    raise RuntimeError(
        "kfront: double backward (gradient of a gradient) through the compiled butterfly op is not supported; "
        "set KFRONT_BACKEND=reference to differentiate the pure-PyTorch reference to any order")


def register(namespace: str = "kfront") -> None:
    """Register the fake and autograd kernels of ``namespace``'s ops; call once, after its library declared
    them."""
    forward, backward = f"{namespace}::butterfly_multiply", f"{namespace}::butterfly_multiply_backward"
    power, power_backward = f"{namespace}::butterfly_multiply_power", f"{namespace}::butterfly_multiply_power_backward"
    torch.library.register_fake(forward)(_fake_forward)
    torch.library.register_fake(backward)(_fake_backward)
    torch.library.register_autograd(forward, functools.partial(_backward, namespace), setup_context=_setup_context)
    torch.library.register_autograd(backward, _double_backward, setup_context=_setup_context_backward)
    torch.library.register_fake(power)(_fake_power)
    torch.library.register_fake(power_backward)(_fake_power_backward)
    torch.library.register_autograd(power, functools.partial(_backward_power, namespace),
                                    setup_context=_setup_context_power)
    torch.library.register_autograd(power_backward, _double_backward, setup_context=_setup_context_backward)
