"""Manifests: one line per utterance with its audio path, duration, speaker and phone sequences.

Two formats, chosen by the file's suffix: JSON lines (``.jsonl``) and tab-separated values with a header
(``.tsv``). Phone sequences are space-separated strings in both, so a manifest diffs like a Kaldi ``text`` file.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List, Sequence

from .._atomic import atomic_write
from .corpus import CorpusError, Utterance, read_audio, read_phn
from .phones import load_phone_map

__all__ = ["FIELDS", "make_entry", "write_manifest", "read_manifest"]

FIELDS = ("id", "path", "duration", "num_samples", "sample_rate", "speaker", "phones48", "phones39")


def make_entry(utt: Utterance) -> Dict:
    """Read one utterance's files and build its manifest entry.

    The audio is decoded in full so that a corrupt file is found here, before any training starts.

    Raises:
        CorpusError, UnknownPhoneError: a file is unreadable or holds a phone outside the 61-phone set;
            the message names the file.
    """
    samples, rate = read_audio(utt.audio)
    phones61 = [p for _, _, p in read_phn(utt.phn)]
    pmap = load_phone_map()
    phones48 = pmap.fold(phones61, 48)
    phones39 = pmap.fold(phones61, 39)
    if not phones48:
        raise CorpusError(f"{str(utt.phn)!r} holds no phones once 'q' is removed")
    return {
        "id": utt.id,
        "path": str(utt.audio),
        "duration": round(len(samples) / rate, 4),
        "num_samples": int(len(samples)),
        "sample_rate": int(rate),
        "speaker": utt.speaker,
        "phones48": " ".join(phones48),
        "phones39": " ".join(phones39),
    }


def write_manifest(entries: Sequence[Dict], path) -> None:
    """Write a manifest whole or not at all: a failure leaves any old one intact.

    Args:
        entries (sequence of dict): with the keys in :data:`FIELDS`.
        path (str or Path): ``*.jsonl`` or ``*.tsv``.
    """
    path = Path(path)
    buf = io.StringIO()
    if _format(path) == "jsonl":
        for e in entries:
            buf.write(json.dumps({k: e[k] for k in FIELDS}) + "\n")
    else:
        w = csv.writer(buf, delimiter="\t", lineterminator="\n")
        w.writerow(FIELDS)
        w.writerows([e[k] for k in FIELDS] for e in entries)
    atomic_write(path, buf.getvalue().encode())


def read_manifest(path) -> List[Dict]:
    """Read a manifest written by :func:`write_manifest` (either format).

    Raises:
        ValueError: the file lacks a field, naming the file and line.
    """
    path = Path(path)
    fmt = _format(path)
    with open(path, newline="") as f:
        if fmt == "jsonl":
            rows = [json.loads(line) for line in f if line.strip()]
        else:
            rows = list(csv.DictReader(f, delimiter="\t"))
    for n, row in enumerate(rows, 1):
        missing = [k for k in FIELDS if k not in row]
        if missing:
            raise ValueError(f"manifest {str(path)!r} entry {n} lacks fields {missing}")
        row["duration"] = float(row["duration"])
        row["num_samples"] = int(row["num_samples"])
        row["sample_rate"] = int(row["sample_rate"])
    return rows


def _format(path: Path) -> str:
    if path.suffix == ".jsonl":
        return "jsonl"
    if path.suffix == ".tsv":
        return "tsv"
    raise ValueError(f"manifest {str(path)!r}: unknown format {path.suffix!r}; use .jsonl or .tsv")
