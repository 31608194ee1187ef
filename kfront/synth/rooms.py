"""Simulated rooms for the hard condition: shoebox rooms and their impulse responses from pyroomacoustics.

A :class:`Room` is drawn per speaker (size, reverberation time, where the talker, the microphone and a babble
source stand); :func:`room_responses` runs pyroomacoustics' image-source model on it. pyroomacoustics is imported
only there, so that importing the corpus package stays fast.

Labels must not move: :func:`reverberate` keeps the direct path at lag 0. The talker stands at a distance from the
microphone that is a whole number of samples of sound travel, so the direct path arrives exactly on a sample (no
fractional delay); its index in the simulated response is read from a direct-path-only simulation of the same
geometry, and the convolution is read from that index on.
"""

from dataclasses import asdict, dataclass
from typing import Tuple

import numpy as np
from scipy import signal

__all__ = ["Room", "RoomResponse", "random_room", "room_responses", "reverberate", "SPEED_OF_SOUND"]

#: Speed of sound the simulation uses, in m/s (pyroomacoustics' default at 20 degrees C).
SPEED_OF_SOUND = 343.0
_WALL_MARGIN_M = 0.4  # nobody stands closer than this to a wall
Point = Tuple[float, float, float]


@dataclass(frozen=True)
class Room:
    """A shoebox room with a talker, a microphone and a babble source in it.

    Attributes:
        size_m (tuple of float): length, width, height in metres.
        rt60_s (float): reverberation time in seconds (Sabine), which sets the walls' absorption.
        source_m (tuple of float): where the talker's mouth is, in metres.
        mic_m (tuple of float): where the microphone is.
        babble_m (tuple of float): where the babble comes from.
    """

    size_m: Point
    rt60_s: float
    source_m: Point
    mic_m: Point
    babble_m: Point

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RoomResponse:
    """Impulse responses of a room at one sample rate, with the index of each one's direct path.

    Attributes:
        speech (np.ndarray): talker-to-microphone response, shape ``(taps,)``.
        speech_lag (int): index of its direct path.
        babble (np.ndarray): babble-source-to-microphone response, shape ``(taps,)``.
        babble_lag (int): index of its direct path.
    """

    speech: np.ndarray
    speech_lag: int
    babble: np.ndarray
    babble_lag: int


def _inside(rng: np.random.Generator, size: np.ndarray, heights: Tuple[float, float]) -> np.ndarray:
    xy = rng.uniform(_WALL_MARGIN_M, size[:2] - _WALL_MARGIN_M)
    return np.array([xy[0], xy[1], rng.uniform(*heights)])


def random_room(rng: np.random.Generator, sample_rate: int, rt60_s: Tuple[float, float],
                distance_m: Tuple[float, float]) -> Room:
    """Draw an office- to classroom-sized room with a talker at a distance from the microphone.

    Args:
        rng (numpy.random.Generator): the source of randomness.
        sample_rate (int): rate the responses will be simulated at, in Hz; the talker's distance is a whole
            number of samples of sound travel at it.
        rt60_s (tuple of float): range of the reverberation time in seconds, e.g. ``(0.15, 0.4)``.
        distance_m (tuple of float): range of the talker-to-microphone distance in metres, e.g. ``(0.3, 1.2)``.
    """
    if not 0.0 < rt60_s[0] <= rt60_s[1]:
        raise ValueError(f"rt60_s must be a range (low, high) with 0 < low <= high, got {rt60_s}")
    if not 0.0 < distance_m[0] <= distance_m[1] <= 3.0:
        raise ValueError(f"distance_m must be a range (low, high) with 0 < low <= high <= 3, got {distance_m}")
    size = np.array([rng.uniform(3.5, 9.0), rng.uniform(3.0, 7.0), rng.uniform(2.5, 3.5)])
    rt60 = float(rng.uniform(*rt60_s))
    step = SPEED_OF_SOUND / sample_rate  # metres per sample of travel
    while True:  # a direction and distance that keep the talker inside the room
        mic = _inside(rng, size, (0.7, 1.5))
        direction = rng.standard_normal(3)
        direction[2] *= 0.2  # mouths and microphones are at similar heights
        direction /= np.linalg.norm(direction)
        distance = round(float(rng.uniform(*distance_m)) / step) * step
        source = mic + distance * direction
        if np.all(source >= _WALL_MARGIN_M) and np.all(source <= size - _WALL_MARGIN_M):
            break
    babble = _inside(rng, size, (1.0, 1.8))
    return Room(size_m=tuple(float(v) for v in size), rt60_s=round(rt60, 3),
                source_m=tuple(float(v) for v in source), mic_m=tuple(float(v) for v in mic),
                babble_m=tuple(float(v) for v in babble))


def _simulate(room: Room, source: Point, sample_rate: int, direct_only: bool) -> np.ndarray:
    import pyroomacoustics as pra

    pra.constants.set("num_threads", 1)  # one order of summation: the same response on every machine load
    absorption, max_order = pra.inverse_sabine(room.rt60_s, room.size_m, c=SPEED_OF_SOUND)
    shoebox = pra.ShoeBox(room.size_m, fs=sample_rate, materials=pra.Material(absorption),
                          max_order=0 if direct_only else max_order, air_absorption=False, use_rand_ism=False)
    shoebox.set_sound_speed(SPEED_OF_SOUND)
    shoebox.add_source(list(source))
    shoebox.add_microphone(np.array(room.mic_m))
    shoebox.compute_rir()
    return np.asarray(shoebox.rir[0][0], dtype=np.float64)


def _response(room: Room, source: Point, sample_rate: int) -> Tuple[np.ndarray, int]:
    lag = int(np.argmax(np.abs(_simulate(room, source, sample_rate, direct_only=True))))
    return _simulate(room, source, sample_rate, direct_only=False), lag


def room_responses(room: Room, sample_rate: int) -> RoomResponse:
    """Simulate the room with the image-source model (pyroomacoustics): talker and babble to microphone.

    Args:
        room (Room): the room.
        sample_rate (int): in Hz.
    """
    speech, speech_lag = _response(room, room.source_m, sample_rate)
    babble, babble_lag = _response(room, room.babble_m, sample_rate)
    return RoomResponse(speech, speech_lag, babble, babble_lag)


def reverberate(audio: np.ndarray, response: np.ndarray, lag: int) -> np.ndarray:
    """Convolve with a room response, its direct path at lag 0: nothing moves in time.

    Args:
        audio (np.ndarray): samples, shape ``(time,)``.
        response (np.ndarray): impulse response, shape ``(taps,)``.
        lag (int): index of the direct path in ``response``; what comes before it (the direct path's
            interpolation filter) acts on earlier samples, as in the simulation.

    Returns:
        np.ndarray: shape ``(time,)``, scaled so that the direct path has gain 1.
    """
    if not 0 <= lag < response.shape[0]:
        raise ValueError(f"lag must index the response (0..{response.shape[0] - 1}), got {lag}")
    wet = signal.fftconvolve(audio.astype(np.float64), response)[lag: lag + audio.shape[0]]
    return wet / response[lag]
