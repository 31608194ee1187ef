"""What a trained front-end has learned: channel frequency responses, drift from the start, sizes."""
import math

import torch
from torch import nn

from .config import nyquist


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
    a = frontend.analysis_matrix().to(torch.complex128).cpu()  # (n_freqs, frame_length)
    fb = frontend.filterbank().detach().to(torch.float64).cpu()  # (n_freqs, n_mels)
    sample_rate = frontend.config.sample_rate
    freqs = torch.linspace(0.0, nyquist(sample_rate), n_points, dtype=torch.float64)
    t = torch.arange(a.shape[-1], dtype=torch.float64)
    phase = 2 * math.pi * freqs[:, None] * t[None, :] / sample_rate  # (n_points, frame_length)
    e = torch.polar(torch.ones_like(phase), phase)
    bins = ((e @ a.t()).abs().square() + (e.conj() @ a.t()).abs().square()) / 4  # (n_points, n_freqs)
    return freqs, (bins @ fb).t()  # (n_mels, n_points)


def _relative(now: torch.Tensor, start: torch.Tensor) -> float:
    # in double precision: a float32 norm of a large matrix depends on its memory layout at the 1e-6 level
    wide = torch.complex128 if now.is_complex() or start.is_complex() else torch.float64
    now, start = now.to(wide), start.to(device=now.device, dtype=wide)
    return float(torch.linalg.vector_norm(now - start) / torch.linalg.vector_norm(start))


@torch.no_grad()
def current_kmatrix(frontend) -> torch.Tensor:
    """The ``(n_freqs, n_fft)`` map from a windowed frame to the bins: the DFT for fixed front-ends."""
    return frontend.transform_matrix()


@torch.no_grad()
def initial_kmatrix(frontend) -> torch.Tensor:
    """The ``(n_freqs, n_fft)`` map the front-end started from (the DFT for ``init="fft"``)."""
    return frontend.initial_transform_matrix()


@torch.no_grad()
def kmatrix_drift(frontend) -> float:
    """``||K - K0||_F / ||K0||_F`` over the ``(n_freqs, n_fft)`` frame-to-bins map (window excluded); 0 for
    front-ends without a K-matrix."""
    if not frontend.has_kmatrix:
        return 0.0
    return _relative(frontend.transform_matrix(), frontend.initial_transform_matrix())


@torch.no_grad()
def initial_filterbank(frontend) -> torch.Tensor:
    """The mel filterbank ``(n_freqs, n_mels)`` the front-end started from (its convention's)."""
    return frontend.initial_filterbank()


@torch.no_grad()
def filterbank_drift(frontend) -> float:
    """``||fb - fb0||_F / ||fb0||_F`` against the initial mel filterbank."""
    return _relative(frontend.filterbank().detach(), frontend.initial_filterbank())


@torch.no_grad()
def drift(frontend) -> dict[str, float]:
    """Relative drift of every stage from its initial value: ``kmatrix``, ``window``, ``filterbank``, ``dct``."""
    out = {"kmatrix": kmatrix_drift(frontend), "filterbank": filterbank_drift(frontend)}
    window = frontend.window_values().detach()
    out["window"] = _relative(window, frontend.initial_window().to(window.device))
    if frontend.dct_matrix() is not None:
        dct = frontend.dct_matrix().detach()
        out["dct"] = _relative(dct, frontend.initial_dct_matrix().to(dct.device))
    return out


def count_parameters(module: nn.Module, learnable_only: bool = True) -> int:
    """Real numbers in ``module``'s parameters (a complex entry counts 2): the one parameter count of the package.

    It counts what the module holds now, so a frozen front-end (:func:`~kfront.frontend.freeze`) holds none; its
    :meth:`~kfront.frontend.FrontendBase.num_learnable_parameters` answers with its source's count.

    Args:
        module (nn.Module): a front-end, a recognizer, any module.
        learnable_only (bool, optional): count only the parameters that train (``requires_grad``). (Default: ``True``)
    """
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters()
               if p.requires_grad or not learnable_only)
