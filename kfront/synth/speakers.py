"""Synthetic speakers: an espeak-ng voice and variant, pitch, rate and a recording channel each.

Speaker ids follow TIMIT's pattern: sex letter, three initials, a digit that tells apart speakers with the same
initials (``MABC0``, ``FXYZ1``). No two speakers share an id or a voice setting, so a speaker is in one split only.
Where speakers are made from a few shared voices (``voices`` of :func:`make_speakers`), those speakers differ in
speaking rate and channel only.
"""

import string
from dataclasses import dataclass
from typing import AbstractSet, FrozenSet, List, Sequence, Set, Tuple

import numpy as np

from .channel import Channel, random_channel
from .rooms import Room

__all__ = ["Speaker", "Voice", "VoiceSpace", "STANDARD_VOICES", "make_speakers", "draw_setting", "draw_voices",
           "VARIANTS", "VOICE_LANGUAGES", "DIALECT_REGIONS"]

#: espeak-ng voice variants of the standard condition: seven male, five female.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
#: espeak-ng voices (American and British English) and how often each is drawn.
VOICE_LANGUAGES = {"en-us": 0.75, "en": 0.25}
#: TIMIT's dialect-region folders.
DIALECT_REGIONS = tuple(f"DR{i}" for i in range(1, 9))


@dataclass(frozen=True)
class VoiceSpace:
    """What a speaker's voice is drawn from.

    Attributes:
        variants (tuple of str): espeak-ng voice variants (the names after ``+``), drawn uniformly.
        female (frozenset of str): those of ``variants`` that are female voices (the rest are male).
        rate (tuple of int): speaking rate range in words per minute, both ends included.
        pitch (tuple of int): base pitch range (espeak-ng's 0..100), both ends included.
        pitch_range (tuple of int): pitch range range (0 monotone .. 100), both ends included.
    """

    variants: Tuple[str, ...]
    female: FrozenSet[str]
    rate: Tuple[int, int]
    pitch: Tuple[int, int]
    pitch_range: Tuple[int, int]

    def sex(self, variant: str) -> str:
        """``"F"`` or ``"M"``."""
        return "F" if variant in self.female else "M"


#: The standard condition's voices.
STANDARD_VOICES = VoiceSpace(VARIANTS, frozenset(v for v in VARIANTS if v.startswith("f")), (150, 195), (30, 70),
                             (30, 80))


@dataclass(frozen=True)
class Voice:
    """A voice several speakers can share: espeak-ng voice with variant, base pitch and pitch range.

    Attributes:
        voice (str): e.g. ``"en-us+m3"``.
        pitch (int): espeak-ng base pitch, 0 to 100.
        pitch_range (int): espeak-ng pitch range, 0 to 100.
    """

    voice: str
    pitch: int
    pitch_range: int


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
        room (Room or None): the simulated room the speaker talks in (hard condition), or ``None``.
            (Default: ``None``)
        telephone (bool): the recording went through a telephone line (hard condition). (Default: ``False``)
    """

    id: str
    dialect_region: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    channel: Channel
    room: Room | None = None
    telephone: bool = False

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


def _variant(voice: str) -> str:
    return voice.split("+", 1)[1]


def draw_setting(rng: np.random.Generator, space: VoiceSpace) -> Tuple[str, int, int]:
    """Draw one voice setting ``(voice, rate, pitch)``, e.g. ``("en-us+m3", 171, 52)``.

    Args:
        rng (numpy.random.Generator): the source of randomness.
        space (VoiceSpace): what to draw from.
    """
    languages = list(VOICE_LANGUAGES)
    probs = np.array(list(VOICE_LANGUAGES.values()))
    variant = str(rng.choice(space.variants))
    voice = f"{rng.choice(languages, p=probs / probs.sum())}+{variant}"
    rate = int(rng.integers(space.rate[0], space.rate[1] + 1))
    pitch = int(rng.integers(space.pitch[0], space.pitch[1] + 1))
    return voice, rate, pitch


def draw_voices(n: int, rng: np.random.Generator, space: VoiceSpace) -> List[Voice]:
    """Draw ``n`` voices with distinct espeak-ng voice names, for speakers to share.

    Args:
        n (int): how many, at most the number of voice names (variants times languages).
        rng (numpy.random.Generator): the source of randomness.
        space (VoiceSpace): what to draw from.
    """
    available = len(space.variants) * len(VOICE_LANGUAGES)
    if not 1 <= n <= available:
        raise ValueError(f"number of voices must be in [1, {available}] (variants x languages), got {n}")
    voices: List[Voice] = []
    while len(voices) < n:
        voice, _, pitch = draw_setting(rng, space)
        pitch_range = int(rng.integers(space.pitch_range[0], space.pitch_range[1] + 1))
        if voice not in {v.voice for v in voices}:
            voices.append(Voice(voice, pitch, pitch_range))
    return voices


def make_speakers(n: int, rng: np.random.Generator, taken_ids: Set[str], taken_voices: Set[tuple],
                  space: VoiceSpace = STANDARD_VOICES, voices: Sequence[Voice] | None = None,
                  avoid: AbstractSet[str] = frozenset()) -> List[Speaker]:
    """Draw ``n`` new speakers, spread evenly over DR1..DR8.

    Args:
        n (int): how many.
        rng (numpy.random.Generator): the source of randomness.
        taken_ids (set of str): ids already in use; the new ids are added to it.
        taken_voices (set of tuple): ``(voice, rate, pitch)`` settings already in use; the new ones are added.
        space (VoiceSpace, optional): what voices are drawn from. (Default: :data:`STANDARD_VOICES`)
        voices (sequence of Voice or None, optional): voices the speakers share, taken in turn; only the speaking
            rate (drawn from ``space``) and the channel are the speaker's own. (Default: ``None``, every speaker's
            voice drawn from ``space``)
        avoid (set of str, optional): espeak-ng voice names not to draw, e.g. ``{"en-us+m3"}``.
            (Default: none)
    """
    if n < 0:
        raise ValueError(f"number of speakers must be >= 0, got {n}")
    if voices is not None:
        rates = space.rate[1] - space.rate[0] + 1
        if not voices or -(-n // len(voices)) > rates:
            raise ValueError(f"{n} speakers cannot share {len(voices)} voices: each voice can serve at most "
                             f"{rates} speakers (one per speaking rate in {space.rate})")
        if {v.voice for v in voices} & set(avoid):
            raise ValueError(f"shared voices {sorted({v.voice for v in voices} & set(avoid))} are also to be avoided")
    elif n and not {f"{lang}+{v}" for lang in VOICE_LANGUAGES for v in space.variants} - set(avoid):
        raise ValueError(f"avoid leaves no voice to draw: {sorted(avoid)}")
    offset = int(rng.integers(8))
    regions = [DIALECT_REGIONS[(i + offset) % 8] for i in range(n)]
    speakers = []
    for i in range(n):
        while True:
            if voices is None:
                voice, rate, pitch = draw_setting(rng, space)
            else:
                shared = voices[i % len(voices)]
                voice, pitch = shared.voice, shared.pitch
                rate = int(rng.integers(space.rate[0], space.rate[1] + 1))
            if (voice, rate, pitch) not in taken_voices and voice not in avoid:
                break
        taken_voices.add((voice, rate, pitch))
        speaker_id = _new_id(space.sex(_variant(voice)), rng, taken_ids)
        taken_ids.add(speaker_id)
        pitch_range = int(rng.integers(space.pitch_range[0], space.pitch_range[1] + 1)) if voices is None \
            else voices[i % len(voices)].pitch_range
        speakers.append(Speaker(id=speaker_id, dialect_region=regions[i], voice=voice, rate=rate, pitch=pitch,
                                pitch_range=pitch_range, channel=random_channel(rng)))
    return speakers
