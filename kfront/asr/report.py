"""The results of a set of experiments as a Markdown table and plots.

An experiment folder is expected as ``<exp>/<frontend>_seed<seed>/`` with ``config.yaml``, ``summary.json`` and
``log.csv`` (written by training) and ``decode_{dev,test,test_init}/{per.json,alignments.txt}`` (written by
scoring); the names are :mod:`~kfront.asr.layout`'s. Besides the table of runs, the report pairs every learnable
front-end with its fixed twin and the best fixed front-end (:mod:`~kfront.asr.compare`).
"""
from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml

from .._atomic import atomic_write
from .compare import Comparison, paired_comparisons
from .layout import decode_dir, parse_run_dir

__all__ = ["collect_runs", "results_table", "paired_table", "plot_learning_curves", "plot_frontends",
           "write_report"]


def _read_json(path: Path) -> Dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _read_log(path: Path) -> List[Dict[str, float]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        # an empty cell: a column added after the row was written (a run resumed across versions)
        return [{k: float(v) if v != "" else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def _frontend_block(run_dir: Path) -> Dict[str, Any]:
    path = run_dir / "config.yaml"
    return (yaml.safe_load(path.read_text()) or {}).get("frontend", {}) if path.is_file() else {}


def collect_runs(exp_dir, frontends: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None) -> List[Dict[str, Any]]:
    """Gather what every ``<frontend>_seed<seed>`` folder of ``exp_dir`` holds, in front-end then seed order.

    Args:
        exp_dir (str or Path): the folder holding the experiment folders.
        frontends (sequence of str or None, optional): keep only these, in this order. (Default: all)
        seeds (sequence of int or None, optional): keep only these. (Default: all)
    """
    runs = []
    for d in sorted(Path(exp_dir).iterdir()):
        parsed = parse_run_dir(d.name)
        if not (d.is_dir() and parsed):
            continue
        fe, seed = parsed
        if (frontends and fe not in frontends) or (seeds and seed not in seeds):
            continue
        history = _read_log(d / "log.csv")
        summary = _read_json(d / "summary.json") or {}
        shares = [h["frontend_share"] for h in history if not math.isnan(h.get("frontend_share", math.nan))]
        runs.append({
            "dir": d, "frontend": fe, "seed": seed, "summary": summary, "drift": _kmatrix_drift(d, summary),
            "frontend_block": _frontend_block(d),
            "dev": _read_json(decode_dir(d, "dev") / "per.json"),
            "test": _read_json(decode_dir(d, "test") / "per.json"),
            "test_init": _read_json(decode_dir(d, "test", "init") / "per.json"), "history": history,
            "frontend_share": statistics.median(shares) if shares else math.nan,
        })
    order = {fe: i for i, fe in enumerate(frontends or [])}
    runs.sort(key=lambda r: (order.get(r["frontend"], len(order)), r["frontend"], r["seed"]))
    return runs


def _kmatrix_drift(run_dir: Path, summary: Dict[str, Any]) -> float | None:
    """Relative distance of the trained K-matrix (``best.pt``) from its initialisation; None without one."""
    if not (summary.get("frontend_params") and (run_dir / "best.pt").is_file()):
        return None
    from kfront.frontend.diagnostics import kmatrix_drift

    from .builder import load_model

    frontend = load_model(run_dir / "best.pt")[0].frontend
    return kmatrix_drift(frontend) if frontend.has_kmatrix else None


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _mean_std(xs: List[float]) -> str:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return "–"
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f}"


def _per(run: Dict[str, Any], key: str) -> float | None:
    return run[key]["per"] if run.get(key) else None


def results_table(runs: List[Dict[str, Any]]) -> str:
    """A Markdown table: one row per run, then the mean ± std (sample std) over seeds of each front-end."""
    lines = [
        "| front-end | seed | dev PER % | test PER % | untrained test PER % | test S / D / I | front-end params (real) "
        "| K drift | train time | front-end share of step | best epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        s = r["summary"]
        sdi = f"{r['test']['sub']} / {r['test']['del']} / {r['test']['ins']}" if r["test"] else "–"
        lines.append(
            f"| {r['frontend']} | {r['seed']} | {_fmt(_per(r, 'dev'))} | {_fmt(_per(r, 'test'))} | "
            f"{_fmt(_per(r, 'test_init'))} | {sdi} | {s.get('frontend_params', '–')} | {_fmt(r['drift'], 4)} | "
            f"{_fmt(s.get('train_seconds'), 0)} s | {_fmt(100 * r['frontend_share'], 1)} % | "
            f"{s.get('best_epoch', '–')} |")
    lines += ["", "| front-end | seeds | dev PER % (mean ± std) | test PER % (mean ± std) | "
                  "untrained test PER % | front-end params (real) | train time (mean) | front-end share of step |",
              "|---|---|---|---|---|---|---|---|"]
    for fe in dict.fromkeys(r["frontend"] for r in runs):
        rs = [r for r in runs if r["frontend"] == fe]
        times = [r["summary"].get("train_seconds") for r in rs if r["summary"].get("train_seconds") is not None]
        shares = [r["frontend_share"] for r in rs if not math.isnan(r["frontend_share"])]
        lines.append(
            f"| {fe} | {len(rs)} | {_mean_std([_per(r, 'dev') for r in rs])} | "
            f"{_mean_std([_per(r, 'test') for r in rs])} | {_mean_std([_per(r, 'test_init') for r in rs])} | "
            f"{rs[0]['summary'].get('frontend_params', '–')} | "
            f"{_fmt(statistics.mean(times), 0) if times else '–'} s | "
            f"{_fmt(100 * statistics.mean(shares), 1) if shares else '–'} % |")
    return "\n".join(lines) + "\n"


def _verdict(c: Comparison) -> str:
    d = c.difference
    if d.inside_noise:
        return "inside the noise"
    return f"{c.learnable} better" if d.high < 0 else f"{c.learnable} worse"


def paired_table(comparisons: List[Comparison], split: str, columns=("learnable", "fixed")) -> str:
    """A Markdown table of the paired differences on one split, first minus second front-end, in PER points.

    ``columns`` names the two sides in the header (``("A", "B")`` for any two front-ends).
    """
    rows = [c for c in comparisons if c.split == split]
    if not rows:
        return ""
    a, b = columns
    lines = [f"| {a} | against | seeds | PER % per seed ({a} / {b}) | mean difference | "
             f"{round(100 * rows[0].difference.level)} % interval | {a} better on | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for c in rows:
        d = c.difference
        pairs = ", ".join(f"{s}: {x:.2f} / {y:.2f}" for s, x, y in zip(c.seeds, d.per_a, d.per_b))
        against = f"{c.fixed} ({c.relation})" if c.relation else c.fixed
        lines.append(f"| {c.learnable} | {against} | {len(c.seeds)} | {pairs} | {d.mean:+.2f} | "
                     f"[{d.low:+.2f}, {d.high:+.2f}] | {d.a_better} of {len(c.seeds)} seeds | {_verdict(c)} |")
    return "\n".join(lines) + "\n"


def _paired_section(runs: List[Dict[str, Any]]) -> str:
    comparisons = paired_comparisons(runs)
    if not comparisons:
        return ""
    names = {"test": "core test", "dev": "dev"}
    text = "\n## Paired differences: learnable front-end minus fixed front-end (PER points)\n"
    for split in ("test", "dev"):
        table = paired_table(comparisons, split)
        if table:
            text += f"\n{names[split]}:\n\n{table}"
    n = comparisons[0].difference.resamples
    text += ("\nNegative: the learnable front-end makes fewer errors. A pair shares its seed: the same batches in "
             "the same order and, where both front-ends give as many features, the same initial recognizer. "
             f"Interval: percentile bootstrap, {n} resamples (seeded), each drawing the seeds and the utterances "
             "with replacement, the same draw for both front-ends and the same utterances for every seed; "
             "'inside the noise': the interval holds 0. The twin is the fixed front-end the learnable one equals "
             "at initialisation; the best fixed front-end has the lowest mean dev PER.\n")
    return text


def plot_learning_curves(runs: List[Dict[str, Any]], path) -> None:
    """Train loss and dev PER per epoch of every run, one colour per front-end."""
    # The Agg canvas alone: no pyplot, so the caller's matplotlib backend is left as it is.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_per = fig.subplots(1, 2)
    colours = {}
    for r in runs:
        if not r["history"]:
            continue
        c = colours.setdefault(r["frontend"], f"C{len(colours)}")
        ep = [h["epoch"] for h in r["history"]]
        label = f"{r['frontend']} seed {r['seed']}"
        ax_loss.plot(ep, [h["train_loss"] for h in r["history"]], "o-", ms=3, color=c, alpha=0.8, label=label)
        ax_per.plot(ep, [h["dev_per"] for h in r["history"]], "o-", ms=3, color=c, alpha=0.8, label=label)
    ax_loss.set(xlabel="epoch", ylabel="train CTC loss", title="training loss")
    ax_per.set(xlabel="epoch", ylabel="dev PER % (greedy)", title="dev phone error rate")
    if colours:  # runs without a history draw nothing to name
        ax_per.legend(fontsize=7)
    fig.savefig(path, dpi=110)


def plot_frontends(runs: List[Dict[str, Any]], out_dir) -> List[Path]:
    """For each run with a learnable front-end, draw it trained (``best.pt``) against its initialisation.

    The drawings are :mod:`kfront.plot`'s: ``|K|`` and ``|K - K0|``; each channel's frequency response, trained
    and at initialisation (``init.pt``); and the filterbank when it is learned too.
    """
    from kfront import plot as kplot

    from .builder import load_model

    out = []
    for r in runs:
        if not (r["summary"].get("frontend_params", 0) > 0 and (r["dir"] / "init.pt").is_file()
                and (r["dir"] / "best.pt").is_file()):
            continue
        initial, _, _ = load_model(r["dir"] / "init.pt")
        trained, _, ckpt = load_model(r["dir"] / "best.pt")
        name, title = r["dir"].name, f"{r['frontend']} seed {r['seed']}, epoch {ckpt.get('epoch')}"
        out_dir = Path(out_dir)
        if trained.frontend.has_kmatrix:
            out.append(Path(kplot.plot_kmatrix(trained.frontend, out_dir / f"kmatrix_{name}.png",
                                               title=f"K-matrix: {title}")))
        out.append(Path(kplot.plot_frequency_response(trained.frontend, out_dir / f"response_{name}.png",
                                                      title=f"channel responses, trained: {title}")))
        out.append(Path(kplot.plot_frequency_response(initial.frontend, out_dir / f"response_{name}_init.png",
                                                      title=f"channel responses at initialisation: {title}")))
        if "filterbank" in trained.frontend.learn:
            out.append(Path(kplot.plot_filterbank(trained.frontend, out_dir / f"filterbank_{name}.png",
                                                  title=f"filterbank: {title}")))
    return out


def write_report(exp_dir, out_md, frontends: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None, header: str = "") -> str:
    """Write the results table (Markdown) and the plots next to it; return the Markdown text."""
    runs = collect_runs(exp_dir, frontends, seeds)
    if not runs:
        raise ValueError(f"no <frontend>_seed<seed> experiment folders in {str(exp_dir)!r}")
    out_md = Path(out_md)
    plots = out_md.parent / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(runs, plots / "learning_curves.png")
    fe_plots = plot_frontends(runs, plots)
    text = header + results_table(runs)
    text += "\nPER on 39 phones (core test set for 'test'); untrained = the same model at initialisation. "
    text += "K drift: relative Frobenius distance of the trained K-matrix from its initialisation (the DFT). "
    text += "Front-end share: time in the front-end's forward and backward over the whole training step "
    text += "(median over epochs).\n"
    text += _paired_section(runs)
    text += "\nPlots: " + ", ".join(str(p.relative_to(out_md.parent)) for p in [plots / "learning_curves.png"]
                                    + fe_plots) + "\n"
    atomic_write(out_md, text.encode())
    return text
