"""What a trained front-end has learned: channel frequency responses, drift from the start, sizes."""
import copy
import math

import torch
from torch import nn

from . import functional as F
from ._spectrum import separation_init


@torch.no_grad()
def frequency_response(frontend, n_points: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Power each filterbank channel receives from a unit-amplitude sinusoid, for frequencies 0 .. Nyquist.

    For a frame ``cos(2 pi f t / sample_rate + phi)`` the windowed transform ``A`` (:meth:`analysis_matrix`)
    gives bin powers ``(|A e_f|^2 + |A e_-f|^2) / 4`` averaged over the phase ``phi``; the filterbank then sums
    them per channel. At init this is the mel triangle smeared by the window's spectrum.

    Args:
        frontend: any front-end of this package.
        n_points (int): frequencies on a uniform grid from 0 to ``sample_rate / 2``. (Default: ``1024``)

    Returns:
        (Tensor, Tensor): ``freqs`` ``(n_points,)`` in Hz and ``response`` ``(n_mels, n_points)``, float64.
    """
    a = frontend.analysis_matrix().to(torch.complex128).cpu()  # (n_freqs, n_fft)
    fb = frontend.filterbank().detach().to(torch.float64).cpu()  # (n_freqs, n_mels)
    freqs = torch.linspace(0.0, frontend.sample_rate / 2, n_points, dtype=torch.float64)
    t = torch.arange(frontend.n_fft, dtype=torch.float64)
    phase = 2 * math.pi * freqs[:, None] * t[None, :] / frontend.sample_rate  # (n_points, n_fft)
    e = torch.polar(torch.ones_like(phase), phase)
    bins = ((e @ a.t()).abs().square() + (e.conj() @ a.t()).abs().square()) / 4  # (n_points, n_freqs)
    return freqs, (bins @ fb).t()  # (n_mels, n_points)


def _relative(now: torch.Tensor, start: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(now - start) / torch.linalg.vector_norm(start))


def _dft(frontend) -> torch.Tensor:
    device = frontend.filterbank().device
    return torch.fft.rfft(torch.eye(frontend.n_fft, dtype=frontend.dtype, device=device), dim=0)  # (n_freqs, n_fft)


@torch.no_grad()
def current_kmatrix(frontend) -> torch.Tensor:
    """The ``(n_freqs, n_fft)`` map from a windowed frame to the bins: the DFT for fixed front-ends."""
    transform = getattr(frontend, "transform_matrix", None)
    return _dft(frontend) if transform is None else transform()


@torch.no_grad()
def initial_kmatrix(frontend) -> torch.Tensor:
    """The ``(n_freqs, n_fft)`` map the front-end started from (the DFT for ``init="fft"``)."""
    start = getattr(frontend, "twiddle_init", None)
    if getattr(frontend, "kmatrix", None) is None or start is None:
        return _dft(frontend)
    twin = copy.deepcopy(frontend)
    twin.kmatrix.twiddle.copy_(start)
    if twin.separation is not None:
        twin.separation.copy_(separation_init(twin.n_fft, twin.separation.dtype))
    return twin.transform_matrix()


@torch.no_grad()
def kmatrix_drift(frontend) -> float:
    """``||K - K0||_F / ||K0||_F`` over the ``(n_freqs, n_fft)`` frame-to-bins map (window excluded); 0 for
    fixed front-ends."""
    if getattr(frontend, "kmatrix", None) is None:
        return 0.0
    return _relative(current_kmatrix(frontend), initial_kmatrix(frontend))


@torch.no_grad()
def initial_filterbank(frontend) -> torch.Tensor:
    """The HTK mel filterbank ``(n_freqs, n_mels)`` every front-end starts from."""
    fb = frontend.filterbank()
    return F.mel_filterbank(frontend.n_freqs, frontend.f_min, frontend.f_max, frontend.n_mels,
                            frontend.sample_rate, fb.dtype).to(fb.device)


@torch.no_grad()
def filterbank_drift(frontend) -> float:
    """``||fb - fb0||_F / ||fb0||_F`` against the initial mel filterbank."""
    return _relative(frontend.filterbank().detach(), initial_filterbank(frontend))


@torch.no_grad()
def drift(frontend) -> dict[str, float]:
    """Relative drift of every stage from its initial value: ``kmatrix``, ``window``, ``filterbank``, ``dct``."""
    out = {"kmatrix": kmatrix_drift(frontend), "filterbank": filterbank_drift(frontend)}
    window = getattr(frontend, "window", None)
    if isinstance(window, torch.Tensor):
        start = getattr(frontend, "window_init", None)  # fixed front-ends never move their window
        out["window"] = 0.0 if start is None else _relative(window.detach(), start.to(window.device))
    if frontend.dct_matrix() is not None:
        dct = frontend.dct_matrix().detach()
        out["dct"] = _relative(dct, F.create_dct(frontend.n_mfcc, frontend.n_mels, dct.dtype).to(dct.device))
    return out


def count_parameters(module: nn.Module, learnable_only: bool = True) -> int:
    """Real numbers in ``module``'s parameters (a complex entry counts 2); only trainable ones by default."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters()
               if p.requires_grad or not learnable_only)
