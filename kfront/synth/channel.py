"""Per-speaker recording channels: band limits, room reverberation, additive noise, level.

Everything is numpy/scipy and driven by a ``numpy.random.Generator`` the caller seeds, so a channel applied to the
same input with the same seed gives the same samples. None of the steps moves the signal in time (zero-phase band
filter, room response whose direct path is at lag 0), so the synthesiser's phone boundaries stay valid.
"""

from dataclasses import asdict, dataclass

import numpy as np
from scipy import fft, signal

__all__ = ["Channel", "random_channel", "apply_channel", "resample_to"]

NOISE_COLORS = ("white", "pink", "brown")


@dataclass(frozen=True)
class Channel:
    """A recording channel.

    Attributes:
        snr_db (float): speech-to-noise power ratio in dB, at the microphone (before the band limits).
        noise_color (str): ``"white"``, ``"pink"`` (1/f power) or ``"brown"`` (1/f^2 power).
        highpass_hz (float): lower band edge in Hz.
        lowpass_hz (float): upper band edge in Hz (below the output's Nyquist frequency).
        rt60_s (float or None): reverberation time in seconds; ``None`` for a dry room.
        wet_db (float): level of the reverberant tail relative to the direct path, in dB.
        peak_dbfs (float): peak level of the output, in dB relative to int16 full scale.
        room_seed (int): seed of the room response, so that all of a speaker's utterances share one room.
    """

    snr_db: float
    noise_color: str
    highpass_hz: float
    lowpass_hz: float
    rt60_s: float | None
    wet_db: float
    peak_dbfs: float
    room_seed: int

    def as_dict(self) -> dict:
        return asdict(self)


def random_channel(rng: np.random.Generator) -> Channel:
    """Draw a channel: mostly clean close-talking microphones, some telephone-like, some reverberant rooms.

    Args:
        rng (numpy.random.Generator): the source of randomness.
    """
    telephone = rng.random() < 0.2
    return Channel(
        snr_db=round(float(rng.uniform(10.0, 40.0)), 1),
        noise_color=str(rng.choice(NOISE_COLORS)),
        highpass_hz=round(float(rng.uniform(250.0, 350.0) if telephone else rng.uniform(40.0, 120.0)), 1),
        lowpass_hz=round(float(rng.uniform(3200.0, 3600.0) if telephone else rng.uniform(5500.0, 7600.0)), 1),
        rt60_s=round(float(rng.uniform(0.15, 0.6)), 2) if rng.random() < 0.5 else None,
        wet_db=round(float(rng.uniform(-18.0, -6.0)), 1),
        peak_dbfs=round(float(rng.uniform(-12.0, -3.0)), 1),
        room_seed=int(rng.integers(2**31)),
    )


def resample_to(audio: np.ndarray, orig_freq: int, new_freq: int) -> np.ndarray:
    """Polyphase resampling; output length is ``ceil(len * new_freq / orig_freq)``.

    Args:
        audio (np.ndarray): samples, shape ``(time,)``.
        orig_freq (int): rate of ``audio`` in Hz.
        new_freq (int): rate wanted in Hz.
    """
    if orig_freq == new_freq:
        return audio.astype(np.float64)
    g = np.gcd(orig_freq, new_freq)
    return signal.resample_poly(audio.astype(np.float64), new_freq // g, orig_freq // g)


def _noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if color == "white":
        return white
    exponent = {"pink": 0.5, "brown": 1.0}[color]  # amplitude ~ f^-exponent
    n_fft = fft.next_fast_len(n, real=True)  # an utterance's length can have large prime factors: slow FFTs
    spec = fft.rfft(white, n_fft)
    freqs = np.arange(spec.shape[0], dtype=np.float64)
    freqs[0] = 1.0
    shaped = fft.irfft(spec / freqs ** exponent, n_fft)[:n]
    return shaped / (shaped.std() + 1e-12)


def _room_response(rt60_s: float, wet_db: float, sample_rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # -60 dB at rt60
    tail[: int(0.002 * sample_rate)] = 0.0  # first reflection after the direct path
    tail *= 10.0 ** (wet_db / 20.0) / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    tail[0] = 1.0  # the direct path, at lag 0: no delay, so boundaries do not move
    return tail


def apply_channel(audio: np.ndarray, sample_rate: int, channel: Channel, rng: np.random.Generator,
                  speech: slice = slice(None)) -> np.ndarray:
    """Pass speech through a channel and quantise it to int16.

    Args:
        audio (np.ndarray): float samples, shape ``(time,)``.
        sample_rate (int): rate of ``audio`` in Hz.
        channel (Channel): the channel.
        rng (numpy.random.Generator): source of the noise.
        speech (slice, optional): the part of ``audio`` that holds speech, over which the SNR is measured.
            (Default: all of it)

    Returns:
        np.ndarray: int16 samples, shape ``(time,)`` (same length as ``audio``).
    """
    if channel.lowpass_hz >= sample_rate / 2 or channel.highpass_hz >= channel.lowpass_hz:
        raise ValueError(f"band {channel.highpass_hz}-{channel.lowpass_hz} Hz does not fit rate {sample_rate}")
    if channel.noise_color not in NOISE_COLORS:
        raise ValueError(f"noise_color must be one of {NOISE_COLORS}, got {channel.noise_color!r}")
    x = audio.astype(np.float64)
    if channel.rt60_s is not None:
        h = _room_response(channel.rt60_s, channel.wet_db, sample_rate, channel.room_seed)
        x = signal.fftconvolve(x, h)[: x.shape[0]]
    # Noise enters at the microphone, so the band limits shape it as they shape the speech.
    power = float(np.mean(x[speech] ** 2)) if x[speech].size else 0.0
    noise = _noise(x.shape[0], channel.noise_color, rng)
    x = x + noise * np.sqrt(power / 10.0 ** (channel.snr_db / 10.0))
    sos = signal.butter(4, [channel.highpass_hz, channel.lowpass_hz], btype="bandpass", fs=sample_rate,
                        output="sos")
    x = signal.sosfiltfilt(sos, x)  # zero phase: no group delay to shift the boundaries
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0.0:
        x *= 32767.0 * 10.0 ** (channel.peak_dbfs / 20.0) / peak
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
