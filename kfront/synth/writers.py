"""TIMIT's file formats: audio as NIST SPHERE (like the LDC original) or RIFF WAV, and the .PHN/.WRD/.TXT texts.

Every file is written whole or not at all (:func:`atomic_write`), so an interrupted run leaves whole files or
none, never half of one. The audio and label files skip the folder ``fsync``: the generator checks every file of
a corpus before calling it complete, so a name lost in a power cut is found and the utterance made again.
"""

import os
import struct
from typing import Iterable, Tuple

import numpy as np

from .._atomic import atomic_write

__all__ = ["atomic_write", "sphere_bytes", "riff_bytes", "write_audio", "write_segments", "write_transcript"]

PathLike = str | os.PathLike[str]
_SPHERE_HEADER_BYTES = 1024


def _check_samples(samples: np.ndarray) -> np.ndarray:
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"audio must be 1-D int16, got {samples.dtype} with shape {samples.shape}")
    return samples.astype("<i2", copy=False)


def sphere_bytes(samples: np.ndarray, sample_rate: int, utterance_id: str = "",
                 database_id: str = "MINI_TIMIT") -> bytes:
    """A NIST SPHERE file laid out like TIMIT's: 1024-byte text header, then little-endian 16-bit PCM.

    Args:
        samples (np.ndarray): int16 samples, shape ``(time,)``.
        sample_rate (int): in Hz.
        utterance_id (str, optional): written as the header's ``utterance_id`` (TIMIT: ``dab0_sx10``).
            (Default: ``""``, left out)
        database_id (str, optional): the header's ``database_id``. (Default: ``"MINI_TIMIT"``)
    """
    pcm = _check_samples(samples)
    fields = [("database_id", "s", database_id), ("database_version", "s", "1.0")]
    if utterance_id:
        fields.append(("utterance_id", "s", utterance_id))
    fields += [
        ("channel_count", "i", 1),
        ("sample_count", "i", int(pcm.shape[0])),
        ("sample_rate", "i", int(sample_rate)),
        ("sample_min", "i", int(pcm.min()) if pcm.size else 0),
        ("sample_max", "i", int(pcm.max()) if pcm.size else 0),
        ("sample_n_bytes", "i", 2),
        ("sample_byte_format", "s", "01"),
        ("sample_sig_bits", "i", 16),
    ]
    lines = [f"{name} -{kind}{len(str(value))} {value}" if kind == "s" else f"{name} -{kind} {value}"
             for name, kind, value in fields]
    header = ("NIST_1A\n   1024\n" + "\n".join(lines) + "\nend_head\n").encode("ascii")
    if len(header) > _SPHERE_HEADER_BYTES:
        raise ValueError(f"SPHERE header of {len(header)} bytes does not fit in {_SPHERE_HEADER_BYTES}")
    return header.ljust(_SPHERE_HEADER_BYTES, b" ") + pcm.tobytes()


def riff_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A canonical 44-byte-header RIFF WAV file of 16-bit mono PCM.

    Args:
        samples (np.ndarray): int16 samples, shape ``(time,)``.
        sample_rate (int): in Hz.
    """
    pcm = _check_samples(samples).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)  # PCM, mono, 16-bit
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(pcm)) + pcm)


def write_audio(path: PathLike, samples: np.ndarray, sample_rate: int, sphere: bool = False,
                utterance_id: str = "") -> None:
    """Write 16-bit mono audio atomically.

    Args:
        path (str or os.PathLike): file name (TIMIT: ``.WAV`` whatever the format).
        samples (np.ndarray): int16 samples, shape ``(time,)``.
        sample_rate (int): in Hz.
        sphere (bool, optional): NIST SPHERE instead of RIFF. (Default: ``False``)
        utterance_id (str, optional): SPHERE header's ``utterance_id``. (Default: ``""``)
    """
    data = sphere_bytes(samples, sample_rate, utterance_id) if sphere else riff_bytes(samples, sample_rate)
    atomic_write(path, data, sync_folder=False)


def write_segments(path: PathLike, segments: Iterable[Tuple[int, int, str]]) -> None:
    """Write ``start end label`` lines (TIMIT's ``.PHN`` and ``.WRD``) atomically.

    Args:
        path (str or os.PathLike): file name.
        segments (iterable of (int, int, str)): start sample, end sample (exclusive), label.
    """
    atomic_write(path, "".join(f"{s} {e} {label}\n" for s, e, label in segments).encode("ascii"), sync_folder=False)


def write_transcript(path: PathLike, n_samples: int, text: str) -> None:
    """Write TIMIT's ``.TXT`` line, ``0 <last_sample> <text>``, atomically.

    Args:
        path (str or os.PathLike): file name.
        n_samples (int): length of the audio; TIMIT writes it as the end sample.
        text (str): the sentence as prompted.
    """
    atomic_write(path, f"0 {n_samples} {text}\n".encode("ascii"), sync_folder=False)
