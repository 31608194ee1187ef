"""Babble: other synthetic talkers speaking at the same time as the utterance's speaker.

Each babble talker is an espeak-ng voice reading sentences of its own; its speech is looped from a random point
to the utterance's length, brought to unit power, and the talkers are summed. :func:`mix_at_snr` then sets the
babble's level against the speech.
"""

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from . import _espeak
from .channel import resample_to

__all__ = ["BabbleTalker", "synthesize_babble", "mix_at_snr"]

_GAP_SECONDS = 0.15  # between a talker's sentences


@dataclass(frozen=True)
class BabbleTalker:
    """One voice in the babble.

    Attributes:
        voice (str): espeak-ng voice with variant, e.g. ``"en+klatt3"``.
        rate (int): speaking rate, words per minute.
        pitch (int): base pitch, 0 to 100.
        pitch_range (int): pitch range, 0 to 100.
        texts (tuple of str): what it says, in order, looped as long as the utterance lasts.
    """

    voice: str
    rate: int
    pitch: int
    pitch_range: int
    texts: Tuple[str, ...]


def synthesize_babble(talkers: Sequence[BabbleTalker], n_samples: int, sample_rate: int, rng: np.random.Generator,
                      engine: _espeak.Espeak | None = None) -> np.ndarray:
    """Synthesise the talkers and sum them, each looped to ``n_samples`` from a random start, each at unit power.

    Args:
        talkers (sequence of BabbleTalker): the voices; at least one.
        n_samples (int): length wanted.
        sample_rate (int): output rate in Hz.
        rng (numpy.random.Generator): start points and the synthesiser's noise seeds.
        engine (Espeak or None, optional): the synthesiser. (Default: this process's)

    Returns:
        np.ndarray: float64, shape ``(n_samples,)``.
    """
    if not talkers:
        raise ValueError("babble needs at least one talker, got none")
    engine = _espeak.get_engine() if engine is None else engine
    out = np.zeros(n_samples)
    for talker in talkers:
        parts = []
        for text in talker.texts:
            syn = engine.synthesize(text, talker.voice, rate=talker.rate, pitch=talker.pitch,
                                    pitch_range=talker.pitch_range, seed=int(rng.integers(2**31)))
            parts += [syn.audio.astype(np.float64), np.zeros(int(_GAP_SECONDS * syn.sample_rate))]
        stream = resample_to(np.concatenate(parts), syn.sample_rate, sample_rate)
        stream /= np.sqrt(np.mean(stream ** 2)) + 1e-12
        start = int(rng.integers(stream.shape[0]))
        out += np.resize(np.roll(stream, -start), n_samples)  # np.resize repeats the loop as often as needed
    return out


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, speech_part: slice = slice(None)) -> np.ndarray:
    """``speech + g * noise`` with ``g`` such that speech power over ``speech_part`` / noise power = ``snr_db``.

    Args:
        speech (np.ndarray): shape ``(time,)``.
        noise (np.ndarray): shape ``(time,)``; its power is measured over all of it.
        snr_db (float): speech-to-noise power ratio in dB.
        speech_part (slice, optional): where the speech is, for its power. (Default: all of it)
    """
    if speech.shape != noise.shape:
        raise ValueError(f"speech and noise must have the same shape, got {speech.shape} and {noise.shape}")
    speech_power = float(np.mean(speech[speech_part] ** 2)) if speech[speech_part].size else 0.0
    noise_power = float(np.mean(noise ** 2)) + 1e-24
    return speech + noise * np.sqrt(speech_power / noise_power / 10.0 ** (snr_db / 10.0))
