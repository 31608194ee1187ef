"""The CUDA butterfly kernels, run on the CPU by their host emulation.

``csrc/cuda/emulation/butterfly_emulation.cpp`` compiles the kernel bodies and launch sequence of
``csrc/cuda/`` unchanged with the host C++ compiler and runs every CUDA thread of a block as a thread meeting
at a barrier. These tests check the kernels' index arithmetic, chunking and gradient accumulation against
the pure-PyTorch reference without a GPU; ``tests/test_cuda_op.py`` runs the real kernels where there is one.
The op's own x (rows shorter than n, real values for a complex twiddle, an input permutation) goes through the
kernels' staging loads and d_x comes back in x's shape and order: those cases run here too.
"""
import ctypes
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from kfront.core import bitreversal_permutation, butterfly_multiply_reference

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "csrc" / "cuda" / "emulation" / "butterfly_emulation.cpp"
CXX = shutil.which("g++") or shutil.which("c++")

pytestmark = pytest.mark.skipif(CXX is None, reason="no C++ compiler on PATH")

DTYPE_CODE = {torch.float32: 0, torch.float64: 1, torch.complex64: 2, torch.complex128: 3}
KNOBS = ("max_window_log2", "bw_smem_bytes", "fwd_threads", "bwd_threads", "sm_count", "smem_optin", "max_grid",
         "fwd_frames", "bwd_frames", "static_smem")
STATUS = {0: "ok", 1: "invalid argument", 2: "misaligned pointer", 3: "too much shared memory", 4: "bad launch"}


def _compile(out: Path, *flags: str) -> Path:
    cmd = [CXX, "-std=c++20", "-pthread", *flags, str(SOURCE), "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"building the emulation failed:\n{' '.join(cmd)}\n{res.stderr[-4000:]}")
    return out


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    lib = ctypes.CDLL(str(_compile(tmp_path_factory.mktemp("emu") / "libkfront_cuda_emu.so", "-O2", "-shared",
                                   "-fPIC")))
    i64, p = ctypes.c_int64, ctypes.c_void_p
    lib.kf_emu_forward.argtypes = [ctypes.c_int, p, p, p, i64, i64, ctypes.c_int, ctypes.c_int, ctypes.c_int, p, p,
                                   i64, ctypes.c_int, p]
    lib.kf_emu_backward.argtypes = [ctypes.c_int, p, p, p, p, p, i64, i64, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    p, p, i64, ctypes.c_int, p]
    lib.kf_emu_describe.argtypes = [ctypes.c_int, i64, i64, ctypes.c_int, ctypes.c_int, ctypes.c_int, p,
                                    ctypes.c_char_p, ctypes.c_int]
    return lib


def _knobs(**kw):
    unknown = set(kw) - set(KNOBS)
    assert not unknown, unknown
    return (ctypes.c_int64 * len(KNOBS))(*[int(kw.get(k, 0)) for k in KNOBS])


def _guarded(shape, dtype, guard=8):
    """A NaN-filled tensor of `shape` inside a buffer whose `guard` elements either side hold a sentinel."""
    buf = torch.full((math.prod(shape) + 2 * guard,), 7.25, dtype=dtype)
    body = buf[guard:guard + math.prod(shape)].view(shape)
    body.fill_(float("nan"))
    return buf, body


def _guards_intact(buf, guard=8):
    return bool((buf[:guard] == 7.25).all() and (buf[-guard:] == 7.25).all())


def _rel_err(a, b):
    return ((a.to(b.dtype) - b).norm() / b.norm().clamp_min(1e-300)).item()


def _run(lib, tw, x, grad, increasing, input_grad=True, perm=None, **knobs):
    """(out, d_twiddle, d_x or None, forward stats, backward stats) from the emulated kernels; stats are
    (launches, launches moving frames in 16-byte vectors). x (batch, nstacks, L) goes through the kernels' input
    map when it is not whole frames of the twiddle's dtype (L < n, real with a complex twiddle) or perm is given;
    d_x then has x's shape and dtype."""
    batch, nstacks, length = x.shape
    log_n, nblocks = tw.shape[2], tw.shape[1]
    n = 2 * tw.shape[3]
    mapped = perm is not None or length != n or x.dtype != tw.dtype
    code = DTYPE_CODE[tw.dtype]
    k = _knobs(**knobs)
    map_args = (length if mapped else 0, int(x.dtype != tw.dtype), perm.data_ptr() if perm is not None else None)
    fwd_stats, bwd_stats = (ctypes.c_int64 * 2)(), (ctypes.c_int64 * 2)()
    out_buf, out = _guarded((batch, nstacks, n), tw.dtype)
    st = lib.kf_emu_forward(code, tw.data_ptr(), x.data_ptr(), out.data_ptr(), batch, nstacks, log_n, nblocks,
                            int(increasing), k, fwd_stats, *map_args)
    assert st == 0, f"forward: {STATUS.get(st, st)}"
    dtw_buf, dtw = _guarded(tw.shape, tw.dtype)
    dx_buf, dx = _guarded(x.shape, x.dtype)
    st = lib.kf_emu_backward(code, grad.data_ptr(), tw.data_ptr(), x.data_ptr(), dtw.data_ptr(),
                             dx.data_ptr() if input_grad else None, batch, nstacks, log_n, nblocks, int(increasing),
                             k, bwd_stats, *map_args)
    assert st == 0, f"backward: {STATUS.get(st, st)}"
    assert _guards_intact(out_buf) and _guards_intact(dtw_buf) and _guards_intact(dx_buf), "write out of bounds"
    if not input_grad:
        assert dx.isnan().all(), "d_x was written although it was not asked for"
    return out, dtw, dx if input_grad else None, tuple(fwd_stats), tuple(bwd_stats)


def _random_problem(dtype, batch, nstacks, log_n, nblocks, generator):
    n = 1 << log_n
    # Entries of variance 1/2 keep the norm of a frame roughly constant through the layers.
    tw = torch.randn(nstacks, nblocks, log_n, n // 2, 2, 2, dtype=dtype, generator=generator) / math.sqrt(2)
    x = torch.randn(batch, nstacks, n, dtype=dtype, generator=generator)
    grad = torch.randn(batch, nstacks, n, dtype=dtype, generator=generator)
    return tw, x, grad


def _reference(tw, x, grad, increasing, perm=None):
    wide = torch.complex128 if tw.is_complex() else torch.float64
    tw64 = tw.to(wide).requires_grad_()
    x64 = x.to(wide if x.is_complex() or not tw.is_complex() else torch.float64).requires_grad_()
    out = butterfly_multiply_reference(tw64, x64, increasing, perm)
    out.backward(grad.to(wide))
    return out.detach(), tw64.grad, x64.grad


def _check(lib, dtype, batch, nstacks, log_n, nblocks, increasing, seed, input_grad=True, **knobs):
    """Outputs and gradients of the emulated kernels against the float64 reference; returns the launch stats."""
    gen = torch.Generator().manual_seed(seed)
    tw, x, grad = _random_problem(dtype, batch, nstacks, log_n, nblocks, gen)
    out, dtw, dx, fwd, bwd = _run(lib, tw, x, grad, increasing, input_grad, **knobs)
    ref_out, ref_dtw, ref_dx = _reference(tw, x, grad, increasing)
    tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
    for name, got, want in (("out", out, ref_out), ("d_twiddle", dtw, ref_dtw), ("d_x", dx, ref_dx)):
        if got is None:
            continue
        assert not got.isnan().any(), f"{name}: unwritten (NaN) elements"
        err = _rel_err(got, want)
        assert err <= tol, f"{name}: relative error {err:.3g} > {tol}"
    return fwd, bwd


CASES = [  # (log_n, nblocks, nstacks, increasing, batch)
    (1, 1, 1, True, 3), (1, 3, 2, False, 5), (2, 2, 1, True, 4), (3, 1, 2, False, 7), (4, 2, 1, True, 5),
    (5, 3, 2, False, 3), (6, 1, 1, True, 9), (7, 2, 2, False, 3), (8, 1, 1, True, 5), (9, 2, 1, False, 3),
    (10, 1, 1, True, 3), (10, 2, 1, False, 2),
]


@pytest.mark.parametrize("dtype", list(DTYPE_CODE), ids=lambda d: str(d).split(".")[-1])
@pytest.mark.parametrize("log_n,nblocks,nstacks,increasing,batch", CASES,
                         ids=[f"n{1 << c[0]}-b{c[1]}-s{c[2]}-{'inc' if c[3] else 'dec'}" for c in CASES])
def test_default_plan_matches_reference(emu, dtype, log_n, nblocks, nstacks, increasing, batch):
    """Outputs and both gradients agree with the float64 reference; every output element is written."""
    _check(emu, dtype, batch, nstacks, log_n, nblocks, increasing, seed=log_n * 100 + nblocks * 10 + batch)


CHUNKED = [  # (dtype, log_n, nblocks, nstacks, increasing, batch, knobs)
    (torch.complex64, 6, 2, 2, True, 5, dict(max_window_log2=3, fwd_threads=16, bwd_threads=16)),
    (torch.float32, 7, 3, 1, False, 4, dict(max_window_log2=4, fwd_threads=32, bwd_threads=8)),
    (torch.complex128, 8, 1, 2, True, 3, dict(max_window_log2=5, bw_smem_bytes=40_000)),
    (torch.complex64, 9, 2, 1, False, 3, dict(bw_smem_bytes=60_000)),
    (torch.float64, 5, 2, 1, True, 6, dict(max_window_log2=2, fwd_threads=4, bwd_threads=4)),
    (torch.complex64, 12, 1, 1, True, 2, dict()),  # one forward launch of 512 threads, two backward chunks
    (torch.complex64, 12, 1, 1, False, 2, dict(max_window_log2=10)),
    (torch.float32, 13, 1, 1, True, 2, dict()),  # two forward launches
    (torch.complex128, 9, 3, 2, False, 3, dict(bw_smem_bytes=24_000)),  # a budget that shrinks the block
    (torch.float32, 11, 1, 1, True, 2, dict(bw_smem_bytes=24_000, max_window_log2=5)),
    (torch.complex64, 10, 1, 1, False, 9, dict(fwd_frames=4, bwd_frames=4, bwd_threads=128)),  # F = 4 kernels
    (torch.float32, 12, 2, 1, True, 5, dict(fwd_frames=4, bwd_frames=4)),
    (torch.complex64, 7, 3, 2, True, 11, dict(fwd_frames=4, bwd_frames=4, max_window_log2=4, fwd_threads=16)),
    (torch.float64, 8, 2, 1, False, 5, dict(fwd_frames=4, bwd_frames=4)),  # falls back to float64's maximum
]


@pytest.mark.parametrize("dtype,log_n,nblocks,nstacks,increasing,batch,knobs", CHUNKED,
                         ids=[f"{str(c[0]).split('.')[-1]}-n{1 << c[1]}-b{c[2]}-{i}" for i, c in enumerate(CHUNKED)])
def test_chunked_plans_match_reference(emu, dtype, log_n, nblocks, nstacks, increasing, batch, knobs):
    """Windows smaller than n (several launches, strided sub-blocks) and several backward chunks."""
    fwd, bwd = _check(emu, dtype, batch, nstacks, log_n, nblocks, increasing, seed=log_n + batch, **knobs)
    assert fwd[0] >= 1 and bwd[0] >= 1


def test_chunking_really_happens(emu):
    """The knobs above do split the work: several forward launches and several backward chunks."""
    fwd, bwd = _check(emu, torch.complex64, 3, 1, 6, 2, True, seed=3, max_window_log2=3, fwd_threads=16,
                      bwd_threads=16, bw_smem_bytes=6000)
    assert fwd[0] >= 3 and bwd[0] >= 4, (fwd, bwd)


@pytest.mark.parametrize("max_grid", [1, 2])
def test_grid_stride_loop(emu, max_grid):
    """Blocks that loop over several tiles (forward) and frame groups (backward) reuse shared memory safely."""
    _check(emu, torch.complex64, 41, 2, 4, 2, False, seed=max_grid, fwd_threads=8, bwd_threads=8, sm_count=1,
           max_grid=max_grid)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64])
def test_empty_batch(emu, dtype):
    tw, x, grad = _random_problem(dtype, 0, 2, 5, 2, torch.Generator().manual_seed(0))
    out, dtw, dx, fwd, bwd = _run(emu, tw, x, grad, True)
    assert out.numel() == 0 and dx.numel() == 0 and fwd[0] == 0 and bwd[0] == 0
    assert (dtw == 0).all()


MAPPED = [  # (dtype, log_n, nblocks, nstacks, increasing, batch, length L, real x, perm, knobs)
    (torch.complex64, 9, 1, 1, True, 5, 400, True, "bitrev", {}),  # the front-end's 400-sample frames at n = 512
    (torch.complex64, 8, 2, 2, False, 3, 256, True, None, {}),  # a real input only
    (torch.complex64, 9, 2, 1, True, 3, 512, False, "random", {}),  # a permutation only
    (torch.float32, 7, 2, 2, True, 4, 100, False, None, {}),  # short rows only
    (torch.complex128, 6, 2, 1, False, 3, 50, True, "random", {}),
    (torch.float64, 6, 1, 2, True, 3, 37, False, "random", dict(max_window_log2=3, fwd_threads=16, bwd_threads=16)),
    (torch.complex64, 11, 1, 1, True, 2, 1500, True, "bitrev", {}),  # two backward chunks
    (torch.float32, 12, 1, 1, False, 2, 4000, False, "random", {}),  # one forward launch of 512 threads
    (torch.complex64, 13, 1, 1, True, 2, 5000, True, "bitrev", {}),  # two forward launches
    (torch.complex64, 10, 1, 1, False, 9, 700, True, "random", dict(fwd_frames=4, bwd_frames=4, bwd_threads=128)),
    (torch.complex64, 5, 2, 1, True, 41, 20, True, "random", dict(fwd_threads=8, bwd_threads=8, sm_count=1,
                                                                  max_grid=1)),  # blocks loop over tiles and items
]


def _mapped_problem(dtype, log_n, nblocks, nstacks, batch, length, real, perm, seed):
    gen = torch.Generator().manual_seed(seed)
    tw, x, grad = _random_problem(dtype, batch, nstacks, log_n, nblocks, gen)
    x = x[..., :length].contiguous()
    x = x.real.contiguous() if real else x
    n = 1 << log_n
    perm = {None: None, "bitrev": bitreversal_permutation(n),
            "random": torch.randperm(n, generator=gen)}[perm]
    return tw, x, grad, perm


def _check_mapped(lib, dtype, log_n, nblocks, nstacks, increasing, batch, length, real, perm, input_grad=True,
                  **knobs):
    tw, x, grad, p = _mapped_problem(dtype, log_n, nblocks, nstacks, batch, length, real, perm, seed=log_n + length)
    out, dtw, dx, fwd, bwd = _run(lib, tw, x, grad, increasing, input_grad, p, **knobs)
    ref_out, ref_dtw, ref_dx = _reference(tw, x, grad, increasing, p)
    tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
    pairs = [("out", out, ref_out), ("d_twiddle", dtw, ref_dtw)] + ([("d_x", dx, ref_dx)] if input_grad else [])
    for name, got, want in pairs:
        assert not got.isnan().any(), f"{name}: unwritten (NaN) elements"
        err = _rel_err(got, want)
        assert err <= tol, f"{name}: relative error {err:.3g} > {tol}"
    if input_grad:
        assert dx.shape == x.shape and dx.dtype == x.dtype
    return fwd, bwd


@pytest.mark.parametrize("dtype,log_n,nblocks,nstacks,increasing,batch,length,real,perm,knobs", MAPPED,
                         ids=[f"{str(c[0]).split('.')[-1]}-n{1 << c[1]}-L{c[6]}{'-real' if c[7] else ''}"
                              f"{'-' + c[8] if c[8] else ''}-{i}" for i, c in enumerate(MAPPED)])
def test_the_ops_own_x_goes_through_the_staging(emu, dtype, log_n, nblocks, nstacks, increasing, batch, length,
                                                 real, perm, knobs):
    """Short rows (read as zero-padded), a real x with a complex twiddle and an input permutation, alone and
    together, in one-launch and chunked plans: the same outputs and gradients as the reference, d_x in x's shape,
    dtype and order, and nothing written outside x's rows (the guards around d_x)."""
    _check_mapped(emu, dtype, log_n, nblocks, nstacks, increasing, batch, length, real, perm, **knobs)


@pytest.mark.parametrize("knobs", [{}, dict(bw_smem_bytes=24_000, max_window_log2=5)], ids=["one-chunk", "chunked"])
def test_the_mapped_backward_without_input_gradient(emu, knobs):
    """Without d_x nothing is written through the map, and the gradient between chunks goes to the workspace."""
    _check_mapped(emu, torch.complex64, 10, 1, 1, False, 3, 900, True, "bitrev", input_grad=False, **knobs)


def test_the_mapped_load_leaves_the_output_in_vectors(emu):
    """Only the input is read element by element: the output and the gradient still move in 16-byte vectors."""
    fwd, bwd = _check_mapped(emu, torch.complex64, 9, 1, 1, True, 3, 400, True, "bitrev")
    assert fwd == (1, 1) and bwd[0] == bwd[1] >= 1, (fwd, bwd)


def test_a_map_needs_a_block(emu):
    """With no blocks no launch would read the map: refused (the binding applies the identity itself)."""
    tw, x, grad, perm = _mapped_problem(torch.complex64, 4, 1, 1, 2, 10, True, "random", seed=0)
    tw0 = tw[:, :0].contiguous()
    out = torch.empty(2, 1, 16, dtype=torch.complex64)
    st = emu.kf_emu_forward(2, tw0.data_ptr(), x.data_ptr(), out.data_ptr(), 2, 1, 4, 0, 1, _knobs(), None, 10, 1,
                            perm.data_ptr())
    assert STATUS[st] == "invalid argument"


def test_misaligned_twiddle_is_refused(emu):
    storage = torch.randn(1 + 3 * 4 * 4, dtype=torch.float32)
    tw = storage[1:].view(1, 1, 3, 4, 2, 2)  # 4 bytes past a 16-byte boundary
    x = torch.randn(2, 1, 8)
    out = torch.empty_like(x)
    st = emu.kf_emu_forward(0, tw.data_ptr(), x.data_ptr(), out.data_ptr(), 2, 1, 3, 1, 1, _knobs(), None, 0, 0, None)
    assert STATUS[st] == "misaligned pointer"


def test_frames_off_their_element_alignment_are_refused(emu):
    """complex64 frames 4 bytes off their 8-byte element alignment: refused, not read as misaligned vectors."""
    tw = torch.randn(1, 1, 3, 4, 2, 2, dtype=torch.complex64)
    storage = torch.randn(2 * 2 * 8 + 2)
    x_ptr = storage.data_ptr() + 4  # 4 bytes past an element boundary
    assert x_ptr % 8 == 4
    out = torch.empty(2, 1, 8, dtype=torch.complex64)
    st = emu.kf_emu_forward(2, tw.data_ptr(), x_ptr, out.data_ptr(), 2, 1, 3, 1, 1, _knobs(), None, 0, 0, None)
    assert STATUS[st] == "misaligned pointer"


def _describe(lib, dtype, log_n, nblocks, batch=1 << 18, nstacks=1, **knobs):
    buf = ctypes.create_string_buffer(1024)
    st = lib.kf_emu_describe(DTYPE_CODE[dtype], batch, nstacks, log_n, nblocks, 1, _knobs(**knobs), buf, len(buf))
    assert st == 0
    return {k: float(v) for k, v in (item.split("=") for item in buf.value.decode().split())}


def test_frames_knobs(emu):
    plan = _describe(emu, torch.complex64, 10, 1, fwd_frames=4, bwd_frames=4, bwd_threads=128)
    assert plan["fwd_F"] == 4 and plan["fwd_threads"] == 256 and plan["bwd_F"] == 4
    assert _describe(emu, torch.complex64, 12, 1, fwd_frames=4)["fwd_launches"] == 2  # 2^11 per launch with F = 4
    assert _describe(emu, torch.complex128, 8, 1, fwd_frames=4, bwd_frames=4)["fwd_F"] == 1


@pytest.mark.parametrize("log_n", [8, 9, 10, 11, 12])
def test_plan_on_hopper(emu, log_n):
    """The plan the launchers make with Hopper's 227 KB of shared memory: one forward launch up to n = 4096,
    one backward chunk up to n = 1024 (nblocks = 1), and conflict-free shared-memory phases for complex64."""
    plan = _describe(emu, torch.complex64, log_n, 1)
    assert plan["fwd_launches"] == 1 and plan["fwd_F"] == 2
    assert plan["bwd_chunks"] == (1 if log_n <= 10 else 2) and plan["bwd_F"] <= 2
    assert plan["fwd_conflict"] == 1.0 and plan["bwd_conflict"] == 1.0
    assert plan["fwd_smem"] <= 100 * 1024 and plan["bwd_smem"] <= 227 * 1024


@pytest.mark.parametrize("dtype", list(DTYPE_CODE), ids=lambda d: str(d).split(".")[-1])
def test_frames_move_in_vectors_when_aligned(emu, dtype):
    """Aligned frames move between global and shared memory in 16-byte vectors (every launch of a plan whose
    window starts at bit 0), frames one element off that alignment element by element, with the same results."""
    gen = torch.Generator().manual_seed(5)
    tw, x, grad = _random_problem(dtype, 7, 2, 8, 2, gen)
    _, _, _, fwd, bwd = _run(emu, tw, x, grad, True)
    assert fwd[0] == fwd[1] == 1 and bwd[0] == bwd[1] >= 1, (fwd, bwd)
    ref = _reference(tw, x, grad, True)
    vec = 16 // x.element_size()
    if vec == 1:
        return  # complex128: an element is a vector, so frames are never off the vector alignment
    storage = torch.empty(x.numel() + 1, dtype=dtype)
    x_off = storage[1:].view(x.shape).copy_(x)  # one element past a 16-byte boundary
    g_off = torch.empty(x.numel() + 1, dtype=dtype)[1:].view(x.shape).copy_(grad)
    out, dtw, dx, fwd, bwd = _run(emu, tw, x_off, g_off, True)
    assert fwd == (1, 0) and bwd[1] == 0, (fwd, bwd)
    tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
    for name, got, want in (("out", out, ref[0]), ("d_twiddle", dtw, ref[1]), ("d_x", dx, ref[2])):
        assert _rel_err(got, want) <= tol, name


@pytest.mark.parametrize("dtype,log_n,nblocks,knobs", [
    (torch.complex64, 9, 2, {}), (torch.float32, 7, 3, dict(max_window_log2=3, fwd_threads=16, bwd_threads=16)),
    (torch.complex128, 8, 1, dict(bw_smem_bytes=40_000)), (torch.float64, 6, 2, dict(bw_smem_bytes=6000))],
    ids=["one-chunk", "chunked", "budget", "tiny-budget"])
def test_backward_without_input_gradient(emu, dtype, log_n, nblocks, knobs):
    """Without d_x the backward writes none (the gradient between chunks goes to the workspace) and gives the
    same twiddle gradient, bit for bit (the emulation runs blocks in order, so its atomics are too)."""
    gen = torch.Generator().manual_seed(log_n)
    tw, x, grad = _random_problem(dtype, 5, 2, log_n, nblocks, gen)
    _, dtw, _, _, bwd = _run(emu, tw, x, grad, False, input_grad=True, **knobs)
    _, dtw_only, _, _, bwd_only = _run(emu, tw, x, grad, False, input_grad=False, **knobs)
    assert torch.equal(dtw_only, dtw) and bwd_only[0] == bwd[0]
    _check(emu, dtype, 5, 2, log_n, nblocks, False, seed=log_n, input_grad=False, **knobs)


def test_zero_blocks_is_the_identity(emu):
    gen = torch.Generator().manual_seed(0)
    tw, x, grad = _random_problem(torch.complex64, 3, 2, 5, 1, gen)
    tw0 = tw[:, :0].contiguous()  # (2, 0, 5, 16, 2, 2)
    out, dtw, dx, fwd, bwd = _run(emu, tw0, x, grad, True)
    assert torch.equal(out, x) and torch.equal(dx, grad) and dtw.numel() == 0 and fwd[0] == bwd[0] == 0


# Hopper's opt-in maximum of dynamic shared memory per block, and what a kernel with static shared memory (or the
# 1 KB the hardware reserves, where it counts against the opt-in) leaves of it.
OPTIN, STATIC = 232_448, 1024


@pytest.mark.parametrize("dtype", list(DTYPE_CODE), ids=lambda d: str(d).split(".")[-1])
def test_plans_budget_the_optin_less_static_shared_memory(emu, dtype):
    """Every plan stays within the opt-in less the kernels' static shared memory; without the static part some
    backward plans would take more, so the budget is what keeps their cudaFuncSetAttribute from failing."""
    over = []
    for log_n in range(1, 13):
        for nblocks in (1, 2, 3):
            for knobs in ({}, {"bwd_frames": 1}):
                plan = _describe(emu, dtype, log_n, nblocks, smem_optin=OPTIN, static_smem=STATIC, **knobs)
                assert plan["bwd_smem"] <= OPTIN - STATIC and plan["fwd_smem"] <= OPTIN - STATIC, (log_n, nblocks)
                if _describe(emu, dtype, log_n, nblocks, smem_optin=OPTIN, **knobs)["bwd_smem"] > OPTIN - STATIC:
                    over.append((log_n, nblocks, knobs))
    if dtype != torch.complex128:  # complex128's plans shrink their blocks long before the last KB
        assert over, "no plan uses the last KB of the opt-in: this test would not catch a missing budget"


def test_a_plan_that_would_take_the_full_optin_runs_within_the_budget(emu):
    """float32, n = 512, two blocks: the plan that takes the whole opt-in shrinks under the budget, and its
    launches (which the emulation refuses above the limit, as cudaFuncSetAttribute does) run and are right."""
    full = _describe(emu, torch.float32, 9, 2, smem_optin=OPTIN)
    budgeted = _describe(emu, torch.float32, 9, 2, smem_optin=OPTIN, static_smem=STATIC)
    assert full["bwd_smem"] > OPTIN - STATIC >= budgeted["bwd_smem"]
    _check(emu, torch.float32, 6, 1, 9, 2, False, seed=9, smem_optin=OPTIN, static_smem=STATIC)


MAX_GRID = (1 << 31) - 1  # CUDA's limit on gridDim.x


@pytest.mark.parametrize("log_n,nstacks", [(4, 1 << 33), (12, 1 << 31), (14, 1 << 30)])
def test_grids_stay_within_the_device_limit(emu, log_n, nstacks):
    """However many (stack, sub-block) work items, the forward and backward grids stay within 2^31 - 1 blocks
    (the kernels loop over the rest), so nothing is truncated by the launch's unsigned grid size."""
    plan = _describe(emu, torch.complex64, log_n, 2, batch=3, nstacks=nstacks, max_grid=MAX_GRID)
    assert 1 <= plan["fwd_grid"] <= MAX_GRID and 1 <= plan["bwd_grid"] <= MAX_GRID, plan
    assert plan["bwd_grid"] == MAX_GRID  # the items outnumber the blocks: the backward's item loop is needed


@pytest.mark.parametrize("dtype", list(DTYPE_CODE), ids=lambda d: str(d).split(".")[-1])
@pytest.mark.parametrize("log_n", [8, 10, 12])
def test_staging_is_free_of_bank_conflicts(emu, dtype, log_n):
    """The staging's shared-memory accesses (16-byte global vectors split into scalar shared accesses) hit
    distinct banks: the padding spreads a warp's 32 vectors over all of them."""
    plan = _describe(emu, dtype, log_n, 1)
    assert plan["fwd_vector_io"] == 1 and plan["bwd_vector_io"] == 1
    assert plan["fwd_stage_conflict"] == 1.0, plan


@pytest.mark.slow
@pytest.mark.parametrize("sanitizer", ["thread", "address,undefined"])
def test_sanitizers(tmp_path, sanitizer):
    """The emulation's self-check under ThreadSanitizer (a missing barrier is a data race between the threads
    of a block) and AddressSanitizer/UBSan (out-of-bounds shared or global memory, overflow)."""
    exe = _compile(tmp_path / "emu_check", "-O0", "-g", f"-fsanitize={sanitizer}", "-fno-sanitize-recover=all",
                   "-DKF_EMU_MAIN")
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    report = res.stdout + res.stderr
    assert res.returncode == 0 and "Sanitizer" not in report, report[-4000:]
    assert "PASSED" in res.stdout
