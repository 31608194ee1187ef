"""Stateless pieces of the MFCC / log-mel pipeline: framing, windows, mel filters, log, DCT.

Formulas follow ``torchaudio.functional`` (``spectrogram``, ``melscale_fbanks`` with the HTK mel scale and no
normalisation, ``create_dct`` with ``norm="ortho"``), but every constant is built in float64 and then cast, so
that a float64 front-end is exact to float64 rounding rather than to float32's.
"""
import math

import torch

from ._checks import WINDOWS


# --- framing ------------------------------------------------------------------------------------------------
def center_pad(waveform: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Reflect-pad ``n_fft // 2`` samples on both sides, as ``torch.stft(center=True)`` does.

    Args:
        waveform (Tensor): ``(..., time)`` with ``time > n_fft // 2``.

    Returns:
        Tensor: ``(..., time + 2 * (n_fft // 2))``.
    """
    pad = n_fft // 2
    shape = waveform.shape
    flat = waveform.reshape(-1, 1, shape[-1])  # reflect padding wants (N, C, T)
    out = torch.nn.functional.pad(flat, (pad, pad), mode="reflect")
    return out.reshape(*shape[:-1], out.shape[-1])


def frame(padded: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Frames ``(..., n_frames, n_fft)`` of an already padded signal ``(..., time)``: a strided view, no copy."""
    return padded.unfold(-1, n_fft, hop_length)


def num_frames(n_samples, n_fft: int, hop_length: int, center: bool = True):
    """Number of frames for ``n_samples`` samples (an int or an integer tensor, e.g. ``lengths``).

    ``1 + (n + 2 * (n_fft // 2) - n_fft) // hop_length`` with ``center=True`` (``1 + n // hop_length`` for an
    even ``n_fft``), ``1 + (n - n_fft) // hop_length`` without; never below 0.
    """
    padded = n_samples + 2 * (n_fft // 2) if center else n_samples
    if isinstance(padded, torch.Tensor):
        return (torch.div(padded - n_fft, hop_length, rounding_mode="floor") + 1).clamp_min(0)
    return max(0, (padded - n_fft) // hop_length + 1)


def make_window(window, win_length: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A window of ``win_length`` samples: a name in ``WINDOWS`` (periodic, as ``torch.*_window`` and
    ``scipy.signal.get_window`` build them for spectral analysis) or a 1-D tensor of that length."""
    if isinstance(window, torch.Tensor):
        if window.shape != (win_length,) or not window.is_floating_point():
            raise ValueError(f"a window tensor must be real with shape ({win_length},), got "
                             f"{window.dtype} {tuple(window.shape)}")
        return window.detach().to(dtype).clone()
    makers = {"hamming": torch.hamming_window, "hann": torch.hann_window, "blackman": torch.blackman_window,
              "rectangular": lambda n, dtype: torch.ones(n, dtype=dtype)}
    if window not in makers:
        raise ValueError(f"window must be one of {WINDOWS} or a tensor, got {window!r}")
    return makers[window](win_length, dtype=dtype)


def pad_window(window: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Place a ``(win_length,)`` window in the middle of ``n_fft`` zeros, as ``torch.stft`` does."""
    left = (n_fft - window.shape[-1]) // 2
    return torch.nn.functional.pad(window, (left, n_fft - window.shape[-1] - left))


# --- mel scale ----------------------------------------------------------------------------------------------
def hz_to_mel(freq):
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    if isinstance(freq, torch.Tensor):
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    return 2595.0 * math.log10(1.0 + freq / 700.0)


def mel_to_hz(mels):
    """Inverse of :func:`hz_to_mel` (floats and tensors)."""
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def fft_frequencies(sample_rate: int, n_fft: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Centre frequencies (Hz) of the ``n_fft // 2 + 1`` one-sided bins (torchaudio's grid)."""
    return torch.linspace(0, sample_rate // 2, n_fft // 2 + 1, dtype=dtype)


def mel_points(f_min: float, f_max: float, n_mels: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n_mels + 2`` equally spaced mel points from ``f_min`` to ``f_max``, in Hz: filter edges and centres."""
    return mel_to_hz(torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=dtype))


def triangular_filterbank(all_freqs: torch.Tensor, f_pts: torch.Tensor) -> torch.Tensor:
    """Triangles rising from ``f_pts[m]`` to a peak of 1 at ``f_pts[m + 1]`` and falling to ``f_pts[m + 2]``.

    Differentiable in ``f_pts`` (the edges can learn). Same arithmetic as torchaudio and librosa.

    Args:
        all_freqs (Tensor): ``(n_freqs,)`` bin frequencies.
        f_pts (Tensor): ``(n_mels + 2,)`` increasing points.

    Returns:
        Tensor: ``(n_freqs, n_mels)``, non-negative.
    """
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_mels + 1,)
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]  # (n_freqs, n_mels)
    up = slopes[:, 2:] / f_diff[1:]
    return torch.minimum(down, up).clamp_min(0.0)


def mel_filterbank(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, None, "htk")``,
    computed in float64 and cast to ``dtype``. Returns ``(n_freqs, n_mels)``."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs, dtype=torch.float64)
    fb = triangular_filterbank(all_freqs, mel_points(f_min, f_max, n_mels))
    return fb.to(dtype)


# --- log and DCT ------------------------------------------------------------------------------------------
def log_mel(mel: torch.Tensor, log_offset: float) -> torch.Tensor:
    """``log(mel + log_offset)``: a floor of ``log(log_offset)`` that keeps gradients finite on silence."""
    return torch.log(mel + log_offset)


def create_dct(n_mfcc: int, n_mels: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Orthonormal DCT-II as ``torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho")``, built in float64.

    Returns:
        Tensor: ``(n_mels, n_mfcc)``, to right-multiply ``(..., n_mels)`` rows.
    """
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)  # (n_mfcc, n_mels)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / n_mels)
    return dct.t().contiguous().to(dtype)


def power_to_features(power: torch.Tensor, fb: torch.Tensor, log_offset: float,
                      dct_mat: torch.Tensor | None = None) -> torch.Tensor:
    """Mel filterbank, log and (optionally) DCT of a power spectrum.

    Args:
        power (Tensor): ``(..., n_frames, n_freqs)``.
        fb (Tensor): ``(n_freqs, n_mels)``.
        log_offset (float): added before the log.
        dct_mat (Tensor, optional): ``(n_mels, n_mfcc)``.

    Returns:
        Tensor: ``(..., n_features, n_frames)`` with ``n_features`` = ``n_mfcc`` or ``n_mels``.
    """
    feats = log_mel(torch.matmul(power, fb), log_offset)  # (..., n_frames, n_mels)
    if dct_mat is not None:
        feats = torch.matmul(feats, dct_mat)  # (..., n_frames, n_mfcc)
    return feats.transpose(-1, -2)
