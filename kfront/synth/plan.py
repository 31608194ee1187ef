"""What the corpus holds: its size settings, its speakers, and who reads which sentence under which id.

The plan is a pure function of :class:`CorpusConfig` (seed included), made before any audio is synthesised.
Like TIMIT: every speaker reads the two ``SA`` sentences; each ``SX`` sentence is read by several speakers of the
same split; each ``SI`` sentence by one speaker only; no ``SX`` or ``SI`` sentence is read in both TRAIN and TEST.
TEST holds the dev speakers and the core-test speakers, named in ``dev_speakers.txt`` and
``core_test_speakers.txt`` so that the standard TIMIT data preparation finds them.

Two settings change what the corpus sounds like, not its layout: ``condition="hard"`` (far-field rooms, babble,
telephone lines, speed changes and many more voices, see :mod:`kfront.synth.hard`) and ``train_voices=N``
(TRAIN's speakers share N voices that no TEST speaker has, the over-fitting regime of a small real corpus). Left at
their defaults, they change nothing: the plan, and every file, is the one this module made before they existed.
"""

import dataclasses
import math
import random
import zlib
from dataclasses import asdict, dataclass
from typing import Dict, List, Tuple

import numpy as np

from .hard import (BABBLE_SENTENCES, BABBLE_VOICES, CONDITIONS, HARD_VOICES, Perturbation, babble_voices,
                   draw_perturbation, harden_speakers)
from .speakers import STANDARD_VOICES, VOICE_LANGUAGES, Speaker, draw_voices, make_speakers
from .text import dialect_sentences, load_grammar

__all__ = ["SAMPLE_RATE", "CorpusConfig", "PlannedUtterance", "CorpusPlan", "plan_corpus"]

_FIRST_SX_NUMBER = 3  # TIMIT numbers SA1-2, then SX from 3 on, then SI
_FIRST_SI_NUMBER = 453
#: Output sample rate (TIMIT's); the hard condition's rooms are laid out on its sample grid.
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class CorpusConfig:
    """Size and seed of a built-in corpus.

    Args:
        train_speakers (int, optional): speakers in TRAIN. (Default: ``40``)
        dev_speakers (int, optional): speakers in TEST listed in ``dev_speakers.txt``. (Default: ``10``)
        core_test_speakers (int, optional): speakers in TEST listed in ``core_test_speakers.txt``. (Default: ``8``)
        sx_per_speaker (int, optional): ``SX`` utterances per speaker. (Default: ``5``, as in TIMIT)
        si_per_speaker (int, optional): ``SI`` utterances per speaker. (Default: ``3``, as in TIMIT)
        sx_readers (int, optional): speakers reading each ``SX`` sentence. (Default: ``7``, as in TIMIT)
        seed (int, optional): seed of everything random: speakers, sentences, noise. (Default: ``0``)
        sphere (bool, optional): write ``.WAV`` files as NIST SPHERE, like the LDC original, instead of RIFF.
            (Default: ``False``)
        condition (str, optional): ``"standard"`` or ``"hard"`` (see :mod:`kfront.synth.hard`).
            (Default: ``"standard"``)
        train_voices (int or None, optional): TRAIN's speakers share this many voices (espeak-ng voice, pitch and
            pitch range; each speaker keeps its own rate and channel), and no TEST speaker uses their voice names.
            (Default: ``None``, every speaker's voice drawn on its own)
    """

    train_speakers: int = 40
    dev_speakers: int = 10
    core_test_speakers: int = 8
    sx_per_speaker: int = 5
    si_per_speaker: int = 3
    sx_readers: int = 7
    seed: int = 0
    sphere: bool = False
    condition: str = CONDITIONS[0]
    train_voices: int | None = None

    def __post_init__(self):
        for name in ("train_speakers", "dev_speakers", "core_test_speakers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("sx_per_speaker", "si_per_speaker"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sx_per_speaker + self.si_per_speaker < 1:
            raise ValueError("sx_per_speaker + si_per_speaker must be >= 1: the recipe drops SA, so every "
                             f"speaker needs other utterances; got {self.sx_per_speaker} + {self.si_per_speaker}")
        if self.sx_readers < 1:
            raise ValueError(f"sx_readers must be >= 1, got {self.sx_readers}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        if self.train_voices is not None:
            names = len(self.voice_space.variants) * len(VOICE_LANGUAGES)
            if not 1 <= self.train_voices <= min(self.train_speakers, names - 1):
                raise ValueError(f"train_voices must be in [1, {min(self.train_speakers, names - 1)}] (at most the "
                                 f"TRAIN speakers, and leaving TEST voices of its own), got {self.train_voices}")

    @property
    def voice_space(self):
        """The :class:`~kfront.synth.speakers.VoiceSpace` of the condition."""
        return HARD_VOICES if self.condition == "hard" else STANDARD_VOICES

    @classmethod
    def tiny(cls, seed: int = 0, sphere: bool = False) -> "CorpusConfig":
        """A corpus for tests: four speakers, four utterances each, generated in about a second."""
        return cls(train_speakers=2, dev_speakers=1, core_test_speakers=1, sx_per_speaker=1, si_per_speaker=1,
                   sx_readers=2, seed=seed, sphere=sphere)

    def as_dict(self) -> dict:
        return asdict(self)

    def settings(self) -> dict:
        """:meth:`as_dict` without the settings added since the first format that are at their defaults, so that
        a standard corpus's stamp file reads as it always has."""
        out = self.as_dict()
        for name in ("condition", "train_voices"):
            if out[name] == getattr(CorpusConfig, name):
                del out[name]
        return out


@dataclass(frozen=True)
class PlannedUtterance:
    """One utterance to synthesise.

    Attributes:
        split (str): ``"TRAIN"`` or ``"TEST"``.
        speaker (Speaker): who reads it.
        utterance_id (str): ``"SA1"``, ``"SX12"``, ``"SI503"``, ...
        text (str): the sentence.
        seed (int): 32-bit seed of everything random in this utterance (breath noise, padding, channel noise).
        perturbation (Perturbation or None): its speed and babble in the hard condition, else ``None``.
    """

    split: str
    speaker: Speaker
    utterance_id: str
    text: str
    seed: int
    perturbation: Perturbation | None = None

    @property
    def stem(self) -> str:
        """Path of its files without extension, relative to the corpus root: ``TRAIN/DR1/MABC0/SX12``."""
        return f"{self.split}/{self.speaker.dialect_region}/{self.speaker.id}/{self.utterance_id}"


@dataclass(frozen=True)
class CorpusPlan:
    """Everything the corpus will hold.

    Attributes:
        utterances (list of PlannedUtterance): in a fixed order (split, speaker, id).
        speakers (dict): split -> list of :class:`Speaker`.
        dev_speakers (list of str): lower-case ids for ``dev_speakers.txt``.
        core_test_speakers (list of str): lower-case ids for ``core_test_speakers.txt``.
    """

    utterances: List[PlannedUtterance]
    speakers: Dict[str, List[Speaker]]
    dev_speakers: List[str]
    core_test_speakers: List[str]


def _utterance_seed(seed: int, stem: str) -> int:
    return zlib.crc32(f"{seed}:{stem}".encode()) & 0x7FFFFFFF


def _assign_sx(speakers: List[Speaker], sentences: List[str], per_speaker: int) -> List[List[int]]:
    # Round robin over the pool: a speaker never gets the same sentence twice while the pool is at least
    # per_speaker long, and every sentence is read by about the same number of speakers.
    return [[(k * per_speaker + j) % len(sentences) for j in range(per_speaker)] for k in range(len(speakers))]


def plan_corpus(config: CorpusConfig) -> CorpusPlan:
    """Draw speakers and sentences for ``config``; the same config always gives the same plan.

    Args:
        config (CorpusConfig): sizes and seed.
    """
    rng = np.random.default_rng(config.seed)
    text_rng = random.Random(config.seed)
    grammar = load_grammar()
    taken_ids, taken_voices = set(), set()
    space = config.voice_space
    shared = draw_voices(config.train_voices, rng, space) if config.train_voices else None
    avoid = frozenset(v.voice for v in shared) if shared else frozenset()
    train = make_speakers(config.train_speakers, rng, taken_ids, taken_voices, space, voices=shared)
    dev = make_speakers(config.dev_speakers, rng, taken_ids, taken_voices, space, avoid=avoid)
    core = make_speakers(config.core_test_speakers, rng, taken_ids, taken_voices, space, avoid=avoid)
    hard_rng = np.random.default_rng([config.seed, 1])  # its own stream: the standard draws stay as they were
    if config.condition == "hard":
        train, dev, core = (harden_speakers(spk, hard_rng, SAMPLE_RATE) for spk in (train, dev, core))
    splits = {"TRAIN": train, "TEST": dev + core}

    used = set(dialect_sentences())
    sx_pools: Dict[str, List[Tuple[int, str]]] = {}
    number = _FIRST_SX_NUMBER
    for split, speakers in splits.items():
        size = 0
        if config.sx_per_speaker:
            size = max(config.sx_per_speaker, math.ceil(len(speakers) * config.sx_per_speaker / config.sx_readers))
        sentences = grammar.sentences(size, text_rng, exclude=used)
        used.update(sentences)
        sx_pools[split] = [(number + i, s) for i, s in enumerate(sentences)]
        number += size
    si_number = max(_FIRST_SI_NUMBER, number)

    utterances: List[PlannedUtterance] = []
    for split, speakers in splits.items():
        pool = sx_pools[split]
        assignment = _assign_sx(speakers, pool, config.sx_per_speaker) if pool else [[] for _ in speakers]
        for speaker, sx_indices in zip(speakers, assignment):
            items = [(f"SA{i + 1}", s) for i, s in enumerate(dialect_sentences())]
            items += [(f"SX{pool[i][0]}", pool[i][1]) for i in sx_indices]
            for s in grammar.sentences(config.si_per_speaker, text_rng, exclude=used):
                used.add(s)
                items.append((f"SI{si_number}", s))
                si_number += 1
            for utterance_id, text in items:
                stem = f"{split}/{speaker.dialect_region}/{speaker.id}/{utterance_id}"
                utterances.append(PlannedUtterance(split, speaker, utterance_id, text,
                                                   _utterance_seed(config.seed, stem)))
    if config.condition == "hard":
        utterances = _perturb(utterances, hard_rng, taken_voices, grammar.sentences(
            BABBLE_SENTENCES, random.Random(f"babble:{config.seed}"), exclude=used))
    return CorpusPlan(utterances, splits, [s.id.lower() for s in dev], [s.id.lower() for s in core])


def _perturb(utterances: List[PlannedUtterance], rng: np.random.Generator, taken_voices: set,
             sentences: List[str]) -> List[PlannedUtterance]:
    # Babble voices are no speaker's, and babble sentences no utterance's.
    voices = babble_voices(BABBLE_VOICES, rng, taken_voices)
    return [dataclasses.replace(u, perturbation=draw_perturbation(np.random.default_rng([u.seed, 1]), u.speaker,
                                                                  voices, sentences)) for u in utterances]
