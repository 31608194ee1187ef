"""Pictures of a (trained) front-end, written to image files.

matplotlib is imported only here, and only its Agg canvas is used: plotting never changes the pyplot backend
of the calling program and needs no display.
"""
import os

import torch

from .frontend.config import nyquist
from .frontend.diagnostics import current_kmatrix, filterbank_drift, frequency_response, initial_filterbank, \
    initial_kmatrix, kmatrix_drift


def _figure(ncols: int, width: float = 6.0, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def _save(fig, path) -> str:
    path = os.fspath(path)
    fig.savefig(path, dpi=110)
    return path


@torch.no_grad()
def plot_filterbank(frontend, path, title: str | None = None) -> str:
    """Draw the learned filterbank (solid) over the initial mel filters (dashed), weight against Hz.

    Args:
        frontend: a front-end of this package.
        path (str or PathLike): image file to write (format from its suffix, e.g. ``.png``).
        title (str, optional): figure title. (Default: the drift)

    Returns:
        str: ``path``.
    """
    fb = frontend.filterbank().detach().double().cpu()  # (n_freqs, n_mels)
    fb0 = initial_filterbank(frontend).double().cpu()
    cfg = frontend.config
    hz = torch.linspace(0, nyquist(cfg.sample_rate), cfg.n_freqs, dtype=torch.float64)
    fig, (ax,) = _figure(1, width=9.0)
    colors = [f"C{i % 10}" for i in range(fb.shape[1])]
    for m in range(fb.shape[1]):
        ax.plot(hz, fb0[:, m], "--", color=colors[m], linewidth=0.7, alpha=0.6)
        ax.plot(hz, fb[:, m], "-", color=colors[m], linewidth=1.0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("weight")
    ax.set_title(title or f"filterbank: learned (solid) vs initial mel (dashed); drift "
                 f"{filterbank_drift(frontend):.3g}")
    return _save(fig, path)


@torch.no_grad()
def plot_kmatrix(frontend, path, title: str | None = None) -> str:
    """Draw ``|K|`` (dB, bins against frame samples) and ``|K - K0|`` side by side, ``K`` being the
    ``(n_freqs, n_fft)`` map from a windowed frame to the bins (the DFT at init).

    Args:
        frontend: a front-end of this package (a fixed one shows the DFT).
        path (str or PathLike): image file to write.
        title (str, optional): figure title. (Default: the drift)

    Returns:
        str: ``path``.
    """
    k = current_kmatrix(frontend).to(torch.complex128).cpu()
    k0 = initial_kmatrix(frontend).to(torch.complex128).cpu()
    fig, axes = _figure(2, width=5.5, height=4.5)
    panels = ((k.abs(), "|K| (dB)"), ((k - k0).abs(), "|K - K0| (dB)"))
    for ax, (mag, name) in zip(axes, panels):
        db = 20 * torch.log10(mag.clamp_min(1e-8))
        im = ax.imshow(db.numpy(), aspect="auto", origin="lower", interpolation="nearest", cmap="magma",
                       vmin=float(db.max()) - 80, vmax=float(db.max()))
        ax.set_xlabel("frame sample")
        ax.set_ylabel("output bin")
        ax.set_title(name)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title or f"K-matrix, drift {kmatrix_drift(frontend):.3g}")
    return _save(fig, path)


@torch.no_grad()
def plot_frequency_response(frontend, path, title: str | None = None, n_points: int = 1024) -> str:
    """Draw every channel's response to a sinusoid (dB against Hz); see
    :func:`~kfront.frontend.diagnostics.frequency_response`.

    Returns:
        str: ``path``.
    """
    freqs, resp = frequency_response(frontend, n_points)  # (n_points,), (n_mels, n_points)
    fig, (ax,) = _figure(1, width=9.0)
    db = 10 * torch.log10(resp.clamp_min(1e-12))
    for m in range(db.shape[0]):
        ax.plot(freqs, db[m], linewidth=0.8)
    top = float(db.max())
    ax.set_ylim(top - 80, top + 3)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("channel power (dB)")
    ax.set_title(title or "frequency response of each filterbank channel")
    return _save(fig, path)
