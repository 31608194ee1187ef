"""Input validation shared by every front-end (fixed, learnable, frozen, streaming, toolkit adapters).

Every check raises ``ValueError`` naming the bad value and the expected form. Checks that need the tensor's data
(finite samples, the values in ``lengths``) force a device sync and cannot be traced, so they run in eager mode
only and are skipped while ``torch.compile`` / ``torch.export`` trace the module.
"""
import math

import torch

from .._warn import warn_user


def is_tracing() -> bool:
    """Whether ``torch.compile`` or ``torch.export`` is tracing (data-dependent checks are skipped then)."""
    compiler = getattr(torch, "compiler", None)
    if compiler is None:
        return False
    if getattr(compiler, "is_exporting", lambda: False)():
        return True
    return bool(compiler.is_compiling())


def check_samples(waveform, sample_rate=None, *, expected_sample_rate: int, sample_format: str = "float",
                  max_peak: float | None = None, compute_dtype: torch.dtype = torch.float32) -> None:
    """Checks that hold for any piece of audio (a whole waveform or a streamed chunk): a real tensor ``(..., time)``
    of finite samples, floating point (or ``int16`` where ``sample_format="int16"``), at ``expected_sample_rate``
    when ``sample_rate`` is given, and no louder than ``max_peak`` (:func:`peak_limit` of the front-end's
    ``compute_dtype``)."""
    if not isinstance(waveform, torch.Tensor):
        raise ValueError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if waveform.is_complex():
        raise ValueError(f"waveform must be real, got dtype {waveform.dtype}")
    if sample_format == "int16":
        if not (waveform.is_floating_point() or waveform.dtype == torch.int16):
            raise ValueError(f"waveform must be int16 PCM or floating point holding int16-range samples, got dtype "
                             f"{waveform.dtype}")
    elif not waveform.is_floating_point():
        hint = (" (integer PCM: divide by 32768.0 for int16, 2**31 for int32, to get float samples in [-1, 1]; the "
                "Kaldi conventions read int16 as it is)") if waveform.dtype != torch.bool else ""
        raise ValueError(f"waveform must be a floating-point tensor, got dtype {waveform.dtype}{hint}")
    if waveform.dim() < 1:
        raise ValueError(f"waveform must have shape (..., time), got a 0-d tensor of shape {tuple(waveform.shape)}")
    if sample_rate is not None and sample_rate != expected_sample_rate:
        raise ValueError(f"sample_rate={sample_rate!r} does not match the {expected_sample_rate} Hz this front-end "
                         "was built for; resample the audio (e.g. torchaudio.functional.resample)")
    # One reduction on the fast path, in the samples' own precision: a NaN or inf sample makes the extremes
    # non-finite (and only then are the samples searched for it), and their magnitude is the peak ``max_peak`` bounds.
    if waveform.is_floating_point() and waveform.numel() and not is_tracing():
        low, high = torch.aminmax(waveform.detach())
        peak = max(-float(low), float(high))
        if not math.isfinite(peak):
            finite = torch.isfinite(waveform)
            bad = tuple((~finite).nonzero()[0].tolist())
            count = int((~finite).sum())
            raise ValueError(f"waveform has {count} non-finite sample(s) (NaN or inf), the first at index "
                             f"{bad}: {waveform[bad].item()}")
        if max_peak is not None and peak > max_peak:
            raise ValueError(f"waveform peaks at {peak:.3g}: its power spectrum would overflow the front-end's "
                             f"{compute_dtype} above a peak of {max_peak:.3g}, giving inf / NaN features; audio is in "
                             "[-1, 1] (float) or +-32768 (int16 PCM): scale it down")


INT16_SCALE = 32768.0  #: int16 PCM's full scale: ``torchaudio.load`` divides by it, WeNet multiplies it back
# Float audio in [-1, 1] never peaks above this, even after gain augmentation, and neither does unit-variance
# noise (torch.randn peaks near 5.5 in 10 million samples); int16-range audio peaks above it unless it is near silence.
FLOAT_PEAK_LIMIT = 8.0


def scale_mismatch(waveform: torch.Tensor, sample_format: str, divided: bool = False) -> str | None:
    """Why float samples meant to be on ``sample_format``'s scale plainly are not, or ``None``.

    ``"float"`` (audio in [-1, 1]): a peak above :data:`FLOAT_PEAK_LIMIT` is int16-range audio; with ``divided``
    (the caller scaled the samples down), a non-zero peak below one int16 step (1/32768) is [-1, 1] audio divided
    once too often. ``"int16"``: a peak above ``FLOAT_PEAK_LIMIT * 32768`` is int16-range audio multiplied again;
    a peak of at most 1 with some non-integer sample is [-1, 1] audio (int16-range speech, even quiet, peaks far
    above 1; digital silence is integer-valued). Skipped for integer tensors and while tracing (it reads the data).
    """
    if not waveform.is_floating_point() or waveform.numel() == 0 or is_tracing():
        return None
    peak = float(waveform.detach().abs().amax())  # NaN passes here; the front-end names non-finite samples
    if sample_format == "float":
        if peak > FLOAT_PEAK_LIMIT:
            return f"waveform peaks at {peak:.6g}: this looks like int16-range audio, not audio in [-1, 1]"
        if divided and 0.0 < peak < 1.0 / INT16_SCALE:
            return (f"waveform peaks at {peak:.3g} after input_scale, below one int16 step (1/32768): this looks "
                    "like audio in [-1, 1] divided by 32768")
    elif peak > FLOAT_PEAK_LIMIT * INT16_SCALE:
        return (f"waveform peaks at {peak:.6g}, beyond int16 range even with gain: this looks like int16-range "
                "audio multiplied by 32768")
    elif 0.0 < peak <= 1.0 and not torch.equal(waveform, waveform.round()):
        return f"waveform peaks at {peak:.6g} and is not integer-valued: it looks like float audio in [-1, 1]"
    return None


def check_num_samples(n: int, need: int, why: str) -> None:
    """Raise when ``n`` samples are fewer than the ``need`` that one frame takes (``why`` says what needs them)."""
    if n < need:
        raise ValueError(f"waveform has {n} samples along its last dimension; {why} needs at least {need}")


def check_lengths(lengths, waveform: torch.Tensor) -> None:
    """``lengths``: an integer tensor ``(batch,)`` for a ``(batch, ..., time)`` waveform, each value in
    ``[1, time]`` (absolute sample counts; SpeechBrain's relative lengths go through its adapter)."""
    if waveform.dim() < 2:
        raise ValueError(f"lengths needs a batched waveform (batch, ..., time), got shape {tuple(waveform.shape)}")
    check_sample_counts(lengths, waveform.shape[0], waveform.shape[-1])


def check_sample_counts(lengths, batch: int, time: int, name: str = "lengths") -> None:
    """``lengths`` (called ``name`` in the message): absolute sample counts of a padded batch, an integer tensor
    ``(batch,)`` with every value in ``[1, time]``; relative lengths (SpeechBrain's form) are refused by name."""
    if not isinstance(lengths, torch.Tensor):
        raise ValueError(f"{name} must be an integer tensor of shape (batch,), got {type(lengths).__name__}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        values = lengths.flatten()[:8].tolist()
        raise ValueError(f"{name} must be absolute sample counts (an integer tensor), got dtype {lengths.dtype} values "
                         f"{values}{' ...' if lengths.numel() > 8 else ''}; relative lengths in (0, 1] (SpeechBrain's "
                         f"wav_lens) go through kfront.integrations.speechbrain, or multiply them by the padded time "
                         f"({time}) and round")
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise ValueError(f"{name} must have shape (batch,) = ({batch},), got {tuple(lengths.shape)}")
    if not is_tracing():
        bad = (lengths < 1) | (lengths > time)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(f"{name}[{i}] = {int(lengths[i])} is outside [1, {time}] (the padded batch has {time} "
                             "samples)")


def check_filterbank(fb: torch.Tensor, config) -> None:
    """Warn (as torchaudio does) when some of the ``(n_freqs, n_mels)`` mel filters ``fb`` are all zero: they sit
    between two frequency bins, and their log-mel feature is the log floor whatever the audio. The warning names
    how many and what to change."""
    empty = int((fb.amax(0) == 0).sum())
    if empty:
        warn_user(f"{empty} of the n_mels={config.n_mels} mel filters are all zero: too many filters for the "
                  f"{config.n_freqs} frequency bins of n_fft={config.n_fft} between f_min={config.f_min:g} and "
                  f"f_max={config.f_max:g} Hz; lower n_mels, raise n_fft or widen [f_min, f_max]")


def peak_limit(dtype: torch.dtype, frame_length: int, n_freqs: int) -> float:
    """The largest sample magnitude whose features cannot overflow ``dtype``.

    A frame sample after DC removal and pre-emphasis is at most 4 peak, a bin at most ``frame_length`` times
    that, and a mel energy at most ``n_freqs`` such powers: ``16 n_freqs (frame_length peak)^2`` must stay finite.
    About 5.6e14 for float32 at ``n_fft = 512``: no audio comes near it, int32 PCM read as numbers included.
    """
    return math.sqrt(torch.finfo(dtype).max / (16.0 * n_freqs)) / frame_length
