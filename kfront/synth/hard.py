"""The hard condition of the built-in corpus: far-field rooms, babble, telephone lines, speed and many voices.

``CorpusConfig(condition="hard")`` (``--condition hard``) makes a corpus of the same layout and size as the
standard one, on which a small recognizer's phone error rate is six times higher: the TIMIT recipe's
``conf/mini_mfcc.yaml`` over seeds 1-3 reaches 31.2 +- 0.2 % on dev and 32.0 +- 0.3 % on core test (about 10 % and
5 % on the standard corpus; 169 % before training). The ranges were calibrated for that: with rooms up to RT60
0.7 s at 0.5-3 m and babble at 0-15 dB the same model stayed near 70 % dev PER, at RT60 0.6 s, 2.5 m and 5-20 dB
at 53 %. With ``train_voices=8`` as well, core test rises to 41 % (seed 1) while dev stays at 32 %.

- voices: :data:`HARD_VOICES`, 77 espeak-ng variants (16 female) instead of 12, wider pitch, pitch-range and
  speaking-rate ranges;
- rooms: each speaker talks in a shoebox room of its own (:func:`kfront.synth.rooms.random_room`: 3.5-9 m by
  3-7 m, RT60 0.15-0.4 s, 0.3-1.2 m from the microphone), simulated with pyroomacoustics' image-source model;
- babble: 3-6 talkers with voices no corpus speaker has, reading sentences no utterance reads, from another
  point of the same room, 15-30 dB below the speech (drawn per utterance);
- telephone: 20 % of the speakers are heard through a telephone line (300-3400 Hz, 8 kHz, G.711 mu-law);
- speed: every utterance is played 0.9-1.1 times as fast (pitch and formants move with it, as with sox's
  ``speed``), its phone boundaries moved with the same rational factor;
- the standard channel (stationary noise, band limits, level) is kept, without its synthetic reverberation.

Nothing moves the signal against its labels: the room's direct path stays at lag 0, every filter is zero-phase,
and the speed change is one polyphase resampling whose factor also moves every boundary.
"""

import dataclasses
from dataclasses import dataclass
from typing import List, Sequence, Set, Tuple

import numpy as np

from .babble import BabbleTalker, mix_at_snr, synthesize_babble
from .rooms import RoomResponse, random_room, reverberate
from .speakers import Speaker, VoiceSpace, draw_setting

__all__ = ["CONDITIONS", "HARD_VARIANTS", "HARD_VOICES", "Perturbation", "summary", "harden_speakers",
           "babble_voices", "draw_perturbation", "source_rate", "room_and_babble"]

#: Names of the corpus conditions; the first is the default.
CONDITIONS = ("standard", "hard")

_HARD_MALE = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "klatt", "klatt2", "klatt3", "klatt4", "klatt5",
              "klatt6", "adam", "Alex", "Andy", "antonio", "benjamin", "boris", "david", "Denis", "Diogo", "ed",
              "edward", "edward2", "Gene", "Gene2", "grandpa", "gustave", "Henrique", "Hugo", "iven", "iven2",
              "iven3", "iven4", "Jacky", "john", "Lee", "marcelo", "Marco", "Mario", "max", "Michael", "michel",
              "miguel", "Mike", "Nguyen", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro",
              "shelby", "Storm", "travis", "victor", "zac")
_HARD_FEMALE = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "aunty", "belinda", "linda", "steph",
                "steph2", "steph3", "anika", "grandma")
#: espeak-ng variants of the hard condition: its human-sounding ones (no robots, whispers or effects).
HARD_VARIANTS = _HARD_MALE + _HARD_FEMALE
#: The hard condition's voices.
HARD_VOICES = VoiceSpace(HARD_VARIANTS, frozenset(_HARD_FEMALE), rate=(125, 225), pitch=(20, 80),
                         pitch_range=(15, 90))

_RT60_S = (0.15, 0.4)
_DISTANCE_M = (0.3, 1.2)
_TELEPHONE_SHARE = 0.2
_SPEED = (0.9, 1.1)
# A speed is m / 441: at espeak-ng's 22050 Hz that reads the audio at 50 * m Hz, a ratio to 16 kHz with small
# terms (cheap polyphase filters).
_SPEED_DENOMINATOR = 441
_BABBLE_TALKERS = (3, 6)
_BABBLE_SNR_DB = (15.0, 30.0)
_BABBLE_TEXTS_PER_TALKER = 2
#: How many babble voices a corpus has, and how many sentences they read between them.
BABBLE_VOICES, BABBLE_SENTENCES = 24, 64


def summary() -> str:
    """The hard condition in one sentence, with its ranges (for help texts)."""
    return (f"every speaker in a simulated room (pyroomacoustics' image method, RT60 {_RT60_S[0]:g}-{_RT60_S[1]:g} s, "
            f"{_DISTANCE_M[0]:g}-{_DISTANCE_M[1]:g} m from the microphone), babble of {_BABBLE_TALKERS[0]}-"
            f"{_BABBLE_TALKERS[1]} other synthetic talkers at {_BABBLE_SNR_DB[0]:g}-{_BABBLE_SNR_DB[1]:g} dB SNR, "
            f"{_TELEPHONE_SHARE:.0%} of the speakers through a telephone line (300-3400 Hz, 8 kHz mu-law), each "
            f"utterance {_SPEED[0]:g}-{_SPEED[1]:g} times as fast (phone boundaries moved with it), "
            f"{len(HARD_VARIANTS)} espeak-ng voice variants with wider pitch and rate")


@dataclass(frozen=True)
class Perturbation:
    """What the hard condition does to one utterance.

    Attributes:
        speed (float): playback speed, ``> 1`` faster (and higher); the synthesiser's audio is read at
            :func:`source_rate` of it.
        babble_snr_db (float): speech-to-babble power ratio at the microphone, in dB.
        babble (tuple of BabbleTalker): the talkers behind the speaker.
    """

    speed: float
    babble_snr_db: float
    babble: Tuple[BabbleTalker, ...]


def harden_speakers(speakers: Sequence[Speaker], rng: np.random.Generator, sample_rate: int) -> List[Speaker]:
    """Give every speaker a simulated room and, for some, a telephone line; the room replaces the synthetic tail.

    Args:
        speakers (sequence of Speaker): speakers as :func:`kfront.synth.speakers.make_speakers` made them.
        rng (numpy.random.Generator): the source of randomness.
        sample_rate (int): the corpus's rate in Hz (the room's geometry is aligned to its samples).
    """
    out = []
    for spk in speakers:
        room = random_room(rng, sample_rate, rt60_s=_RT60_S, distance_m=_DISTANCE_M)
        telephone = bool(rng.random() < _TELEPHONE_SHARE)
        out.append(dataclasses.replace(spk, channel=dataclasses.replace(spk.channel, rt60_s=None), room=room,
                                       telephone=telephone))
    return out


def babble_voices(n: int, rng: np.random.Generator, taken_voices: Set[tuple]) -> List[Tuple[str, int, int, int]]:
    """Draw ``n`` babble voices ``(voice, rate, pitch, pitch_range)`` whose settings no speaker has.

    Args:
        n (int): how many.
        rng (numpy.random.Generator): the source of randomness.
        taken_voices (set of tuple): the speakers' ``(voice, rate, pitch)`` settings; the new ones are added.
    """
    out = []
    while len(out) < n:
        setting = draw_setting(rng, HARD_VOICES)
        pitch_range = int(rng.integers(HARD_VOICES.pitch_range[0], HARD_VOICES.pitch_range[1] + 1))
        if setting not in taken_voices:
            taken_voices.add(setting)
            out.append((*setting, pitch_range))
    return out


def draw_perturbation(rng: np.random.Generator, speaker: Speaker, voices: Sequence[Tuple[str, int, int, int]],
                      sentences: Sequence[str]) -> Perturbation:
    """Draw one utterance's speed and babble: talkers whose voice name differs from the speaker's.

    Args:
        rng (numpy.random.Generator): the source of randomness.
        speaker (Speaker): who speaks the utterance.
        voices (sequence of tuple): the corpus's babble voices, from :func:`babble_voices`.
        sentences (sequence of str): what babble talkers may say.
    """
    numerator = int(rng.integers(round(_SPEED[0] * _SPEED_DENOMINATOR), round(_SPEED[1] * _SPEED_DENOMINATOR) + 1))
    others = [v for v in voices if v[0] != speaker.voice]
    k = min(int(rng.integers(_BABBLE_TALKERS[0], _BABBLE_TALKERS[1] + 1)), len(others))
    talkers = []
    for i in rng.choice(len(others), size=k, replace=False):
        texts = tuple(sentences[j] for j in rng.choice(len(sentences), size=_BABBLE_TEXTS_PER_TALKER, replace=False))
        talkers.append(BabbleTalker(*others[i], texts=texts))
    return Perturbation(speed=numerator / _SPEED_DENOMINATOR,
                        babble_snr_db=round(float(rng.uniform(*_BABBLE_SNR_DB)), 1), babble=tuple(talkers))


def source_rate(sample_rate: int, speed: float) -> int:
    """The rate, in Hz, at which audio synthesised at ``sample_rate`` is read to play at ``speed``.

    Resampling from it to the output rate changes the speed; the phone boundaries are moved with the same two
    rates (:func:`kfront.synth.align.rescale`), so they move exactly as the signal does.

    Args:
        sample_rate (int): rate the audio was synthesised at, in Hz.
        speed (float): playback speed, in (0.5, 2).
    """
    if not 0.5 < speed < 2.0:
        raise ValueError(f"speed must be in (0.5, 2), got {speed}")
    return int(round(sample_rate * speed))


def room_and_babble(audio: np.ndarray, sample_rate: int, perturbation: Perturbation,
                    response: RoomResponse | None, speech: slice, rng: np.random.Generator) -> np.ndarray:
    """Put the speech into its room and add the babble, reverberated from the babble source.

    Args:
        audio (np.ndarray): dry speech at ``sample_rate``, shape ``(time,)``.
        sample_rate (int): in Hz.
        perturbation (Perturbation): the babble and its level.
        response (RoomResponse or None): the speaker's room; ``None`` for a dry recording.
        speech (slice): where the speech is in ``audio`` (the babble's level is set against it).
        rng (numpy.random.Generator): the babble's start points and synthesis seeds.

    Returns:
        np.ndarray: float64, shape ``(time,)``.
    """
    n = audio.shape[0]
    babble = synthesize_babble(perturbation.babble, n, sample_rate, rng) if perturbation.babble else np.zeros(n)
    if response is not None:
        audio = reverberate(audio, response.speech, response.speech_lag)
        babble = reverberate(babble, response.babble, response.babble_lag)
    if not perturbation.babble:
        return audio
    return mix_at_snr(audio, babble, perturbation.babble_snr_db, speech)
