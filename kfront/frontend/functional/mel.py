"""Mel scales and mel filterbanks: torchaudio's / HTK's, librosa's Slaney, Kaldi's and SpeechBrain's.

Everything is built in float64 and differentiable in the filter edges, so that a learnable filterbank can move its
edges on any of the scales and stay exact at initialisation.
"""
import math

import torch

MEL_SCALES = ("htk", "slaney", "kaldi")

_SLANEY_HZ, _SLANEY_MEL, _SLANEY_LOGSTEP = 1000.0, 15.0, math.log(6.4) / 27.0


def _log(x, base=None):
    if isinstance(x, torch.Tensor):
        return torch.log(x) if base is None else torch.log10(x)
    return math.log(x) if base is None else math.log10(x)


def _exp(x, base=None):
    if isinstance(x, torch.Tensor):
        return torch.exp(x) if base is None else torch.pow(10.0, x)
    return math.exp(x) if base is None else 10.0 ** x


def hz_to_mel(freq, scale: str = "htk"):
    """Hz to mel (floats and tensors).

    ``"htk"``: ``2595 log10(1 + f / 700)``; ``"kaldi"``: ``1127 ln(1 + f / 700)``; ``"slaney"``: ``3 f / 200``
    below 1 kHz, ``15 + 27 ln(f / 1000) / ln(6.4)`` above (librosa's default, Whisper's).
    """
    if scale == "htk":
        return 2595.0 * _log(1.0 + freq / 700.0, 10)
    if scale == "kaldi":
        return 1127.0 * _log(1.0 + freq / 700.0)
    if scale == "slaney":
        linear = 3.0 * freq / 200.0
        if isinstance(freq, torch.Tensor):
            log_part = _SLANEY_MEL + torch.log(freq.clamp_min(_SLANEY_HZ) / _SLANEY_HZ) / _SLANEY_LOGSTEP
            return torch.where(freq >= _SLANEY_HZ, log_part, linear)
        return _SLANEY_MEL + math.log(freq / _SLANEY_HZ) / _SLANEY_LOGSTEP if freq >= _SLANEY_HZ else linear
    raise ValueError(f"mel scale must be one of {MEL_SCALES}, got {scale!r}")


def mel_to_hz(mels, scale: str = "htk"):
    """Inverse of :func:`hz_to_mel` (floats and tensors)."""
    if scale == "htk":
        return 700.0 * (_exp(mels / 2595.0, 10) - 1.0)
    if scale == "kaldi":
        return 700.0 * (_exp(mels / 1127.0) - 1.0)
    if scale == "slaney":
        linear = 200.0 * mels / 3.0
        if isinstance(mels, torch.Tensor):
            log_part = _SLANEY_HZ * torch.exp(_SLANEY_LOGSTEP * (mels.clamp_min(_SLANEY_MEL) - _SLANEY_MEL))
            return torch.where(mels >= _SLANEY_MEL, log_part, linear)
        return _SLANEY_HZ * math.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MEL)) if mels >= _SLANEY_MEL else linear
    raise ValueError(f"mel scale must be one of {MEL_SCALES}, got {scale!r}")


def fft_frequencies(sample_rate: int, n_fft: int, dtype: torch.dtype = torch.float64,
                    grid: str = "linspace") -> torch.Tensor:
    """Centre frequencies (Hz) of the ``n_fft // 2 + 1`` one-sided bins.

    ``grid="linspace"``: ``linspace(0, sample_rate // 2, n_fft // 2 + 1)`` (torchaudio, transformers);
    ``"rfftfreq"``: ``k * sample_rate / n_fft`` (librosa, Kaldi). Equal (to rounding) for even ``n_fft``.
    """
    n_freqs = n_fft // 2 + 1
    if grid == "linspace":
        return torch.linspace(0, sample_rate // 2, n_freqs, dtype=dtype)
    if grid == "rfftfreq":
        return torch.arange(n_freqs, dtype=torch.float64).mul(sample_rate / n_fft).to(dtype)
    raise ValueError(f"grid must be 'linspace' or 'rfftfreq', got {grid!r}")


def mel_points(f_min: float, f_max: float, n_mels: int, dtype: torch.dtype = torch.float64,
               scale: str = "htk") -> torch.Tensor:
    """``n_mels + 2`` points equally spaced on the mel ``scale`` from ``f_min`` to ``f_max``, in Hz."""
    mels = torch.linspace(hz_to_mel(f_min, scale), hz_to_mel(f_max, scale), n_mels + 2, dtype=dtype)
    return mel_to_hz(mels, scale)


def triangular_filterbank(all_freqs: torch.Tensor, f_pts: torch.Tensor) -> torch.Tensor:
    """Triangles rising from ``f_pts[m]`` to a peak of 1 at ``f_pts[m + 1]`` and falling to ``f_pts[m + 2]``.

    Linear in whatever unit both arguments share (Hz for torchaudio and librosa, mel for Kaldi). Differentiable in
    ``f_pts`` (the edges can learn); the same arithmetic as torchaudio and librosa.

    Args:
        all_freqs (Tensor): ``(n_freqs,)`` bin positions.
        f_pts (Tensor): ``(n_mels + 2,)`` increasing points.

    Returns:
        Tensor: ``(n_freqs, n_mels)``, non-negative.
    """
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_mels + 1,)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]  # (n_freqs, n_mels)
    up = slopes[:, 2:] / f_diff[1:]
    return torch.minimum(down, up).clamp_min(0.0)


def symmetric_filterbank(all_freqs: torch.Tensor, f_pts: torch.Tensor) -> torch.Tensor:
    """SpeechBrain's triangles: centred on ``f_pts[m + 1]``, half-width ``f_pts[m + 1] - f_pts[m]``.

    Returns:
        Tensor: ``(n_freqs, n_mels)``.
    """
    centre, band = f_pts[1:-1], f_pts[1:-1] - f_pts[:-2]  # (n_mels,) each
    slope = (all_freqs.unsqueeze(1) - centre) / band  # (n_freqs, n_mels)
    return torch.minimum(slope + 1.0, 1.0 - slope).clamp_min(0.0)


def filterbank_from_edges(all_freqs: torch.Tensor, edges: torch.Tensor, shape: str = "hz", scale: str = "htk",
                          norm: str | None = None) -> torch.Tensor:
    """A mel filterbank ``(n_freqs, n_mels)`` from its ``n_mels + 2`` edges in Hz.

    Args:
        all_freqs (Tensor): ``(n_freqs,)`` bin frequencies in Hz.
        edges (Tensor): ``(n_mels + 2,)`` increasing edges in Hz (differentiable).
        shape (str): ``"hz"`` (triangles linear in Hz), ``"mel"`` (linear on the mel ``scale``, Kaldi) or
            ``"symmetric"`` (SpeechBrain). (Default: ``"hz"``)
        scale (str): the mel scale of ``"mel"`` triangles. (Default: ``"htk"``)
        norm (str or None): ``"slaney"`` divides each filter by half its width in Hz (unit area). (Default: ``None``)
    """
    if shape == "hz":
        fb = triangular_filterbank(all_freqs, edges)
    elif shape == "mel":
        fb = triangular_filterbank(hz_to_mel(all_freqs, scale), hz_to_mel(edges, scale))
    elif shape == "symmetric":
        fb = symmetric_filterbank(all_freqs, edges)
    else:
        raise ValueError(f"filter shape must be 'hz', 'mel' or 'symmetric', got {shape!r}")
    if norm == "slaney":
        fb = fb * (2.0 / (edges[2:] - edges[:-2]))  # (n_freqs, n_mels) * (n_mels,)
    elif norm is not None:
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    return fb


def mel_filterbank(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                   dtype: torch.dtype = torch.float64, *, scale: str = "htk", shape: str = "hz",
                   norm: str | None = None, grid: str = "linspace", n_fft: int | None = None) -> torch.Tensor:
    """A mel filterbank ``(n_freqs, n_mels)``, computed in float64 and cast to ``dtype``.

    With the defaults it is ``torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate,
    None, "htk")``; ``scale="slaney", norm="slaney"`` is librosa's default (Whisper, ESPnet); ``scale="kaldi",
    shape="mel", grid="rfftfreq"`` is Kaldi's; ``shape="symmetric"`` is SpeechBrain's.

    Args:
        n_fft (int, optional): the transform size, for ``grid="rfftfreq"``. (Default: ``2 * (n_freqs - 1)``)
    """
    all_freqs = fft_frequencies(sample_rate, n_fft or 2 * (n_freqs - 1), grid=grid)
    if all_freqs.shape[0] != n_freqs:
        raise ValueError(f"n_fft={n_fft} gives {all_freqs.shape[0]} bins, not n_freqs={n_freqs}")
    fb = filterbank_from_edges(all_freqs, mel_points(f_min, f_max, n_mels, scale=scale), shape, scale, norm)
    return fb.to(dtype)
