"""Input validation shared by every front-end (fixed, learnable, frozen, streaming, toolkit adapters).

Every check raises ``ValueError`` naming the bad value and the expected form. Checks that need the tensor's data
(finite samples, the values in ``lengths``) force a device sync and cannot be traced, so they run in eager mode
only and are skipped while ``torch.compile`` / ``torch.export`` trace the module.
"""
import torch


def is_tracing() -> bool:
    """Whether ``torch.compile`` or ``torch.export`` is tracing (data-dependent checks are skipped then)."""
    compiler = getattr(torch, "compiler", None)
    if compiler is None:
        return False
    if getattr(compiler, "is_exporting", lambda: False)():
        return True
    return bool(compiler.is_compiling())


def check_samples(waveform, sample_rate=None, *, expected_sample_rate: int, sample_format: str = "float") -> None:
    """Checks that hold for any piece of audio (a whole waveform or a streamed chunk): a real tensor ``(..., time)``
    of finite samples, floating point (or ``int16`` where ``sample_format="int16"``), at ``expected_sample_rate``
    when ``sample_rate`` is given."""
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
    # One reduction on the fast path, in the samples' own precision (a float64 sum would first copy them): a NaN or
    # inf sample makes the sum non-finite; a sum that merely overflows sends finite samples to the exact check
    # below, which lets them through. Half precisions are summed in float32, where audio cannot overflow.
    if waveform.is_floating_point() and not is_tracing() and not bool(torch.isfinite(
            waveform.sum(dtype=torch.float32 if waveform.element_size() < 4 else None))):
        finite = torch.isfinite(waveform)
        if not bool(finite.all()):
            bad = tuple((~finite).nonzero()[0].tolist())
            count = int((~finite).sum())
            raise ValueError(f"waveform has {count} non-finite sample(s) (NaN or inf), the first at index "
                             f"{bad}: {waveform[bad].item()}")


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
