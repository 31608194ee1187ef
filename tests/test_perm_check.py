"""The ops (the C++ op and the Triton kernels) check an input permutation's values once per buffer, not on every
call.

The front-end passes the same perm buffer to every forward and backward; reading its values each time is, on CUDA,
a device-to-host synchronisation per call (and makes the op impossible to capture in a CUDA graph). The bindings
keep the result of a check against the buffer and its version counter (csrc/butterfly_perm.h; the Triton op:
kfront/core/_op_checks.py): an in-place change
is checked again, and the kernels read the checked copy, so a change that bypasses the version counter (through
``.data``) can neither reach them nor be silently half-applied.
"""
import pytest
import torch

from kfront.core import butterfly_multiply_reference, randn_twiddle

from _devices import DEVICES, TARGETS, ops, select_backend, unavailable  # noqa: F401 (an autouse fixture)

N = 16


def _problem(device, dtype=torch.complex64):
    gen = torch.Generator().manual_seed(0)
    tw = randn_twiddle((1, 1, 4, N // 2, 2, 2), dtype=dtype, generator=gen).to(device)  # log2 N = 4
    x = torch.randn(3, 1, N, dtype=dtype, generator=gen).to(device)
    return tw, x


def _perm(device):
    return torch.randperm(N, generator=torch.Generator().manual_seed(1)).to(device)


@pytest.mark.parametrize("device", DEVICES)
def test_a_permutation_is_checked_once_per_buffer_version(device):
    """After one check, values changed behind the version counter are not read (no second check, and the kernels
    keep the checked values); an in-place change bumps the version, and the next call checks again."""
    tw, x = _problem(device)
    op = ops(device).butterfly_multiply
    perm = _perm(device)
    want = butterfly_multiply_reference(tw, x, True, perm.clone())
    torch.testing.assert_close(op(tw, x, True, perm), want)
    perm.data[0] = perm.data[1]  # a repeated value; .data has its own version counter, so perm's is unchanged
    torch.testing.assert_close(op(tw, x, True, perm), want)  # not checked again: the checked copy ran
    grad = torch.randn_like(want)
    d_tw, d_x = ops(device).butterfly_multiply_backward(grad, tw, x, True, True, perm)
    tw_r, x_r = tw.clone().requires_grad_(), x.clone().requires_grad_()
    butterfly_multiply_reference(tw_r, x_r, True, _perm(device)).backward(grad)
    torch.testing.assert_close(d_x, x_r.grad)
    torch.testing.assert_close(d_tw, tw_r.grad)
    perm.add_(0)  # any in-place change bumps the version counter
    with pytest.raises(ValueError, match=rf"perm must be a permutation of 0 \.\. {N - 1}"):
        op(tw, x, True, perm)
    with pytest.raises(ValueError, match=rf"perm must be a permutation of 0 \.\. {N - 1}"):
        ops(device).butterfly_multiply_backward(grad, tw, x, True, True, perm)


@pytest.mark.parametrize("device", DEVICES)
def test_every_buffer_is_checked(device):
    """The check is per buffer, not per value: a second tensor holding a bad permutation is refused though a good
    one was checked before, and views of one buffer at other offsets are checked on their own."""
    tw, x = _problem(device)
    op = ops(device).butterfly_multiply
    good = _perm(device)
    op(tw, x, True, good)
    bad = good.clone()
    bad[3] = N
    with pytest.raises(ValueError, match=rf"perm\[3\] = {N} is out of range"):
        op(tw, x, True, bad)
    both = torch.cat([_perm(device), torch.full((N,), 2, device=device)])
    torch.testing.assert_close(op(tw, x, True, both[:N]), butterfly_multiply_reference(tw, x, True, _perm(device)))
    with pytest.raises(ValueError, match=r"is repeated"):
        op(tw, x, True, both[N:])


CUDA_TARGETS = [pytest.param(t, id=t.id, marks=pytest.mark.skipif(unavailable(t) is not None,
                                                                    reason=str(unavailable(t))))
                for t in TARGETS if t == "cuda"]


@pytest.mark.parametrize("device", CUDA_TARGETS)
def test_the_cuda_op_does_not_synchronise_on_a_checked_permutation(device):
    """Once the buffer is checked, forward and backward with perm make no device-to-host synchronisation."""
    tw, x = _problem("cuda")
    tw.requires_grad_()
    perm = _perm("cuda")
    op = ops(device).butterfly_multiply
    op(tw, x, True, perm).abs().sum().backward()  # the one check of this buffer
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = op(tw, x, True, perm)
        out.real.sum().backward()
        ops(device).butterfly_multiply_backward(torch.ones_like(out), tw.detach(), x.real.contiguous(), True, True,
                                                perm)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
