"""Timing shared by the benchmark scripts: jobs timed round-robin on a shared machine, medians reported (and
written, :func:`publish`).

Every repeat times every job once, so a burst of load from another process hits all rows alike and the ratios
between rows stay meaningful even when the absolute times do not.
"""
import statistics
import time

import torch

from kfront.frontend import count_parameters


def module_jobs(module, *inputs):
    """``(forward, forward+backward or None, learnable real parameters)`` callables for ``module(*inputs)``.

    The module's output may be a tensor or a tuple whose first entry is the features; the backward runs from their
    sum (so it reaches every learnable parameter), and is ``None`` for a module with nothing to learn."""
    def features():
        out = module(*inputs)
        return out[0] if isinstance(out, tuple) else out

    def forward():
        with torch.no_grad():
            features()

    def forward_backward():
        module.zero_grad(set_to_none=True)
        features().sum().backward()

    params = count_parameters(module)
    return forward, (forward_backward if params else None), params


def run_round_robin(jobs: dict, repeats: int, warmup: int, device: str = "cpu") -> dict:
    """``{name: (forward ms, forward+backward ms or None, params)}``: medians over ``repeats`` after ``warmup``.

    ``jobs`` maps a name to what :func:`module_jobs` returns (or ``None``: left out). On CUDA every call is timed
    with CUDA events, so the time is the device's, not the launch's."""
    calls = [(name, i, fn) for name, job in jobs.items() if job is not None
             for i, fn in enumerate(job[:2]) if fn is not None]
    times = {(name, i): [] for name, i, _ in calls}
    for r in range(warmup + repeats):
        for name, i, fn in calls:
            elapsed = _time_cuda(fn) if device == "cuda" else _time_cpu(fn)
            if r >= warmup:
                times[(name, i)].append(elapsed)
    out = {}
    for name, job in jobs.items():
        if job is None:
            out[name] = None
            continue
        med = [1e3 * statistics.median(times[(name, i)]) if (name, i) in times else None for i in range(2)]
        out[name] = (med[0], med[1], job[2])
    return out


def _time_cpu(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _time_cuda(fn) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3


def fmt(ms, base) -> tuple[str, str]:
    """A time and its ratio to ``base`` as table cells (``-`` when absent)."""
    return ("-", "-") if ms is None else (f"{ms:.1f}", f"{ms / base:.2f}x")


def publish(text: str, path) -> str:
    """Print a benchmark's report and write it to ``path`` (its folder made if needed); returns ``text``."""
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def timing_arguments(parser, *, batch: int, repeats: int, warmup: int, threads: int | None = None,
                     seconds_help: str = "seconds per utterance") -> None:
    """The options every audio benchmark takes (batch, utterance length, repeats, warm-up, threads), with its
    defaults; ``threads=None`` is torch's current count."""
    parser.add_argument("--batch", type=int, default=batch, help="utterances per batch")
    parser.add_argument("--seconds", type=float, default=10.0, help=seconds_help)
    parser.add_argument("--repeats", type=int, default=repeats, help="timed repeats (median)")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed repeats first")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads() if threads is None else threads,
                        help="torch threads")
