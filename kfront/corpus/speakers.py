"""Synthetic speakers: an espeak-ng voice and variant, pitch, rate and a recording channel each.

Speaker ids follow TIMIT's pattern: sex letter, three initials, a digit that tells apart speakers with the same
initials (``MABC0``, ``FXYZ1``). No two speakers share an id or a voice setting, so a speaker is in one split only.
"""

import string
from dataclasses import dataclass
from typing import List, Set

import numpy as np

from .channel import Channel, random_channel

__all__ = ["Speaker", "make_speakers", "VARIANTS", "VOICE_LANGUAGES", "DIALECT_REGIONS"]

#: espeak-ng voice variants: seven male, five female.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
#: espeak-ng voices (American and British English) and how often each is drawn.
VOICE_LANGUAGES = {"en-us": 0.75, "en": 0.25}
#: TIMIT's dialect-region folders.
DIALECT_REGIONS = tuple(f"DR{i}" for i in range(1, 9))


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker.

    Attributes:
        id (str): TIMIT-style id, e.g. ``"MABC0"``.
        dialect_region (str): ``"DR1"`` .. ``"DR8"``.
        voice (str): espeak-ng voice with variant, e.g. ``"en-us+m3"``.
        rate (int): speaking rate, words per minute.
        pitch (int): espeak-ng base pitch, 0 to 100.
        pitch_range (int): espeak-ng pitch range, 0 to 100.
        channel (Channel): the speaker's recording channel.
    """

    id: str
    dialect_region: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    channel: Channel

    @property
    def sex(self) -> str:
        """``"M"`` or ``"F"``, the first letter of the id."""
        return self.id[0]


def _new_id(sex: str, rng: np.random.Generator, taken: Set[str]) -> str:
    while True:
        initials = "".join(rng.choice(list(string.ascii_uppercase), size=3))
        for digit in range(10):
            candidate = f"{sex}{initials}{digit}"
            if candidate not in taken:
                return candidate


def make_speakers(n: int, rng: np.random.Generator, taken_ids: Set[str], taken_voices: Set[tuple]) -> List[Speaker]:
    """Draw ``n`` new speakers, spread evenly over DR1..DR8.

    Args:
        n (int): how many.
        rng (numpy.random.Generator): the source of randomness.
        taken_ids (set of str): ids already in use; the new ids are added to it.
        taken_voices (set of tuple): ``(voice, rate, pitch)`` settings already in use; the new ones are added.
    """
    if n < 0:
        raise ValueError(f"number of speakers must be >= 0, got {n}")
    languages = list(VOICE_LANGUAGES)
    probs = np.array(list(VOICE_LANGUAGES.values()))
    offset = int(rng.integers(8))
    regions = [DIALECT_REGIONS[(i + offset) % 8] for i in range(n)]
    speakers = []
    for i in range(n):
        while True:
            variant = str(rng.choice(VARIANTS))
            voice = f"{rng.choice(languages, p=probs / probs.sum())}+{variant}"
            rate = int(rng.integers(150, 196))
            pitch = int(rng.integers(30, 71))
            if (voice, rate, pitch) not in taken_voices:
                break
        taken_voices.add((voice, rate, pitch))
        speaker_id = _new_id("M" if variant.startswith("m") else "F", rng, taken_ids)
        taken_ids.add(speaker_id)
        speakers.append(Speaker(id=speaker_id, dialect_region=regions[i], voice=voice, rate=rate, pitch=pitch,
                                pitch_range=int(rng.integers(30, 81)), channel=random_channel(rng)))
    return speakers
