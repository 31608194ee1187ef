"""Reading a TIMIT tree: locating the corpus, listing utterances, reading audio and ``.PHN`` files.

Copies of TIMIT differ in case (``TRAIN`` vs ``train``, ``.WAV`` vs ``.wav``) and in audio format (NIST SPHERE,
or RIFF as ``.WAV`` or ``.WAV.wav``): every lookup here is case-insensitive and the audio is read by soundfile,
which reads both formats. Identifiers are lower-cased so that every form of the corpus gives the same ids.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from .phones import UnknownPhoneError, load_phone_map

__all__ = ["Utterance", "find_corpus_root", "list_utterances", "read_audio", "read_phn", "CorpusError"]

_SUBSETS = ("train", "test")
_SPEAKER_RE = re.compile(r"^[mf][a-z]{3}\d$")
_AUDIO_SUFFIXES = (".wav.wav", ".wav")  # longest first: "SX1.WAV.wav" is one utterance, not "SX1.WAV"


class CorpusError(ValueError):
    """A TIMIT tree or one of its files cannot be used."""


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One utterance of the corpus, with the files that hold it.

    Attributes:
        subset (str): ``"train"`` or ``"test"`` (the corpus folder it lies in).
        dialect (str): dialect region folder, e.g. ``"dr1"``.
        speaker (str): speaker folder, lower-cased, e.g. ``"mdab0"``.
        name (str): utterance name, lower-cased, e.g. ``"si1344"``.
        audio (Path): the audio file.
        phn (Path): the phone alignment file.
    """

    subset: str
    dialect: str
    speaker: str
    name: str
    audio: Path
    phn: Path

    @property
    def id(self) -> str:
        """Unique id, ``<speaker>_<utterance>``: TIMIT's SA sentences repeat across speakers."""
        return f"{self.speaker}_{self.name}"

    @property
    def kind(self) -> str:
        """``"sa"``, ``"sx"`` or ``"si"``."""
        return self.name[:2]


def _children_by_lower_name(folder: Path) -> Dict[str, Path]:
    return {p.name.lower(): p for p in folder.iterdir()}


def find_corpus_root(path) -> Path:
    """Check that ``path`` is a TIMIT tree and return the folder that holds ``TRAIN`` and ``TEST``.

    ``path`` may be that folder itself or its parent (copies are often unpacked as ``timit/TIMIT/TRAIN``
    or ``timit/data/TRAIN``).

    Args:
        path (str or Path): the corpus location given by the user.

    Raises:
        CorpusError: the path does not exist, or neither it nor a child folder holds both TRAIN and TEST.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(f"TIMIT path {str(root)!r} does not exist")
    if not root.is_dir():
        raise CorpusError(f"TIMIT path {str(root)!r} is not a folder")
    candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    for folder in candidates:
        names = _children_by_lower_name(folder)
        if all(s in names and names[s].is_dir() for s in _SUBSETS):
            return folder
    found = sorted(p.name for p in root.iterdir())[:10]
    raise CorpusError(f"TIMIT path {str(root)!r} has no TRAIN and TEST folders (found: {found})")


def _split_audio_name(filename: str) -> str | None:
    lower = filename.lower()
    for suffix in _AUDIO_SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return None


def list_utterances(root) -> List[Utterance]:
    """List every utterance of a TIMIT tree that has both an audio file and a ``.PHN`` file.

    Args:
        root (str or Path): the corpus (see :func:`find_corpus_root`).

    Returns:
        list of Utterance: sorted by subset, speaker and name.

    Raises:
        CorpusError: an utterance has audio but no ``.PHN`` (or the reverse), or a subset is empty.
    """
    root = find_corpus_root(root)
    subsets = _children_by_lower_name(root)
    out: List[Utterance] = []
    for subset in _SUBSETS:
        n_before = len(out)
        for dr in sorted(subsets[subset].iterdir()):
            if not (dr.is_dir() and dr.name.lower().startswith("dr")):
                continue
            for spk in sorted(dr.iterdir()):
                if not (spk.is_dir() and _SPEAKER_RE.match(spk.name.lower())):
                    continue
                out.extend(_speaker_utterances(subset, dr.name.lower(), spk))
        if len(out) == n_before:
            raise CorpusError(f"no utterances found under {str(subsets[subset])!r}")
    out.sort(key=lambda u: (u.subset, u.speaker, u.name))
    return out


def _speaker_utterances(subset: str, dialect: str, spk: Path) -> List[Utterance]:
    audio: Dict[str, Path] = {}
    phn: Dict[str, Path] = {}
    for f in spk.iterdir():
        stem = _split_audio_name(f.name)
        if stem is not None:
            # A redistribution may hold both "SX1.WAV" (SPHERE) and "SX1.WAV.wav" (RIFF): either will do; take
            # the RIFF one, which every reader understands.
            if stem not in audio or f.name.lower().endswith(".wav.wav"):
                audio[stem] = f
        elif f.name.lower().endswith(".phn"):
            phn[f.name[:-4].lower()] = f
    missing = sorted(set(audio) ^ set(phn))
    if missing:
        name = missing[0]
        has, lacks = ("audio", ".PHN") if name in audio else (".PHN", "audio")
        raise CorpusError(f"utterance {name!r} in {str(spk)!r} has {has} but no {lacks} file")
    return [Utterance(subset, dialect, spk.name.lower(), name, audio[name], phn[name]) for name in sorted(audio)]


def read_audio(path) -> Tuple[np.ndarray, int]:
    """Read a mono audio file (NIST SPHERE or RIFF WAV) as float32 in [-1, 1].

    Args:
        path (str or Path): the file.

    Returns:
        (np.ndarray, int): samples ``(time,)`` and sample rate.

    Raises:
        CorpusError: the file is empty, unreadable, not mono, or holds non-finite samples.
    """
    import soundfile  # here, not at import: the corpus generator reads the phone table of this package

    path = Path(path)
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (time, channels)
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError, TypeError)
        raise CorpusError(f"cannot read audio file {str(path)!r}: {e}") from e
    if samples.shape[1] != 1:
        raise CorpusError(f"audio file {str(path)!r} has {samples.shape[1]} channels, expected 1")
    if samples.shape[0] == 0:
        raise CorpusError(f"audio file {str(path)!r} has no samples")
    if not np.isfinite(samples).all():
        raise CorpusError(f"audio file {str(path)!r} holds non-finite samples")
    return samples[:, 0], rate


def read_phn(path) -> List[Tuple[int, int, str]]:
    """Read a ``.PHN`` file: lines of ``start_sample end_sample phone`` in the 61-phone set.

    Args:
        path (str or Path): the file.

    Returns:
        list of (int, int, str): the segments, in file order.

    Raises:
        CorpusError: a line is malformed or the file is empty.
        UnknownPhoneError: a phone is not in TIMIT's 61-phone set (the message names the file and line).
    """
    path = Path(path)
    phones61 = set(load_phone_map().phones61)
    segments = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 3 or not (cols[0].isdigit() and cols[1].isdigit()):
            raise CorpusError(f"{str(path)!r} line {n}: expected 'start end phone', got {line!r}")
        if cols[2] not in phones61:
            raise UnknownPhoneError(f"{str(path)!r} line {n}: phone {cols[2]!r} is not in the 61-phone TIMIT set")
        segments.append((int(cols[0]), int(cols[1]), cols[2]))
    if not segments:
        raise CorpusError(f"{str(path)!r} holds no phones")
    return segments
