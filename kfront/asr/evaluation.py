"""Decoding and scoring an experiment's checkpoint on a manifest, with files in Kaldi's spirit.

``<run>/decode_<split>[_<tag>]/`` (named by :mod:`~kfront.asr.layout`) receives ``hyp.txt`` (``<utt-id>
<48-phone hypothesis>`` per line), then ``per.json`` (PER on 39 phones with S/D/I counts) and ``alignments.txt``
(one REF/HYP/OP block per utterance).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import torch

from .._atomic import atomic_write
from ..timit.manifest import read_manifest
from ..timit.phones import load_phone_map
from .builder import load_model, set_threads
from .data import PhoneVocab, UtteranceDataset
from .inference import decode_dataset, eval_loader
from .layout import decode_dir
from .score import ErrorCounts, format_alignment, parse_alignment_counts, score_corpus

__all__ = ["decode_split", "score_split", "read_hyps", "read_utterance_counts"]


def decode_split(exp_dir, manifest, split: str, checkpoint: str = "best.pt", tag: str | None = None,
                 method: str | None = None, beam_size: int | None = None, device: str = "cpu",
                 num_threads: int = 0, progress: bool = False) -> Path:
    """Decode a manifest with a checkpoint of an experiment and write ``hyp.txt``.

    Args:
        exp_dir (str or Path): the experiment folder.
        manifest (str or Path): the manifest to decode.
        split (str): its name (``dev``, ``test``), used in the output folder's name.
        checkpoint (str, optional): file in ``exp_dir``. (Default: ``"best.pt"``)
        tag (str or None, optional): suffix of the output folder. (Default: ``None``)
        method (str or None, optional): ``greedy`` or ``beam``; ``None``: the config's. (Default: ``None``)
        beam_size (int or None, optional): ``None``: the config's. (Default: ``None``)
        device (str, optional): (Default: ``"cpu"``)
        num_threads (int, optional): CPU threads, 0 for torch's default. (Default: ``0``)
        progress (bool, optional): show a progress bar. (Default: ``False``)

    Returns:
        Path: the output folder.
    """
    out = decode_dir(exp_dir, split, tag)  # a split or tag no folder name can carry stops here, before decoding
    set_threads(num_threads)
    dev = torch.device(device)
    model, cfg, _ = load_model(Path(exp_dir) / checkpoint, map_location=dev)
    model.to(dev)
    vocab = PhoneVocab()
    sample_rate = int(cfg.frontend.get("sample_rate", 16000))
    data = UtteranceDataset(read_manifest(manifest), vocab, sample_rate, preload=False)
    loader = eval_loader(data, cfg.data.batch_seconds, cfg.data.max_batch_size, sample_rate)
    hyps = decode_dataset(model, loader, vocab, dev, method or cfg.decode.method,
                          beam_size or cfg.decode.beam_size, progress)
    atomic_write(out / "hyp.txt", "".join(f"{uid} {' '.join(hyps[uid])}\n" for uid in sorted(hyps)).encode())
    return out


def read_hyps(path) -> Dict[str, List[str]]:
    """Read a ``hyp.txt`` (``<utt-id> <phones...>`` per line; an empty hypothesis is the id alone)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            uid, *phones = line.split()
            out[uid] = phones
    return out


def score_split(decode_folder, manifest) -> Dict[str, float]:
    """Score a ``hyp.txt`` against a manifest's 39-phone references; write ``per.json`` and ``alignments.txt``.

    Hypotheses are in the 48-phone set and are folded to 39 before scoring.

    Returns:
        dict: ``per``, ``n``, ``sub``, ``del``, ``ins``, ``utterances``.
    """
    folder = Path(decode_folder)
    pmap = load_phone_map()
    refs = {e["id"]: e["phones39"].split() for e in read_manifest(manifest)}
    hyps = {uid: pmap.fold(p, 39, source=48) for uid, p in read_hyps(folder / "hyp.txt").items()}
    totals, alignments = score_corpus(refs, hyps)
    result = dict(totals.as_dict(), utterances=len(refs))
    atomic_write(folder / "alignments.txt",
                 "\n".join(format_alignment(uid, alignments[uid]) for uid in sorted(alignments)).encode())
    atomic_write(folder / "per.json", (json.dumps(result, indent=1) + "\n").encode())
    return result


def read_utterance_counts(decode_folder) -> Dict[str, ErrorCounts]:
    """Each utterance's error counts in a scored decoding folder (from its ``alignments.txt``).

    Raises:
        FileNotFoundError: the folder has not been scored (naming the file).
    """
    path = Path(decode_folder) / "alignments.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist; score the decoding first")
    return parse_alignment_counts(path.read_text())
