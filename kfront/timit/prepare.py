"""Data preparation: a TIMIT tree in, one manifest per standard split out."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict

from .._atomic import atomic_write
from .corpus import find_corpus_root, list_utterances
from .manifest import make_entry, write_manifest
from .splits import SPLITS, standard_splits

__all__ = ["prepare_timit"]

log = logging.getLogger(__name__)
_STAMP = ".prepared.json"


def prepare_timit(corpus, out_dir, fmt: str = "jsonl", force: bool = False,
                  progress: bool = False) -> Dict[str, Path]:
    """Write ``train``, ``dev`` and ``test`` (core test) manifests for a TIMIT tree.

    Every file of the three splits is read and checked before anything is written, so a bad file stops the
    preparation with its name and leaves manifests from an earlier run untouched. When manifests for the same
    corpus and format already exist, nothing is redone.

    Args:
        corpus (str or Path): the TIMIT tree (upper- or lower-case, SPHERE or RIFF audio).
        out_dir (str or Path): where the manifests go.
        fmt (str, optional): ``"jsonl"`` or ``"tsv"``. (Default: ``"jsonl"``)
        force (bool, optional): prepare again even when done before. (Default: ``False``)
        progress (bool, optional): show a progress bar. (Default: ``False``)

    Returns:
        dict: split name -> manifest path.
    """
    if fmt not in ("jsonl", "tsv"):
        raise ValueError(f"manifest format {fmt!r} is not one of 'jsonl', 'tsv'")
    root = find_corpus_root(corpus).resolve()
    out_dir = Path(out_dir)
    paths = {s: out_dir / f"{s}.{fmt}" for s in SPLITS}
    stamp = out_dir / _STAMP
    want = {"corpus": str(root), "format": fmt}
    if not force and stamp.is_file() and all(p.is_file() for p in paths.values()):
        done = json.loads(stamp.read_text())
        if {k: done.get(k) for k in want} == want:
            log.info("manifests in %s are up to date; skipping", out_dir)
            return paths

    splits = standard_splits(list_utterances(root), corpus_root=root)
    entries = {}
    for split in SPLITS:
        utts = splits[split]
        if progress:
            from tqdm import tqdm
            utts = tqdm(utts, desc=f"prepare {split}", unit="utt")
        entries[split] = [make_entry(u) for u in utts]
    for split in SPLITS:
        write_manifest(entries[split], paths[split])
    summary = dict(want, utterances={s: len(entries[s]) for s in SPLITS},
                   hours={s: round(sum(e["duration"] for e in entries[s]) / 3600, 3) for s in SPLITS})
    atomic_write(stamp, (json.dumps(summary, indent=1) + "\n").encode())
    log.info("wrote manifests to %s: %s", out_dir, summary["utterances"])
    return paths
