"""Argument and input validation shared by every front-end (fixed, learnable, frozen, streaming).

Every check raises ``ValueError`` naming the bad value. Checks that need the tensor's data (finite samples,
the values in ``lengths``) force a device sync and cannot be traced, so they run in eager mode only and are
skipped while ``torch.compile`` / ``torch.export`` trace the module.
"""
import math

import torch

WINDOWS = ("hamming", "hann", "blackman", "rectangular")


def _is_tracing() -> bool:
    compiler = getattr(torch, "compiler", None)
    if compiler is None:
        return False
    if getattr(compiler, "is_exporting", lambda: False)():
        return True
    return bool(compiler.is_compiling())


def check_frontend_args(sample_rate, n_fft: int, win_length: int, hop_length: int, n_mels: int, f_min: float,
                        f_max: float | None, n_mfcc: int | None = None) -> float:
    """Check the constructor arguments every front-end shares; return the resolved ``f_max``."""
    for name, value in (("sample_rate", sample_rate), ("n_fft", n_fft), ("win_length", win_length),
                        ("hop_length", hop_length), ("n_mels", n_mels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if n_fft < 2:
        raise ValueError(f"n_fft must be >= 2, got {n_fft}")
    if win_length > n_fft:
        raise ValueError(f"win_length must be <= n_fft = {n_fft}, got {win_length}")
    nyquist = float(sample_rate // 2)
    f_max = nyquist if f_max is None else float(f_max)
    f_min = float(f_min)
    if not (0.0 <= f_min < f_max):
        raise ValueError(f"need 0 <= f_min < f_max, got f_min={f_min}, f_max={f_max}")
    if f_max > nyquist:
        raise ValueError(f"f_max must be <= sample_rate // 2 = {nyquist}, got {f_max}")
    if n_mfcc is not None:
        if isinstance(n_mfcc, bool) or not isinstance(n_mfcc, int) or not 1 <= n_mfcc <= n_mels:
            raise ValueError(f"n_mfcc must be an int in [1, n_mels = {n_mels}], got {n_mfcc!r}")
    return f_max


def min_samples(n_fft: int, center: bool) -> int:
    """Fewest samples that give one frame: reflect padding by ``n_fft // 2`` needs more samples than that."""
    return n_fft // 2 + 1 if center else n_fft


def check_samples(waveform, sample_rate=None, *, expected_sample_rate: int) -> None:
    """Checks that hold for any piece of audio (a whole waveform or a streamed chunk): a real floating-point
    tensor ``(..., time)`` of finite samples, at ``expected_sample_rate`` when ``sample_rate`` is given."""
    if not isinstance(waveform, torch.Tensor):
        raise ValueError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if waveform.is_complex():
        raise ValueError(f"waveform must be real, got dtype {waveform.dtype}")
    if not waveform.is_floating_point():
        hint = " (integer PCM: divide by 32768.0 for int16, 2**31 for int32)" if waveform.dtype != torch.bool else ""
        raise ValueError(f"waveform must be a floating-point tensor, got dtype {waveform.dtype}{hint}")
    if waveform.dim() < 1:
        raise ValueError(f"waveform must have shape (..., time), got a 0-d tensor of shape {tuple(waveform.shape)}")
    if sample_rate is not None and sample_rate != expected_sample_rate:
        raise ValueError(f"sample_rate={sample_rate!r} does not match the {expected_sample_rate} Hz this front-end "
                         "was built for; resample the audio (e.g. torchaudio.functional.resample)")
    # One reduction on the fast path: a NaN or inf sample makes the float64 sum non-finite (only float64 samples
    # near 1e308 could overflow it, and the exact check below then finds nothing and lets them through).
    if not _is_tracing() and not bool(torch.isfinite(waveform.sum(dtype=torch.float64))):
        finite = torch.isfinite(waveform)
        if not bool(finite.all()):
            bad = tuple((~finite).nonzero()[0].tolist())
            count = int((~finite).sum())
            raise ValueError(f"waveform has {count} non-finite sample(s) (NaN or inf), the first at index "
                             f"{bad}: {waveform[bad].item()}")


def check_num_samples(n: int, n_fft: int, center: bool) -> None:
    """Raise when ``n`` samples give no frame (and, with ``center``, cannot be reflect-padded)."""
    need = min_samples(n_fft, center)
    if n < need:
        why = f"reflect padding by n_fft // 2 = {n_fft // 2} needs" if center else "one frame of n_fft needs"
        raise ValueError(f"waveform has {n} samples along its last dimension; {why} at least {need}")


def check_waveform(waveform, lengths=None, sample_rate=None, *, expected_sample_rate: int, n_fft: int,
                   center: bool) -> None:
    """Validate a front-end's ``forward(waveform, lengths, sample_rate)`` arguments.

    Args:
        waveform: a real floating-point tensor ``(..., time)`` of finite samples with at least
            :func:`min_samples` samples.
        lengths: ``None`` or an integer tensor ``(batch,)`` for a ``(batch, ..., time)`` waveform, each value
            in ``[1, time]``.
        sample_rate: ``None`` or the rate of ``waveform``, which must equal ``expected_sample_rate``.
    """
    check_samples(waveform, sample_rate, expected_sample_rate=expected_sample_rate)
    check_num_samples(waveform.shape[-1], n_fft, center)
    if lengths is not None:
        _check_lengths(lengths, waveform)


def _check_lengths(lengths, waveform: torch.Tensor) -> None:
    if not isinstance(lengths, torch.Tensor):
        raise ValueError(f"lengths must be an integer tensor of shape (batch,), got {type(lengths).__name__}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
    if waveform.dim() < 2:
        raise ValueError(f"lengths needs a batched waveform (batch, ..., time), got shape {tuple(waveform.shape)}")
    if lengths.dim() != 1 or lengths.shape[0] != waveform.shape[0]:
        raise ValueError(f"lengths must have shape (batch,) = ({waveform.shape[0]},) to fit waveform of shape "
                         f"{tuple(waveform.shape)}, got {tuple(lengths.shape)}")
    if not _is_tracing():
        n = waveform.shape[-1]
        bad = (lengths < 1) | (lengths > n)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(f"lengths[{i}] = {int(lengths[i])} is outside [1, {n}] (the waveform has {n} samples)")


def is_power_of_2(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def check_log_offset(log_offset: float) -> float:
    if not (isinstance(log_offset, (int, float)) and math.isfinite(log_offset) and log_offset > 0):
        raise ValueError(f"log_offset must be a positive finite number, got {log_offset!r}")
    return float(log_offset)
