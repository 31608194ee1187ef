"""The Triton implementation of the butterfly ops: ``torch.ops.kfront_triton``, the schema of ``torch.ops.kfront``
(``csrc/butterfly.cpp``) with Triton kernels behind it (:mod:`kfront.core._triton_kernels`), for CUDA tensors
compiled for the GPU at hand and for CPU tensors run by Triton's interpreter.

It is a GPU path that needs no compiler: Triton ships with CUDA builds of torch and compiles its kernels at run time
(a few seconds per shape, once per process; Triton caches them on disk). The CPU path is Triton's interpreter,
so the GPU kernels' own source runs in the CPU test suite; it is slow, and kfront runs it only where asked
(``KFRONT_BACKEND=triton`` with ``TRITON_INTERPRET=1``, or ``torch.ops.kfront_triton`` called directly).

Design (the plans: :mod:`kfront.core._triton_plan`; the kernels' tiles: :mod:`kfront.core._triton_kernels`):

- Forward: one launch applies every layer of every block when a frame fits a program's tile (n <= 4096); a
  program loads B frames once (the permutation, the zero padding of short rows and a real input's zero imaginary
  part applied while loading), runs all layers in registers and stores once. The fused power stores |y|^2 of the
  first k outputs instead of y, and the separation of a packed real frame when the last launch holds whole frames.
  Larger n: launches by windows of layers, in place on the output after the first.
- Backward: per chunk of layers, programs loop over their frames, recompute the chunk's layers keeping each
  layer's input in registers, run them backwards and keep the twiddle-gradient sums in registers; each program
  adds its sums with one atomic add per entry at the end (no host round trip, atomics per program, not per
  frame). What a program keeps (every layer's input and its sums) must fit registers, which bounds a chunk's
  window and layers (n <= 256 in one chunk by default); several chunks take their inputs from a workspace the
  forward kernel writes first, and the gradient flows between them through one buffer. The separated power is
  fused where the last chunk of both plans holds whole frames (n <= 256), else composed from the product.
- Compiled for sm_90 on a CPU (``benchmarks/triton_compile_report.py``), the default plans' kernels take 1-15 s
  each to compile and spill no registers (but the separated power's backward at n = 256, 84 bytes).
- The twiddle gradient is summed with atomics, so it is not bit-for-bit repeatable on a GPU.

Which backend ``KFRONT_BACKEND=auto`` picks on CUDA devices is Triton's where ``triton`` imports, else the CUDA C++
op's (``csrc/cuda``) where it builds. That order is provisional: the first GPU run of
``benchmarks/bench_butterfly_cuda.py`` measures both side by side and decides which ``auto`` prefers, and whether
the slower one stays; its numbers go to ``benchmarks/results/`` and here.
"""
import builtins
import contextlib
import functools
import importlib
import importlib.util
import math
import sys
import threading
from pathlib import Path

import torch

from . import _op_checks as checks
from . import _triton_plan as plan

NAMESPACE = "kfront_triton"
FRAMES, POWER, SEPARATED = 0, 1, 2  # as _triton_kernels names them (not imported: it needs triton)
_lock = threading.Lock()
_library = []  # the torch.library.Library that declares the ops, kept alive


def unavailable() -> str | None:
    """Why the Triton kernels cannot run here (``triton`` does not import), or ``None``."""
    try:
        import triton  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means: not available, and say why
        return f"triton does not import ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]})"
    return None


def _interpreter_range(*args):
    # Triton 3.6's interpreter hands scalars to Python as 1-element arrays, which NumPy 2.x no longer converts to
    # int: loop bounds computed in a kernel go through here in the interpreted copy.
    return builtins.range(*(int(a.handle.data.reshape(-1)[0]) if hasattr(a, "handle") else a for a in args))


@functools.cache
def _interpreted_kernels():
    """A second copy of the kernels module, decorated by Triton's interpreter. ``triton.jit`` reads
    ``TRITON_INTERPRET`` when it decorates, so the compiled and the interpreted kernels can live side by side in one
    process: CUDA tensors run the first, CPU tensors the second."""
    import triton

    name = f"{__package__}._triton_kernels_interpreted"
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_triton_kernels.py"))
    module = importlib.util.module_from_spec(spec)
    module.range = _interpreter_range
    with triton.knobs.runtime.scope():
        triton.knobs.runtime.interpret = True
        spec.loader.exec_module(module)
    # A launch patches triton.language for the interpreter once; each call of an interpreted helper would patch it
    # again (a few ms each, most of the interpreter's time): the helpers become the plain functions it runs.
    from triton.runtime.interpreter import InterpretedFunction

    for key, value in list(vars(module).items()):
        if isinstance(value, InterpretedFunction) and value.fn.__module__ == name and not key.endswith("_kernel"):
            setattr(module, key, value.rewrite())
    sys.modules[name] = module
    return module


@functools.cache
def _compiled_kernels():
    """The kernels module, decorated for the GPU whatever ``TRITON_INTERPRET`` says while it is first imported."""
    import triton

    with triton.knobs.runtime.scope():
        triton.knobs.runtime.interpret = False
        return importlib.import_module(f"{__package__}._triton_kernels")


def _kernels(device: torch.device):
    """(kernels module, interpreted) for tensors on ``device``: the interpreter for CPU tensors, and for CUDA ones
    where Triton's interpreter is switched on (``TRITON_INTERPRET=1``, Triton's debugging mode)."""
    import triton

    if device.type == "cpu" or triton.knobs.runtime.interpret:
        return _interpreted_kernels(), True
    return _compiled_kernels(), False


def _values(t: torch.Tensor) -> torch.Tensor:
    """The real view of t: complex entries as (re, im) pairs of values."""
    return torch.view_as_real(t.resolve_conj().resolve_neg()) if t.is_complex() else t


def _value_strides(t: torch.Tensor) -> tuple[int, ...]:
    """Strides of t's first three dimensions in values of its real view."""
    return tuple(s * (2 if t.is_complex() else 1) for s in t.stride()[:3])


def _multiprocessors(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 1


class _Call:
    """One call's sizes and the real views of its tensors."""

    def __init__(self, twiddle, x, increasing_stride, perm, stacks=None):
        self.twiddle, self.x, self.perm, self.inc = twiddle, x, perm, bool(increasing_stride)
        self.batch, self.nstacks, self.length = x.shape
        self.nblocks, self.log_n = twiddle.shape[1], twiddle.shape[2]
        self.n, self.cplx, self.x_cplx = 1 << self.log_n, twiddle.is_complex(), x.is_complex()
        self.stacks = self.nstacks if stacks is None else stacks  # stacks computed (the power needs the first)
        self.tw = _values(twiddle.contiguous())
        self.kernels, self.interpreted = _kernels(x.device)

    def frames(self) -> torch.Tensor:
        return torch.empty((self.batch, self.nstacks, self.n), dtype=self.twiddle.dtype, device=self.x.device)

    def source(self, chunk_index: int, workspace):
        """(tensor, value strides, length, permutation, complex) of a chunk's input: x or the workspace."""
        if chunk_index == 0:
            return _values(self.x), _value_strides(self.x), self.length, self.perm, self.x_cplx
        ws = workspace[chunk_index - 1]
        return _values(ws), _value_strides(ws), self.n, None, self.cplx

    def forward(self, chunk, src, dst, out_mode=FRAMES, k=0, separation=None):
        """Launch the forward kernel for one chunk: src as source() describes it, dst frames or the power."""
        src_t, s_strides, length, perm, src_cplx = src
        rows = plan.tile_rows(chunk.elements, self.batch, interpreted=self.interpreted)
        n_sub, row_tiles = chunk.subblocks(self.log_n), math.ceil(self.batch / rows)
        grid = row_tiles * n_sub * self.stacks
        if grid == 0:
            return
        d_strides = _value_strides(dst)[:2] if out_mode == FRAMES else (0, 0)
        launch(self.kernels.forward_kernel, grid,
               (src_t, _values(dst), self.tw, perm, None if separation is None else _values(separation),
                self.batch, length, k, *s_strides, *d_strides, n_sub, row_tiles),
               dict(LOG_N=self.log_n, NBLOCKS=self.nblocks, NL=len(chunk.layers), LAYERS=chunk.layers,
                    BITS=chunk.bits, A=chunk.a, W=chunk.w, R=chunk.r, B=rows, CPLX=self.cplx, SRC_CPLX=src_cplx,
                    PERM=perm is not None, OUT=out_mode),
               plan.warps(rows * chunk.elements))

    def backward(self, chunk, src, g, dst, dtw, grad_mode=FRAMES, k=0, separation=None, dsep=None,
                 input_grad=True):
        """Launch the backward kernel for one chunk: g the gradient of its output (frames, or of the power), dst
        that of its input (laid out as src, or None without input_grad)."""
        src_t, s_strides, length, perm, src_cplx = src
        rows = plan.backward_tile_rows(chunk.elements, len(chunk.layers), self.cplx, self.batch, self.interpreted)
        n_sub, row_tiles = chunk.subblocks(self.log_n), math.ceil(self.batch / rows)
        progs = plan.backward_programs(_multiprocessors(self.x.device), row_tiles, n_sub * self.stacks)
        grid = progs * n_sub * self.stacks
        if grid == 0 or row_tiles == 0:
            return
        g_strides = _value_strides(g)[:2] if grad_mode == FRAMES else (0, 0)
        d_strides = _value_strides(dst) if dst is not None else (0, 0, 0)
        launch(self.kernels.backward_kernel, grid,
               (src_t, _values(g), None if dst is None else _values(dst), self.tw, dtw, perm,
                None if separation is None else _values(separation), dsep,
                self.batch, length, k, *s_strides, *g_strides, *d_strides, n_sub, progs, math.ceil(row_tiles / progs)),
               dict(LOG_N=self.log_n, NBLOCKS=self.nblocks, NL=len(chunk.layers), LAYERS=chunk.layers,
                    BITS=chunk.bits, A=chunk.a, W=chunk.w, R=chunk.r, B=rows, CPLX=self.cplx, SRC_CPLX=src_cplx,
                    PERM=perm is not None, GRAD=grad_mode, INPUT_GRAD=input_grad),
               plan.backward_warps(plan.kept_per_element(self.cplx) * rows * chunk.elements * len(chunk.layers)))


def launch(kernel, grid: int, args: tuple, constants: dict, num_warps: int) -> None:
    """Run ``kernel`` on a 1-D grid. The one place kernels start: tests record the launches here to compile the
    same kernels for a GPU they do not have (``tests/test_triton_compile.py``)."""
    kernel[(grid,)](*args, **constants, num_warps=num_warps)


def _device(t: torch.Tensor):
    """Triton launches on the current CUDA device: make it the tensors'."""
    return torch.cuda.device(t.device) if t.device.type == "cuda" else contextlib.nullcontext()


def _run_forward(call: _Call, out_mode=FRAMES, k=0, separation=None, out=None) -> torch.Tensor:
    with _device(call.x):
        return _forward_chunks(call, out_mode, k, separation, out)


def _forward_chunks(call: _Call, out_mode, k, separation, out) -> torch.Tensor:
    chunks = plan.forward_plan(call.log_n, call.nblocks, call.inc)
    frames = call.frames() if out_mode == FRAMES or len(chunks) > 1 else None
    for c, chunk in enumerate(chunks):
        src = call.source(0, None) if c == 0 else (_values(frames), _value_strides(frames), call.n, None, call.cplx)
        last = c + 1 == len(chunks)
        call.forward(chunk, src, out if last and out_mode != FRAMES else frames, out_mode if last else FRAMES, k,
                     separation)
    return frames if out_mode == FRAMES else out


def _run_backward(call: _Call, g, input_grad, grad_mode=FRAMES, k=0, separation=None):
    """(d_twiddle, d_x, d_separation) through every chunk of the backward plan, last to first."""
    with _device(call.x):
        return _backward_chunks(call, g, input_grad, grad_mode, k, separation)


def _backward_chunks(call: _Call, g, input_grad, grad_mode, k, separation):
    chunks = plan.backward_plan(call.log_n, call.nblocks, call.inc, call.cplx)
    x = call.x
    zeros = call.stacks < call.nstacks  # stacks that are not computed get a zero gradient
    d_x = (torch.zeros if zeros else torch.empty)(x.shape, dtype=x.dtype, device=x.device) if input_grad else \
        x.new_empty((0,))
    dtw = torch.zeros_like(call.tw)
    dsep = None if separation is None else torch.zeros_like(_values(separation.contiguous()))
    if call.batch > 0 and (call.nblocks > 0 or input_grad):
        workspace = [call.frames() for _ in chunks[1:]]
        for c, chunk in enumerate(chunks[:-1]):  # the inputs of chunks 1 .. C-1
            call.forward(chunk, call.source(c, workspace), workspace[c])
        between = call.frames() if len(chunks) > 1 else None
        for c in reversed(range(len(chunks))):
            last = c + 1 == len(chunks)
            dst = (d_x if input_grad else None) if c == 0 else between
            call.backward(chunks[c], call.source(c, workspace), g if last else between, dst, dtw,
                          grad_mode if last else FRAMES, k, separation, dsep, input_grad or c > 0)
    d_twiddle = torch.view_as_complex(dtw) if call.cplx else dtw
    d_sep = x.new_empty((0,), dtype=call.twiddle.dtype) if dsep is None else torch.view_as_complex(dsep)
    return d_twiddle, d_x, d_sep


def _separation_fuses(log_n: int, nblocks: int, increasing_stride: bool, complex_twiddle: bool) -> bool:
    """Whether the separated power fits the kernels: the last launch of both plans holds whole frames."""
    plans = (plan.forward_plan(log_n, nblocks, increasing_stride),
             plan.backward_plan(log_n, nblocks, increasing_stride, complex_twiddle))
    return all(p[-1].whole_frame(log_n) for p in plans)


def butterfly_multiply(twiddle, x, increasing_stride, perm=None):
    op = "kfront::butterfly_multiply"
    checks.check_butterfly_inputs(twiddle, x, op)
    checks.check_butterfly_dtype(twiddle, op)
    checks.check_perm(perm, twiddle, x, op)
    perm = checks.checked_perm(perm, op)
    return _run_forward(_Call(twiddle, x, increasing_stride, perm))


def butterfly_multiply_backward(grad, twiddle, x, increasing_stride, input_grad=True, perm=None):
    op = "kfront::butterfly_multiply_backward"
    checks.check_butterfly_inputs(twiddle, x, op)
    checks.check_butterfly_dtype(twiddle, op)
    checks.check_perm(perm, twiddle, x, op)
    checks.check_butterfly_grad(grad, twiddle, x, op)
    perm = checks.checked_perm(perm, op)
    d_twiddle, d_x, _ = _run_backward(_Call(twiddle, x, increasing_stride, perm), grad.contiguous(), input_grad)
    return d_twiddle, d_x


def _power_stacks(x, n, k, separation) -> int:
    return 1 if separation is not None else min(x.shape[1], -(-k // n))


def butterfly_multiply_power(twiddle, x, increasing_stride, k, separation=None, perm=None):
    op = "kfront::butterfly_multiply_power"
    checks.check_power_args(twiddle, x, k, separation, op)
    checks.check_butterfly_dtype(twiddle, op)
    checks.check_perm(perm, twiddle, x, op)
    perm = checks.checked_perm(perm, op)
    n = 2 * twiddle.shape[3]
    call = _Call(twiddle, x, increasing_stride, perm, _power_stacks(x, n, k, separation))
    out = torch.empty((x.shape[0], k), dtype=twiddle.real.dtype, device=x.device)
    if separation is None:
        return _run_forward(call, POWER, k, out=out)
    if _separation_fuses(call.log_n, call.nblocks, call.inc, call.cplx):
        return _run_forward(call, SEPARATED, k, separation.contiguous(), out)
    # The separation needs whole frames in the last launch: otherwise the product, then the separation.
    y = _run_forward(call)  # (batch, nstacks, n)
    from .power import separate

    return torch.view_as_real(separate(y[:, 0, :k - 1], separation)).square().sum(-1)


def butterfly_multiply_power_backward(grad, twiddle, x, increasing_stride, k, separation=None, input_grad=True,
                                      perm=None):
    op = "kfront::butterfly_multiply_power_backward"
    checks.check_power_args(twiddle, x, k, separation, op)
    checks.check_butterfly_dtype(twiddle, op)
    checks.check_perm(perm, twiddle, x, op)
    checks.check_power_grad(grad, twiddle, x, k, op)
    perm = checks.checked_perm(perm, op)
    n = 2 * twiddle.shape[3]
    call = _Call(twiddle, x, increasing_stride, perm, _power_stacks(x, n, k, separation))
    if separation is None:
        return _run_backward(call, grad.contiguous(), input_grad, POWER, k)
    if _separation_fuses(call.log_n, call.nblocks, call.inc, call.cplx):
        return _run_backward(call, grad.contiguous(), input_grad, SEPARATED, k, separation.contiguous())
    # Composed, as the forward: the gradient of y from the separated power's (X = a u + b conj(v), u_j = y_(j mod N),
    # v_j = y_((N - j) mod N); G = 2 X g: d u = conj(a) G, d v = b conj(G), d a = conj(u) G, d b = v G; autograd
    # is off inside an op's kernel), then the product's backward.
    from .power import separate

    y = _run_forward(call)[:, 0, :k - 1]  # (batch, N)
    grad_x = 2 * separate(y, separation) * grad  # G, (batch, N + 1)
    u = torch.cat((y, y[:, :1]), -1)
    v = torch.cat((y[:, :1], y.flip(-1)), -1)
    d_sep = torch.stack(((u.conj() * grad_x).sum(0), (v * grad_x).sum(0)))
    du, dv = separation[0].conj() * grad_x, separation[1] * grad_x.conj()
    g_y = du[:, :-1] + torch.cat((dv[:, :1] + dv[:, -1:], dv[:, 1:-1].flip(-1)), -1)
    g_y[:, 0] += du[:, -1]
    g_frames = torch.zeros((x.shape[0], x.shape[1], n), dtype=twiddle.dtype, device=x.device)
    g_frames[:, 0, :k - 1] = g_y
    d_twiddle, d_x, _ = _run_backward(_Call(twiddle, x, increasing_stride, perm), g_frames, input_grad)
    return d_twiddle, d_x, d_sep


_IMPLS = {f.__name__: f for f in (butterfly_multiply, butterfly_multiply_backward, butterfly_multiply_power,
                                  butterfly_multiply_power_backward)}


def ops():
    """``torch.ops.kfront_triton``, declared and registered (for CPU and CUDA tensors) on first use."""
    with _lock:
        if not _library:
            from . import _ops

            library = torch.library.Library(NAMESPACE, "DEF")
            for name, schema in _ops.SCHEMAS.items():
                library.define(name + schema)
                library.impl(name, _IMPLS[name], "CPU")
                library.impl(name, _IMPLS[name], "CUDA")
            _ops.register(NAMESPACE)
            _library.append(library)
    return getattr(torch.ops, NAMESPACE)
