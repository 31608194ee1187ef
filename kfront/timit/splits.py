"""TIMIT's standard train / dev / core-test splits."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Dict, List, Sequence

from .corpus import CorpusError, Utterance

__all__ = ["load_speaker_list", "standard_splits", "SPLITS"]

SPLITS = ("train", "dev", "test")
_LIST_FILES = {"dev": "dev_speakers.txt", "test": "core_test_speakers.txt"}


def load_speaker_list(split: str, corpus_root=None) -> List[str]:
    """The speakers of the dev or core-test set, lower-cased.

    A corpus may carry its own list at its root (``dev_speakers.txt``, ``core_test_speakers.txt``, one speaker
    per line, the format of the packaged lists): it is used when present, else the packaged standard list.

    Args:
        split (str): ``"dev"`` or ``"test"``.
        corpus_root (str, Path or None, optional): the folder holding TRAIN and TEST. (Default: ``None``)
    """
    if split not in _LIST_FILES:
        raise ValueError(f"no speaker list for split {split!r}; expected one of {sorted(_LIST_FILES)}")
    name = _LIST_FILES[split]
    local = _find_case_insensitive(Path(corpus_root), name) if corpus_root is not None else None
    if local is not None:
        text = local.read_text()
    else:
        text = resources.files("kfront.timit").joinpath("lists", name).read_text()
    return [line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _find_case_insensitive(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / name.upper()):
        if candidate.is_file():
            return candidate
    return None


def standard_splits(utterances: Sequence[Utterance], corpus_root=None) -> Dict[str, List[Utterance]]:
    """Split utterances into TIMIT's standard sets.

    train: every TRAIN utterance but the SA sentences; dev: SI + SX of the dev speakers, from TEST; test (the
    core test set): SI + SX of the core-test speakers, from TEST.

    Args:
        utterances (sequence of Utterance): as listed by :func:`kfront.timit.list_utterances`.
        corpus_root (str, Path or None, optional): where to look for the corpus's own speaker lists.
            (Default: ``None``)

    Returns:
        dict: ``{"train": [...], "dev": [...], "test": [...]}``.

    Raises:
        CorpusError: a split comes out empty, or a listed speaker is not in TEST.
    """
    dev = set(load_speaker_list("dev", corpus_root))
    core = set(load_speaker_list("test", corpus_root))
    if dev & core:
        raise CorpusError(f"speakers {sorted(dev & core)} are in both the dev and the core-test list")
    out: Dict[str, List[Utterance]] = {s: [] for s in SPLITS}
    test_speakers = set()
    for u in utterances:
        if u.kind == "sa":
            continue
        if u.subset == "train":
            out["train"].append(u)
            continue
        test_speakers.add(u.speaker)
        if u.speaker in dev:
            out["dev"].append(u)
        elif u.speaker in core:
            out["test"].append(u)
    for split, listed in (("dev", dev), ("test", core)):
        absent = sorted(listed - test_speakers)
        if absent:
            raise CorpusError(f"{len(absent)} {split} speakers are not in the corpus's TEST folder, e.g. {absent[:3]}")
    for split, utts in out.items():
        if not utts:
            raise CorpusError(f"the {split} split is empty")
    return out
