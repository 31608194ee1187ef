"""Learning fast transforms from input-output pairs: the butterfly paper's table (Dao et al., ICML 2019), in float64.

    python benchmarks/learn_transforms.py                          # the full table, N = 8 ... 1024 (about an hour)
    python benchmarks/learn_transforms.py --sizes 8,16 --transforms dft,hadamard --out /tmp/quick.md

For each transform T (n x n) and N, a kfront structure is fitted to 2N random input-output pairs (x, T x) and
scored on 256 held-out inputs by the relative error ``||f(X) - T X|| / ||T X||`` (Frobenius). Targets have entries
of order 1 (the unnormalised DFT, Hadamard and Hartley; the orthonormal DCT-II / DST-II times sqrt(N); a circulant
and a random matrix of standard normal entries; Legendre polynomials on a grid, as the paper's code builds them).

Structures (each holds its transform exactly; none is told the answer):

- ``B P_br``: one complex butterfly after the bit-reversal permutation (the Cooley-Tukey shape): the DFT.
- ``B`` real: one real butterfly, no permutation: the Walsh-Hadamard transform.
- ``B(2N) E``: one complex butterfly of size 2N after a fixed index map of the input: the symmetric extension
  ``[x, x reversed]`` in bit-reversed order, first N outputs (DCT-II and DST-II: Makhoul's 2N-point FFT of the
  extension; the DST's sign and half-bin shift are diagonals the first layer absorbs), or ``[x, 0, x_(N-1) ... x_1]``
  with the even outputs (the Hartley transform: ``cas t = ((1 + i) e^(-i t) + (1 - i) e^(i t)) / 2``, the two
  terms the DFT of the input and of its mirror image, whose constants the first layer absorbs).
- ``Re(B B*)``: the real part of a complex K-matrix of width 1 (B* then B, no permutation) on real inputs: a
  circulant is DFT^-1 diag DFT, exactly one B B* (whose real part is itself); the Legendre transform and the random
  control have no such structure, and are fitted with the same one.

Optimisation, per attempt: Adam (cosine schedule from ``lr``) for ``--steps`` steps, then, where the Adam loss is
below 1e-3, a Levenberg-Marquardt polish: Gauss-Newton steps solved matrix-free by conjugate gradients (J^T J v from
a central difference along v and one backward pass), capped in time. Adam alone reaches float64 rounding on the
one-butterfly structures (DFT, Hadamard, Hartley) but stalls between 1e-5 and 1e-12 (squared relative error) on
the DCT, DST and convolution structures; from there the second-order polish reaches rounding in tens of steps
when the point is in the right basin. An attempt that ends above the target starts again from a new random
initialisation while the row's time budget lasts (not for the Legendre and random rows, which no structure here
holds exactly).

Times and budgets are CPU seconds of this process (the machines are shared: wall time says little). Results are
written after every row to ``--out`` (Markdown) and beside it as JSON, so a crash loses nothing.
"""
import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.linalg
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kfront._atomic import atomic_write  # noqa: E402
from kfront.core import Butterfly, KMatrix, backend, bitreversal_permutation  # noqa: E402

TRANSFORMS = ("dft", "dct", "dst", "conv", "hadamard", "hartley", "legendre", "random")
CONTROLS = ("legendre", "random")  # not exactly representable: one attempt, no restarts
SIZES = tuple(1 << k for k in range(3, 11))  # 8 ... 1024
TARGET = 1e-10
POLISH_BELOW = 1e-3  # Adam loss under which the Gauss-Newton polish is worth its time
HELD_OUT = 256


# --- targets -------------------------------------------------------------------------------------------------------
def target_matrix(name: str, n: int) -> torch.Tensor:
    """The ``(n, n)`` matrix of transform ``name`` (complex128 for the DFT, float64 otherwise), entries of order 1."""
    eye = np.eye(n)
    k = np.arange(n)
    if name == "dft":
        return torch.fft.fft(torch.eye(n, dtype=torch.complex128), dim=0)
    if name == "dct":
        m = scipy.fft.dct(eye, type=2, norm="ortho", axis=0) * math.sqrt(n)
    elif name == "dst":
        m = scipy.fft.dst(eye, type=2, norm="ortho", axis=0) * math.sqrt(n)
    elif name == "conv":  # circular convolution with a fixed random kernel
        m = scipy.linalg.circulant(np.random.default_rng(0).standard_normal(n))
    elif name == "hadamard":
        m = scipy.linalg.hadamard(n).astype(np.float64)
    elif name == "hartley":
        angle = 2 * np.pi * np.outer(k, k) / n
        m = np.cos(angle) + np.sin(angle)
    elif name == "legendre":  # P_j at N interior points of a uniform grid on [-1, 1]
        grid = np.linspace(-1, 1, n + 2)[1:-1]
        m = np.polynomial.legendre.legvander(grid, n - 1).T
    elif name == "random":
        m = np.random.default_rng(0).standard_normal((n, n))
    else:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {name!r}")
    return torch.tensor(m, dtype=torch.float64)


# --- structures ----------------------------------------------------------------------------------------------------
class Structure(nn.Module):
    """A kfront butterfly or K-matrix between a fixed input index map and a fixed output selection.

    ``forward(x)``: ``(..., n)`` -> ``(..., n)``. The input is optionally padded with one zero (index ``n``), gathered
    by ``index`` (repeats allowed), transformed, the outputs ``select`` kept, and with ``real`` the real part taken.
    """

    def __init__(self, core: nn.Module, index: torch.Tensor | None, select: slice, real: bool, pad_zero: bool,
                 label: str):
        super().__init__()
        self.core, self.select, self.real, self.pad_zero, self.label = core, select, real, pad_zero, label
        self.register_buffer("index", index)

    def forward(self, x: torch.Tensor, twiddle: torch.Tensor | None = None) -> torch.Tensor:
        if self.pad_zero:
            x = nn.functional.pad(x, (0, 1))  # (..., n + 1): index n reads zero
        if self.index is not None:
            x = x[..., self.index]  # (..., size)
        y = self.core(x) if twiddle is None else torch.func.functional_call(self.core, {"twiddle": twiddle}, (x,))
        y = y[..., self.select]  # (..., n)
        return y.real if self.real and y.is_complex() else y


def structure(name: str, n: int, generator: torch.Generator) -> Structure:
    """The structure fitted to transform ``name`` at size ``n``, randomly initialised from ``generator``."""
    f64 = torch.float64
    br2 = bitreversal_permutation(2 * n)
    if name == "dft":
        core = Butterfly(n, n, complex=True, init="randn", permutation="bitrev", dtype=f64)
        s = Structure(core, None, slice(None), False, False, "B P_br")
    elif name == "hadamard":
        core = Butterfly(n, n, complex=False, init="randn", permutation="none", dtype=f64)
        s = Structure(core, None, slice(None), False, False, "B (real)")
    elif name in ("dct", "dst"):
        core = Butterfly(2 * n, 2 * n, complex=True, init="randn", permutation="none", dtype=f64)
        extension = torch.cat((torch.arange(n), torch.arange(n).flip(0)))  # [x, x reversed]
        s = Structure(core, extension[br2], slice(0, n), False, False, "B(2N) E, first N outputs")
    elif name == "hartley":
        core = Butterfly(2 * n, 2 * n, complex=True, init="randn", permutation="none", dtype=f64)
        mirror = torch.cat((torch.arange(n), torch.tensor([n]), torch.arange(1, n).flip(0)))  # [x, 0, x_(N-1)..x_1]
        s = Structure(core, mirror[br2], slice(0, None, 2), False, True, "B(2N) E', even outputs")
    elif name in TRANSFORMS:
        core = KMatrix(n, n, width=1, complex=True, init="randn", permutation="none", dtype=f64)
        s = Structure(core, None, slice(None), True, False, "Re(B B*)")
    else:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {name!r}")
    core.reset_parameters(generator=generator)
    return s


def learning_rate(name: str) -> float:
    """Adam's initial rate: 0.02 for the one-butterfly structures (as the DFT is known to learn), 0.05 for the
    deeper or wider ones (measured: 0.02 stalls them at 1e-2)."""
    return 0.02 if name in ("dft", "hadamard") else 0.05


# --- optimisation --------------------------------------------------------------------------------------------------
def _real_view(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


class Problem:
    """The least-squares fit ``min_theta ||f_theta(X) - Y||^2 / ||Y||^2`` over the twiddle as a real vector."""

    def __init__(self, model: Structure, x: torch.Tensor, y: torch.Tensor):
        self.model, self.x, self.y = model, x, y
        self.scale = 1.0 / y.norm()
        self.tw = model.core.twiddle
        self.shape = _real_view(self.tw.detach()).shape

    def theta(self) -> torch.Tensor:
        return _real_view(self.tw.detach()).reshape(-1).clone()

    def set_theta(self, theta: torch.Tensor) -> None:
        with torch.no_grad():
            _real_view(self.tw).copy_(theta.reshape(self.shape))

    def residual(self, theta: torch.Tensor) -> torch.Tensor:
        """Real vector of scaled residuals: its squared norm is the relative loss."""
        tw = theta.reshape(self.shape)
        tw = torch.view_as_complex(tw) if self.tw.is_complex() else tw
        r = (self.model(self.x, tw) - self.y) * self.scale
        return _real_view(r).reshape(-1)

    def loss(self, theta: torch.Tensor) -> float:
        with torch.no_grad():
            return self.residual(theta).square().sum().item()


def adam(problem: Problem, steps: int, lr: float) -> float:
    """Adam with a cosine schedule on the relative loss; returns the last loss."""
    theta = nn.Parameter(problem.theta())
    opt = torch.optim.Adam([theta], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = problem.residual(theta).square().sum()
        loss.backward()
        opt.step()
        sched.step()
    problem.set_theta(theta.detach())
    return problem.loss(theta.detach())


def levenberg_marquardt(problem: Problem, budget_s: float, cg_iters: int = 100, stop: float = 1e-30,
                        patience: int = 30) -> tuple:
    """Damped Gauss-Newton steps ``(J^T J + lam I) d = -J^T r`` solved by conjugate gradients, matrix-free.

    ``J v`` is a central difference of the residual along ``v`` (relative step 1e-6: the model is a polynomial of
    degree <= 2 log2(2N) in the twiddles, so the truncation error is ~(degree * 1e-6)^2 and rounding ~1e-10, ample for
    a Newton direction; the loss itself is always evaluated exactly); ``J^T u`` is one backward pass. Stops at
    ``stop``, after ``budget_s`` or when ``patience`` steps have not gained a factor of 10 (a point that is not the
    answer, better left for a new start). Returns ``(loss, outer iterations, J^T J products)``.
    """
    start = time.process_time()
    theta = problem.theta()
    loss = problem.loss(theta)
    lam, outer, products, history = 1e-3, 0, 0, []
    while loss > stop and time.process_time() - start < budget_s and lam < 1e8:
        history.append(loss)
        if len(history) > patience and loss > 0.1 * history[-patience - 1]:
            break
        t = theta.clone().requires_grad_()
        r = problem.residual(t)
        grad, = torch.autograd.grad(r.square().sum(), t)
        b = -0.5 * grad  # -J^T r

        def gauss_newton(v: torch.Tensor) -> torch.Tensor:
            h = 1e-6 * max(1.0, theta.norm().item()) / max(v.norm().item(), 1e-300)
            with torch.no_grad():
                jv = (problem.residual(theta + h * v) - problem.residual(theta - h * v)) / (2 * h)
            q = theta.clone().requires_grad_()
            out, = torch.autograd.grad((problem.residual(q) * jv).sum(), q)
            return out

        step, used = _conjugate_gradients(gauss_newton, b, lam, cg_iters)
        products += used
        new_loss = problem.loss(theta + step)
        outer += 1
        if new_loss < loss:
            theta, loss, lam = theta + step, new_loss, max(lam / 3, 1e-15)
        else:
            lam *= 4
    problem.set_theta(theta)
    return loss, outer, products


def _conjugate_gradients(matvec, b: torch.Tensor, lam: float, iters: int) -> tuple:
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = r.dot(r)
    used = 0
    for used in range(1, iters + 1):
        ap = matvec(p) + lam * p
        alpha = rs / p.dot(ap)
        x, r = x + alpha * p, r - alpha * ap
        rs_new = r.dot(r)
        if rs_new.sqrt() < 1e-3 * b.norm():
            break
        p, rs = r + (rs_new / rs) * p, rs_new
    return x, used


# --- one row -------------------------------------------------------------------------------------------------------
def data(name: str, n: int, generator: torch.Generator) -> tuple:
    """``(X, Y, X_held_out, Y_held_out)``: 2N training pairs and 256 held-out ones, complex for the DFT."""
    t = target_matrix(name, n)
    dtype = torch.complex128 if t.is_complex() else torch.float64
    x = torch.randn(2 * n, n, dtype=dtype, generator=generator)  # (2N, N)
    xt = torch.randn(HELD_OUT, n, dtype=dtype, generator=generator)
    return x, x @ t.T, xt, xt @ t.T


def fit(name: str, n: int, steps: int = 1000, budget_s: float = 180.0, polish_s: float = 60.0, seed: int = 0,
        log=print) -> dict:
    """Fit transform ``name`` at size ``n``; the row of the table as a dict (the best attempt's numbers)."""
    start = time.process_time()
    g = torch.Generator().manual_seed(seed)
    x, y, xt, yt = data(name, n, g)
    best, attempts = None, 0
    while best is None or (best["error"] > TARGET and name not in CONTROLS
                           and time.process_time() - start < budget_s):
        attempts += 1
        t0 = time.process_time()
        model = structure(name, n, g)
        problem = Problem(model, x, y)
        adam_loss = adam(problem, steps, learning_rate(name))
        polish = (None, 0, 0)
        if adam_loss < POLISH_BELOW or name in CONTROLS:
            polish = levenberg_marquardt(problem, polish_s)
        with torch.no_grad():
            error = ((model(xt) - yt).norm() / yt.norm()).item()
        row = dict(transform=name, n=n, structure=model.label, adam_loss=adam_loss, lm_loss=polish[0],
                   lm_iters=polish[1], lm_products=polish[2], steps=steps, error=error,
                   seconds=time.process_time() - t0, params=_real_params(model), dense=_dense_params(name, n))
        log(f"  {name} N={n} attempt {attempts}: Adam {adam_loss:.1e}"
            + (f", LM {polish[0]:.1e} ({polish[1]} steps)" if polish[0] is not None else ", no polish")
            + f" -> held-out {error:.1e} ({row['seconds']:.0f} s)")
        if best is None or error < best["error"]:
            best = row
    best.update(attempts=attempts, total_seconds=time.process_time() - start, reached=best["error"] <= TARGET)
    return best


def _real_params(model: Structure) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def _dense_params(name: str, n: int) -> int:
    return n * n * (2 if name == "dft" else 1)


# --- report --------------------------------------------------------------------------------------------------------
def markdown(rows: list, args, machine: dict) -> str:
    lines = [
        "# Learning fast transforms from input-output pairs (float64)",
        "",
        f"`python benchmarks/learn_transforms.py {' '.join(_shown(args.argv))}`".replace(" `", "`"),
        "",
        f"{machine['cpu']}, torch {machine['torch']}, {machine['threads']} thread(s), butterfly op: "
        f"{machine['backend']}. Per attempt: Adam (cosine) for {args.steps} steps on 2N pairs, then a "
        f"Levenberg-Marquardt polish (matrix-free Gauss-Newton, <= {args.polish:.0f} CPU s) where Adam ends below "
        f"{POLISH_BELOW:g}; new random initialisations while the row's {args.budget:.0f} CPU seconds last and the "
        f"held-out error is above {TARGET:g} (not for the Legendre and random rows). Error: relative Frobenius error "
        f"on {HELD_OUT} held-out inputs. Parameters: real numbers (a complex twiddle counts 2) beside the dense "
        "matrix's.",
        "",
        "| transform | N | structure | held-out rel. error | <= 1e-10 | Adam loss | LM loss (steps, J^T J products) "
        "| attempts | CPU s | params | dense |",
        "|---|---:|---|---:|:---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lm = "–" if r["lm_loss"] is None else f"{r['lm_loss']:.1e} ({r['lm_iters']}, {r['lm_products']})"
        lines.append(f"| {r['transform']} | {r['n']} | {r['structure']} | {r['error']:.1e} | "
                     f"{'yes' if r['reached'] else 'no'} | {r['adam_loss']:.1e} | {lm} | {r['attempts']} | "
                     f"{r['total_seconds']:.0f} | {r['params']} | {r['dense']} |")
    return "\n".join(lines) + "\n"


def _shown(argv: list) -> list:
    """The command's arguments as the report prints them: without ``--out`` (a path of this machine)."""
    shown, skip = [], False
    for a in argv:
        if skip or a.startswith("--out="):
            skip = False
            continue
        skip = a == "--out"
        if not skip:
            shown.append(a)
    return shown


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated N, powers of 2")
    p.add_argument("--transforms", default=",".join(TRANSFORMS), help=f"comma-separated, among {TRANSFORMS}")
    p.add_argument("--steps", type=int, default=1000, help="Adam steps per attempt")
    p.add_argument("--budget", type=float, default=180.0,
                   help="CPU seconds per row within which a new attempt starts")
    p.add_argument("--polish", type=float, default=60.0, help="CPU seconds of Levenberg-Marquardt per attempt")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "learn_transforms.md"))
    args = p.parse_args(argv)
    args.argv = list(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.transforms = args.transforms.split(",")
    for name in args.transforms:
        if name not in TRANSFORMS:
            p.error(f"--transforms: {name!r} is not among {TRANSFORMS}")
    for n in args.sizes:
        if n < 2 or n & (n - 1):
            p.error(f"--sizes: {n} is not a power of 2 >= 2")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    machine = dict(cpu=platform.processor() or platform.machine(), torch=torch.__version__, threads=args.threads,
                   backend=backend("cpu"))
    out = Path(args.out)
    rows = []
    for n in args.sizes:
        for name in args.transforms:
            print(f"{name} N={n} ...", flush=True)
            row = fit(name, n, args.steps, args.budget, args.polish, args.seed)
            rows.append(row)
            print(f"{name} N={n}: held-out {row['error']:.1e} ({row['structure']}, {row['attempts']} attempt(s), "
                  f"{row['total_seconds']:.0f} s)", flush=True)
            atomic_write(out, markdown(rows, args, machine).encode())
            payload = dict(machine=machine, settings=dict(steps=args.steps, budget=args.budget, polish=args.polish,
                                                          seed=args.seed, target=TARGET), rows=rows)
            atomic_write(out.with_suffix(".json"), (json.dumps(payload, indent=1) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
