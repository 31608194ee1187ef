"""ctypes binding to espeak-ng's C library: synthesis that reports where every phone and word starts.

espeak-ng is a system package, not a Python one. Its C library, initialised with the phoneme-events option,
emits a PHONEME event (the phoneme's mnemonic and the index of the sample where its sound starts) for every
phone it synthesises, and a WORD event at the start of every word. Those indices are the corpus's phone and
word boundaries: they are read from the synthesiser, never estimated from the audio.

espeak-ng keeps synthesis state (wave phase, pitch, echo buffer, sample-count remainders) from one call to the
next, so the same text can come out a few samples different depending on what was spoken before it in the same
process. Callers that need identical bytes for identical input synthesise each utterance in a fresh process
(see :mod:`kfront.synth.generate`).
"""

import ctypes
from dataclasses import dataclass
from typing import Tuple

import numpy as np

__all__ = ["LIBRARY_NAME", "INSTALL_HINT", "Synthesis", "Espeak", "get_engine", "load_library", "library_version"]

#: Shared-library name handed to the dynamic loader.
LIBRARY_NAME = "libespeak-ng.so.1"
#: What to run where the library is missing (Debian and Ubuntu package names).
INSTALL_HINT = "sudo apt-get install -y espeak-ng"

# Constants from espeak-ng's speak_lib.h (API revision 12, stable since 1.49).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Synthesis:
    """One synthesised utterance with the synthesiser's own event positions.

    Attributes:
        audio (np.ndarray): int16 samples, shape ``(samples,)``.
        sample_rate (int): rate of ``audio`` in Hz (22050 for espeak-ng's formant voices).
        phonemes (tuple): ``(sample, mnemonic, text_position)`` for each PHONEME event, in order; ``sample`` is
            where the phone's sound starts, ``text_position`` the 1-based character of the word it belongs to.
        words (tuple): ``(sample, text_position, length)`` for each WORD event, in order; ``text_position`` is
            the word's first character (1-based) and ``length`` its length in characters.
    """

    audio: np.ndarray
    sample_rate: int
    phonemes: Tuple[Tuple[int, str, int], ...]
    words: Tuple[Tuple[int, int, int], ...]


def load_library(name: str | None = None) -> ctypes.CDLL:
    """Load espeak-ng's C library.

    Args:
        name (str or None, optional): library name or path. (Default: :data:`LIBRARY_NAME`)

    Raises:
        RuntimeError: the library cannot be loaded; the message names the command that installs it.
    """
    name = LIBRARY_NAME if name is None else name
    try:
        return ctypes.CDLL(name)
    except OSError as err:
        raise RuntimeError(
            f"cannot load espeak-ng's C library {name!r} ({err}); the built-in corpus needs it. "
            f"Install it with: {INSTALL_HINT}"
        ) from None


def library_version(name: str | None = None) -> str:
    """espeak-ng's version string, e.g. ``'1.51'``, without initialising the synthesiser.

    Args:
        name (str or None, optional): library name or path. (Default: :data:`LIBRARY_NAME`)

    Raises:
        RuntimeError: the library cannot be loaded; the message names the command that installs it.
    """
    lib = load_library(name)
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    return lib.espeak_Info(None).decode()


class Espeak:
    """espeak-ng, initialised once per process in synchronous mode with phoneme events on.

    Args:
        library (str or None, optional): library name or path. (Default: :data:`LIBRARY_NAME`)
    """

    def __init__(self, library: str | None = None) -> None:
        self._lib = load_library(library)
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        # NULL path: espeak-ng finds its data where the package put it.
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate}); is espeak-ng-data installed?")
        self.sample_rate = int(rate)
        self._chunks = []
        self._events = []
        # Keep a reference: the C library calls back into this object for as long as the process lives.
        self._callback = _Callback(self._on_audio)
        self._lib.espeak_SetSynthCallback(self._callback)
        # libc's rand() drives the breath noise of some voice variants; seeding it makes them reproducible.
        self._srand = ctypes.CDLL(None).srand
        self._srand.argtypes = [ctypes.c_uint]

    def _on_audio(self, wav, n_samples, events) -> int:
        if wav and n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8")
                self._events.append((_EVENT_PHONEME, ev.sample, name, ev.text_position))
            elif ev.type == _EVENT_WORD:
                self._events.append((_EVENT_WORD, ev.sample, ev.text_position, ev.length))
            i += 1
        return 0  # 0: go on synthesising

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50,
                   seed: int = 0) -> Synthesis:
        """Synthesise ``text`` and collect its phone and word events.

        Args:
            text (str): what to say (plain text, UTF-8).
            voice (str): espeak-ng voice name with an optional variant, e.g. ``"en-us+m3"``.
            rate (int, optional): speaking rate in words per minute, 80 to 450. (Default: ``175``)
            pitch (int, optional): base pitch, 0 to 100. (Default: ``50``)
            pitch_range (int, optional): pitch range, 0 (monotone) to 100. (Default: ``50``)
            seed (int, optional): seed for the noise some variants mix in (breathiness). (Default: ``0``)

        Returns:
            Synthesis: the audio at :attr:`sample_rate` and its events.
        """
        if not 80 <= rate <= 450:
            raise ValueError(f"rate must be in [80, 450] words per minute, got {rate}")
        for label, value in (("pitch", pitch), ("pitch_range", pitch_range)):
            if not 0 <= value <= 100:
                raise ValueError(f"{label} must be in [0, 100], got {value}")
        if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._srand(seed & 0xFFFFFFFF)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        err = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with error {err} on {text!r}")
        self._lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        phonemes = tuple((s, name, pos) for kind, s, name, pos in self._events if kind == _EVENT_PHONEME)
        words = tuple((s, pos, length) for kind, s, pos, length in self._events if kind == _EVENT_WORD)
        return Synthesis(audio.astype(np.int16, copy=False), self.sample_rate, phonemes, words)


_ENGINE: Espeak | None = None


def get_engine() -> Espeak:
    """This process's :class:`Espeak` (espeak-ng can be initialised only once per process)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Espeak()
    return _ENGINE
