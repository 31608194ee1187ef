"""A small TIMIT-shaped tree of synthetic utterances, for tests of everything that reads a corpus.

Each phone is a short tone whose pitch depends on the phone, so the files are valid audio with a learnable
relation to their labels; nothing here resembles speech.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from .phones import load_phone_map

__all__ = ["write_fake_timit"]

# speaker -> (subset, dialect region); the dev and core-test speakers are named in lists at the corpus root
_SPEAKERS = {
    "faaa0": ("train", "dr1"), "mbbb0": ("train", "dr2"), "mccc1": ("train", "dr2"),
    "fddd0": ("test", "dr1"), "meee0": ("test", "dr3"),
}
_DEV, _CORE = ["fddd0"], ["meee0"]


def _utterance(rng: np.random.Generator, phones: List[str], rate: int):
    segs = [("h#", int(0.1 * rate))]
    for p in rng.choice(phones, size=int(rng.integers(5, 10))):
        segs.append((str(p), int(rng.uniform(0.05, 0.12) * rate)))
    segs.append(("h#", int(0.1 * rate)))
    index = {p: i for i, p in enumerate(phones)}
    pieces, lines, t = [], [], 0
    for p, n in segs:
        f0 = 150.0 + 40.0 * index.get(p, 0) if p != "h#" else 0.0
        tt = np.arange(n) / rate
        pieces.append(0.3 * np.sin(2 * np.pi * f0 * tt) + 0.01 * rng.standard_normal(n))
        lines.append(f"{t} {t + n} {p}")
        t += n
    return np.concatenate(pieces).astype(np.float32), "\n".join(lines) + "\n"


def write_fake_timit(root, upper: bool = True, audio: str = "sphere", utterances_per_speaker: int = 3,
                     seed: int = 0, sample_rate: int = 16000, speaker_lists: bool = True) -> Dict[str, List[str]]:
    """Write a tiny TIMIT-shaped corpus.

    Args:
        root (str or Path): the folder to create; TRAIN/TEST go right under it.
        upper (bool, optional): TIMIT's upper-case names (``TRAIN/DR1/FAAA0/SX1.WAV``) or lower-case.
            (Default: ``True``)
        audio (str, optional): ``"sphere"`` (NIST SPHERE ``.WAV``), ``"riff"`` (RIFF ``.WAV``) or
            ``"riff.wav"`` (RIFF ``.WAV.wav``, as some redistributions have). (Default: ``"sphere"``)
        utterances_per_speaker (int, optional): SI and SX utterances per speaker, besides SA1 and SA2.
            (Default: ``3``)
        seed (int, optional): the same seed writes the same samples and phones. (Default: ``0``)
        sample_rate (int, optional): (Default: ``16000``)
        speaker_lists (bool, optional): write ``dev_speakers.txt`` and ``core_test_speakers.txt`` at the root.
            (Default: ``True``)

    Returns:
        dict: split -> the utterance ids it should hold (``<speaker>_<utterance>``).
    """
    if audio not in ("sphere", "riff", "riff.wav"):
        raise ValueError(f"audio must be 'sphere', 'riff' or 'riff.wav', got {audio!r}")
    import soundfile  # here, not at import: the tests' conftest imports this module on machines without it

    root = Path(root)
    case = str.upper if upper else str.lower
    rng = np.random.default_rng(seed)
    phones = [p for p in load_phone_map().phones61 if p != "h#"]
    expected: Dict[str, List[str]] = {"train": [], "dev": [], "test": []}
    for spk, (subset, dr) in _SPEAKERS.items():
        folder = root / case(subset) / case(dr) / case(spk)
        folder.mkdir(parents=True, exist_ok=True)
        names = ["sa1", "sa2"] + [f"si{100 + i}" if i % 2 == 0 else f"sx{200 + i}" for i in
                                  range(utterances_per_speaker)]
        for name in names:
            samples, phn = _utterance(rng, phones, sample_rate)
            stem = folder / case(name)
            if audio == "sphere":
                soundfile.write(str(stem) + case(".wav"), samples, sample_rate, format="NIST", subtype="PCM_16")
            else:
                suffix = case(".wav") + (".wav" if audio == "riff.wav" else "")
                soundfile.write(str(stem) + suffix, samples, sample_rate, format="WAV", subtype="PCM_16")
            Path(str(stem) + case(".phn")).write_text(phn)
            if name.startswith("sa"):
                continue
            split = "train" if subset == "train" else ("dev" if spk in _DEV else "test")
            expected[split].append(f"{spk}_{name}")
    if speaker_lists:
        (root / "dev_speakers.txt").write_text("\n".join(_DEV) + "\n")
        (root / "core_test_speakers.txt").write_text("\n".join(_CORE) + "\n")
    return {k: sorted(v) for k, v in expected.items()}


def first_file(root, suffix: str, prefix: str = "si") -> Path | None:
    """The first file (sorted) under ``root`` whose name starts with ``prefix`` and ends with ``suffix``,
    case-insensitively (SI by default: SA utterances are in no split)."""
    for p in sorted(Path(root).rglob("*")):
        name = p.name.lower()
        if p.is_file() and name.startswith(prefix.lower()) and name.endswith(suffix.lower()):
            return p
    return None
