"""Padding, framing and the per-frame steps before the window (DC removal, pre-emphasis, log energy)."""
import torch

FLT_EPSILON = 1.1920928955078125e-07  # floor of Kaldi's log energy: std::numeric_limits<float>::epsilon()


def center_pad(waveform: torch.Tensor, n_fft: int, mode: str = "reflect") -> torch.Tensor:
    """Pad ``n_fft // 2`` samples on both sides, as ``torch.stft(center=True, pad_mode=mode)`` does.

    Args:
        waveform (Tensor): ``(..., time)``; with ``mode="reflect"``, ``time > n_fft // 2``.
        n_fft (int): frame size.
        mode (str): ``"reflect"`` (mirror without repeating the edge) or ``"constant"`` (zeros).
            (Default: ``"reflect"``)

    Returns:
        Tensor: ``(..., time + 2 * (n_fft // 2))``.
    """
    pad = n_fft // 2
    shape = waveform.shape
    flat = waveform.reshape(-1, 1, shape[-1])  # padding wants (N, C, T)
    out = torch.nn.functional.pad(flat, (pad, pad), mode=mode)
    return out.reshape(*shape[:-1], out.shape[-1])


def kaldi_mirror_pad(waveform: torch.Tensor, win_length: int, hop_length: int,
                     lengths: torch.Tensor | None = None) -> torch.Tensor:
    """The signal Kaldi frames with ``snip_edges=false``, ``(time + hop // 2) // hop`` frames, frame ``t`` starting
    at ``t * hop``.

    Args:
        waveform (Tensor): ``(..., time)``, ``time >= 1``.
        win_length, hop_length (int): frame length and hop.
        lengths (Tensor, optional): ``(batch,)`` valid samples of each item of a padded batch, each mirrored at its
            own end. (Default: ``None``: every item is ``time`` long)

    Returns:
        Tensor: ``(..., (n_frames - 1) * hop + win_length)``.
    """
    # Frame t of the original signal starts at t * hop + hop // 2 - win_length // 2; samples outside [0, time) are
    # mirrored with the edge sample repeated (-1 -> 0, time -> time - 1), as Kaldi's ExtractWindow does.
    n = waveform.shape[-1]
    n_frames = (n + hop_length // 2) // hop_length
    start = hop_length // 2 - win_length // 2
    idx = torch.arange(start, start + (n_frames - 1) * hop_length + win_length, device=waveform.device)
    if lengths is None:
        return waveform[..., _mirror(idx, n)]
    ends = lengths.to(device=waveform.device, dtype=idx.dtype).reshape(-1, *([1] * (waveform.dim() - 1)))
    idx = _mirror(idx, ends)  # (batch, 1, ..., padded time)
    return waveform.gather(-1, idx.expand(*waveform.shape[:-1], idx.shape[-1]))


def _mirror(idx: torch.Tensor, n):
    """Kaldi's mirroring of sample indices into ``[0, n)`` (``n`` an int or a tensor that broadcasts)."""
    idx = torch.remainder(idx, 2 * n)  # mirroring twice is the identity: the index is periodic in 2 n
    return torch.where(idx >= n, 2 * n - 1 - idx, idx)


def frame(padded: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """Frames ``(..., n_frames, frame_length)`` of an already padded signal ``(..., time)``: a strided view."""
    return padded.unfold(-1, frame_length, hop_length)


def num_frames(n_samples, n_fft: int, hop_length: int, center: bool = True):
    """Frames ``torch.stft`` gives for ``n_samples`` samples (an int or an integer tensor, e.g. ``lengths``).

    ``1 + (n + 2 * (n_fft // 2) - n_fft) // hop_length`` with ``center=True`` (``1 + n // hop_length`` for an
    even ``n_fft``), ``1 + (n - n_fft) // hop_length`` without; never below 0.
    """
    padded = n_samples + 2 * (n_fft // 2) if center else n_samples
    return count_frames(padded, n_fft, hop_length)


def count_frames(n_samples, frame_length: int, hop_length: int):
    """Whole frames of ``frame_length`` at ``hop_length`` in ``n_samples`` samples (int or tensor), never < 0."""
    if isinstance(n_samples, torch.Tensor):
        return (torch.div(n_samples - frame_length, hop_length, rounding_mode="floor") + 1).clamp_min(0)
    return max(0, (n_samples - frame_length) // hop_length + 1)


def remove_dc_offset(frames: torch.Tensor) -> torch.Tensor:
    """Subtract each frame's mean: ``(..., frame_length) -> (..., frame_length)``."""
    return frames - frames.mean(-1, keepdim=True)


def preemphasis(frames: torch.Tensor, coefficient: float) -> torch.Tensor:
    """Kaldi's pre-emphasis within each frame: ``y[i] = x[i] - c x[i - 1]``, ``y[0] = x[0] - c x[0]``."""
    previous = torch.cat((frames[..., :1], frames[..., :-1]), -1)  # (..., frame_length)
    return frames - coefficient * previous


def preemphasized_frames(padded: torch.Tensor, frames: torch.Tensor, hop_length: int, coefficient: float,
                         mean: torch.Tensor | None = None) -> torch.Tensor:
    """``preemphasis(frames - mean, coefficient)``, computed from the pre-emphasised waveform.

    Args:
        padded (Tensor): ``(..., time)``, the signal ``frames`` were cut from.
        frames (Tensor): ``(..., N, frame_length)``, the first ``N`` frames of ``frame(padded, ...)``.
        hop_length (int): their hop.
        coefficient (float): the pre-emphasis coefficient ``c``.
        mean (Tensor, optional): ``(..., N, 1)`` each frame's mean, to subtract first. (Default: ``None``)

    Returns:
        Tensor: ``(..., N, frame_length)``, a new tensor.
    """
    # Within a frame, y[i] = x[i] - c x[i - 1] is the waveform's own pre-emphasis for i >= 1; only y[0] = (1 - c)
    # x[0] is the frame's, and a frame's mean m comes out as P (x - m) = P x - (1 - c) m. So one pass over the
    # waveform and one over the frames replace the five passes of remove_dc_offset then preemphasis.
    c = coefficient
    emphasised = torch.cat((padded[..., :1], padded[..., 1:] - c * padded[..., :-1]), -1)  # first sample unused
    n, length = frames.shape[-2:]
    out = frame(emphasised, length, hop_length)[..., :n, :]  # overlapping views: copied before any write
    out = out - (1 - c) * mean if mean is not None else out.clone()
    out[..., :1] = (1 - c) * (frames[..., :1] if mean is None else frames[..., :1] - mean)
    return out


def log_energy(frames: torch.Tensor, energy_floor: float = 0.0) -> torch.Tensor:
    """Kaldi's log energy of each frame: ``max(log(max(sum x^2, FLT_EPSILON)), log(energy_floor))``.

    Args:
        frames (Tensor): ``(..., frame_length)``.
        energy_floor (float): floor of the energy; 0 is none. (Default: ``0.0``)

    Returns:
        Tensor: ``(...)``.
    """
    energy = frames.square().sum(-1).clamp_min(FLT_EPSILON).log()
    if energy_floor > 0:
        energy = energy.clamp_min(float(torch.tensor(energy_floor, dtype=torch.float64).log()))
    return energy
