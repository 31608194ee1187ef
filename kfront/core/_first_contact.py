"""The first-contact check of a GPU implementation of the butterfly ops: before its first use on a device type for a
dtype, it runs a small problem and is compared with the pure-PyTorch reference in double precision.

A kernel that compiles is not yet a kernel that is right on the GPU at hand (a compiler, a driver, an architecture
the tests never ran on); this costs one small forward and backward per dtype and process. :mod:`kfront.core._backend`
decides what a failed check means: a warning and the reference from then on under ``KFRONT_BACKEND=auto``, an
error where the implementation was asked for by name.
"""
import torch
from torch import nn

from ._reference import butterfly_multiply_reference

# Worst relative error accepted, by the precision of the twiddle: float32 rounding of a few layers leaves ~1e-6.
TOLERANCE = {torch.float32: 1e-4, torch.complex64: 1e-4, torch.float64: 1e-10, torch.complex128: 1e-10}
FAMILIES = {"butterfly_multiply": "product", "butterfly_multiply_power": "power"}


def _problem(dtype: torch.dtype, device: str):
    """Two stacks of two blocks (both stride orders) of n = 16; rows of 13 samples with a permutation; a real input
    where the twiddle is complex (the front-end's case)."""
    gen = torch.Generator().manual_seed(0)
    twiddle = torch.randn((2, 2, 4, 8, 2, 2), dtype=dtype, generator=gen) / 2 ** 0.5
    x = torch.randn((3, 2, 13), dtype=dtype.to_real() if dtype.is_complex else dtype, generator=gen)
    perm = torch.randperm(16, generator=gen)
    return twiddle.to(device), x.to(device), perm.to(device)


def _worst(named: dict) -> tuple[float, str]:
    """The largest error relative to the largest entry of its reference, and what it was in."""
    errors = {name: ((got.cpu().to(want.dtype) - want).abs().max() / want.abs().max().clamp_min(1e-300)).item()
              for name, (got, want) in named.items()}
    name = max(errors, key=lambda k: (errors[k] != errors[k], errors[k]))  # a NaN counts as the worst
    return errors[name], name


def check(ops, family: str, device: str, dtype: torch.dtype) -> str | None:
    """Run ``ops`` (a ``torch.ops`` namespace with the butterfly ops) on a small problem of ``dtype`` on ``device``
    against the reference; ``None`` when they agree, else what disagreed and by how much."""
    twiddle, x, perm = _problem(dtype, device)
    wide = torch.complex128 if dtype.is_complex else torch.float64
    tw_r = twiddle.cpu().to(wide).requires_grad_()
    x_r = x.cpu().to(wide.to_real() if dtype.is_complex else wide).requires_grad_()
    y_r = butterfly_multiply_reference(tw_r, nn.functional.pad(x_r, (0, 3))[..., perm.cpu()], False)
    try:
        if family == "product":
            grad = torch.randn(y_r.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
            out = ops.butterfly_multiply(twiddle, x, False, perm)
            d_tw, d_x = ops.butterfly_multiply_backward(grad.to(device), twiddle, x, False, True, perm)
            y_r.backward(grad.to(wide))
        else:
            k = 21  # all of stack 0 and part of stack 1
            power_r = torch.view_as_real(y_r.reshape(3, 32)[:, :k]).square().sum(-1)
            grad = torch.randn(power_r.shape, dtype=power_r.dtype, generator=torch.Generator().manual_seed(1))
            out = ops.butterfly_multiply_power(twiddle, x, False, k, None, perm)
            d_tw, d_x, _ = ops.butterfly_multiply_power_backward(grad.to(device, dtype.to_real()), twiddle, x, False,
                                                                   k, None, True, perm)
            y_r = power_r
            power_r.backward(grad)
    except Exception as exc:  # noqa: BLE001 - a kernel that fails to compile or run fails the check
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
    error, name = _worst({"output": (out, y_r.detach()), "twiddle gradient": (d_tw, tw_r.grad),
                          "input gradient": (d_x, x_r.grad)})
    if not error <= TOLERANCE[dtype]:
        return f"worst relative error {error:.3g} in the {name} (tolerance {TOLERANCE[dtype]:.0e})"
    return None
