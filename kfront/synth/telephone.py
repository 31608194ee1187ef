"""A telephone line for the hard condition: the 300-3400 Hz band, 8 kHz sampling and G.711 mu-law companding.

The companding is libsndfile's own G.711 mu-law codec (through soundfile, writing and reading a ``ULAW`` WAV in
memory), not a re-implementation. Every filter is zero-phase (``sosfiltfilt``, ``resample_poly``), so the line
does not move the signal in time.
"""

import io

import numpy as np
from scipy import signal

__all__ = ["TELEPHONE_RATE", "TELEPHONE_BAND_HZ", "mulaw_round_trip", "telephone_line"]

#: Sample rate of the line in Hz.
TELEPHONE_RATE = 8000
#: Pass band of the line in Hz.
TELEPHONE_BAND_HZ = (300.0, 3400.0)


def mulaw_round_trip(samples: np.ndarray, sample_rate: int = TELEPHONE_RATE) -> np.ndarray:
    """Encode int16 samples with G.711 mu-law and decode them again (libsndfile's codec).

    Args:
        samples (np.ndarray): int16 samples, shape ``(time,)``.
        sample_rate (int, optional): written in the in-memory file's header only. (Default: ``8000``)

    Returns:
        np.ndarray: int16, shape ``(time,)``: the 8-bit code's reconstruction of every sample.
    """
    import soundfile as sf

    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"samples must be 1-D int16, got {samples.dtype} with shape {samples.shape}")
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, subtype="ULAW", format="WAV")
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="int16")
    return decoded


def telephone_line(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Pass int16 audio through a telephone line and back to its own rate.

    Band-limits to :data:`TELEPHONE_BAND_HZ`, resamples to 8 kHz, mu-law encodes and decodes, and resamples back.

    Args:
        samples (np.ndarray): int16 samples, shape ``(time,)``.
        sample_rate (int): rate of ``samples`` in Hz, above 8 kHz.

    Returns:
        np.ndarray: int16, shape ``(time,)`` (same length).
    """
    if sample_rate <= TELEPHONE_RATE:
        raise ValueError(f"sample_rate must be above the line's {TELEPHONE_RATE} Hz, got {sample_rate}")
    n = samples.shape[0]
    sos = signal.butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=sample_rate, output="sos")
    band = signal.sosfiltfilt(sos, samples.astype(np.float64))
    g = np.gcd(sample_rate, TELEPHONE_RATE)
    up, down = TELEPHONE_RATE // g, sample_rate // g
    line = signal.resample_poly(band, up, down)  # (ceil(n * up / down),)
    line = np.clip(np.round(line), -32768, 32767).astype(np.int16)
    back = signal.resample_poly(mulaw_round_trip(line).astype(np.float64), down, up)[:n]
    if back.shape[0] < n:  # ceil rounding at both steps can leave the result a sample short
        back = np.concatenate([back, np.zeros(n - back.shape[0])])
    return np.clip(np.round(back), -32768, 32767).astype(np.int16)
