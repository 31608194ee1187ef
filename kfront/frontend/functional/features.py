"""From mel energies to features: log compression, dynamic-range floor, DCT, lifter, deltas and context.

Every function keeps the gradient a toolkit's formula defines: a clamp passes no gradient below its floor, the
utterance maximum of a dynamic-range floor passes its gradient to the entry that attains it.
"""
import math

import torch

LOG_SCALES = ("natural", "log10", "db")


def log_mel(mel: torch.Tensor, log_offset: float) -> torch.Tensor:
    """``log(mel + log_offset)``: a floor of ``log(log_offset)`` that keeps gradients finite on silence."""
    return torch.log(mel + log_offset)


def compress(mel: torch.Tensor, scale: str = "natural", floor: float = 0.0, offset: float = 0.0) -> torch.Tensor:
    """``log(max(mel, floor) + offset)`` in the unit ``scale``: ``"natural"``, ``"log10"`` or ``"db"``
    (``10 log10``, the dB of a power).

    torchaudio's ``log_mels``: ``offset=1e-6``; Kaldi: ``floor=FLT_EPSILON``; ESPnet: ``floor=1e-10``; Whisper:
    ``"log10", floor=1e-10``; SpeechBrain: ``"db", floor=1e-10`` (its ``amin``, ``ref_value=1``).
    """
    x = mel.clamp_min(floor) if floor > 0 else mel
    if offset > 0:
        x = x + offset
    if scale == "natural":
        return torch.log(x)
    if scale == "log10":
        return torch.log10(x)
    if scale == "db":
        return 10.0 * torch.log10(x)
    raise ValueError(f"log scale must be one of {LOG_SCALES}, got {scale!r}")


def floor_dynamic_range(feats: torch.Tensor, dynamic_range: float) -> torch.Tensor:
    """``max(x, max(x) - dynamic_range)`` with the maximum over each utterance's last two dimensions.

    Whisper's ``max(log_spec, log_spec.max() - 8)``, SpeechBrain's ``top_db``.

    Args:
        feats (Tensor): ``(..., frames, n_mels)``.

    Returns:
        Tensor: same shape.
    """
    top = feats.amax(dim=(-2, -1), keepdim=True)  # (..., 1, 1)
    return torch.maximum(feats, top - dynamic_range)


def create_dct(n_mfcc: int, n_mels: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Orthonormal DCT-II as ``torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho")``, built in float64.

    Kaldi's ``ComputeDctMatrix`` and SpeechBrain's ``DCT(ortho_norm=True)`` are the same matrix.

    Returns:
        Tensor: ``(n_mels, n_mfcc)``, to right-multiply ``(..., n_mels)`` rows.
    """
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)  # (n_mfcc, n_mels)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / n_mels)
    return dct.t().contiguous().to(dtype)


def lifter_coefficients(n_mfcc: int, lifter: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Kaldi's cepstral lifter ``1 + lifter / 2 * sin(pi k / lifter)`` for ``k = 0 .. n_mfcc - 1``: ``(n_mfcc,)``."""
    k = torch.arange(n_mfcc, dtype=torch.float64)
    return (1.0 + 0.5 * lifter * torch.sin(math.pi * k / lifter)).to(dtype)


def deltas(feats: torch.Tensor, window: int = 5) -> torch.Tensor:
    """Time derivative ``sum_k k (x[t + k] - x[t - k]) / (2 sum_k k^2)`` over ``window`` frames, with the first and
    last frames repeated at the edges (SpeechBrain's ``Deltas``, ``torchaudio.functional.compute_deltas``).

    Args:
        feats (Tensor): ``(..., frames, n)``.

    Returns:
        Tensor: ``(..., frames, n)``.
    """
    half = (window - 1) // 2
    frames = feats.shape[-2]
    idx = torch.arange(-half, frames + half, device=feats.device).clamp(0, frames - 1)
    padded = feats[..., idx, :]  # (..., frames + 2 half, n)
    denom = half * (half + 1) * (2 * half + 1) / 3
    out = torch.zeros_like(feats)
    for k in range(1, half + 1):
        ahead = padded[..., half + k:half + k + frames, :]
        behind = padded[..., half - k:half - k + frames, :]
        out = out + k * (ahead - behind)
    return out / denom


def context_window(feats: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Stack ``left`` past and ``right`` future frames with each frame, zeros beyond the edges.

    SpeechBrain's ``ContextWindow``: feature ``j`` of the output at offset ``o`` (``-left .. right``) sits at index
    ``j * (left + right + 1) + left + o``.

    Args:
        feats (Tensor): ``(..., frames, n)``.

    Returns:
        Tensor: ``(..., frames, n * (left + right + 1))``.
    """
    frames = feats.shape[-2]
    padded = torch.nn.functional.pad(feats, (0, 0, left, right))  # (..., frames + left + right, n)
    shifted = [padded[..., i:i + frames, :] for i in range(left + right + 1)]
    return torch.stack(shifted, -1).flatten(-2)  # (..., frames, n, context) -> (..., frames, n * context)


def power_to_features(power: torch.Tensor, fb: torch.Tensor, log_offset: float,
                      dct_mat: torch.Tensor | None = None) -> torch.Tensor:
    """Mel filterbank, ``log(. + log_offset)`` and (optionally) DCT of a power spectrum.

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
