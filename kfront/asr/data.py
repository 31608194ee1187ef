"""Batches of waveforms and phone labels from a manifest, bucketed by length.

The batch order of an epoch is a function of (seed, epoch) alone, so an interrupted run that resumes at an epoch
boundary sees exactly the batches an uninterrupted one would, and data-parallel ranks agree on the order.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Iterator, List, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..timit.corpus import read_audio
from ..timit.phones import load_phone_map

__all__ = ["PhoneVocab", "UtteranceDataset", "Batch", "collate", "BucketBatchSampler"]


class PhoneVocab:
    """Output classes of the recognizer: the CTC blank (index 0), then the 48 training phones, sorted."""

    blank = 0

    def __init__(self):
        self.symbols: List[str] = ["<blank>"] + load_phone_map().phones48
        self._index = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, phones: Sequence[str]) -> List[int]:
        try:
            return [self._index[p] for p in phones]
        except KeyError as e:
            raise ValueError(f"phone {e.args[0]!r} is not one of the 48 training phones") from None

    def decode(self, ids: Sequence[int]) -> List[str]:
        return [self.symbols[i] for i in ids]


class UtteranceDataset(Dataset):
    """Utterances of a manifest: ``(waveform (time,), labels (n_phones,), id)``.

    Args:
        entries (list of dict): manifest entries (see :func:`kfront.timit.read_manifest`).
        vocab (PhoneVocab): maps the 48-phone sequences to class indices.
        sample_rate (int): what the front-end expects; every file must have it.
        preload (bool, optional): read every file now and keep the samples in memory. (Default: ``True``)
    """

    def __init__(self, entries: List[Dict], vocab: PhoneVocab, sample_rate: int, preload: bool = True):
        self.entries = entries
        self.labels = [torch.tensor(vocab.encode(e["phones48"].split()), dtype=torch.long) for e in entries]
        for e in entries:
            if e["sample_rate"] != sample_rate:
                raise ValueError(f"{e['path']!r} has sample rate {e['sample_rate']}, the front-end expects "
                                 f"{sample_rate}")
        self.lengths = [e["num_samples"] for e in entries]
        self._audio: List[torch.Tensor] | None = None
        if preload:
            self._audio = [self._read(i) for i in range(len(entries))]

    def _read(self, i: int) -> torch.Tensor:
        samples, _ = read_audio(self.entries[i]["path"])
        return torch.from_numpy(samples)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int):
        wav = self._audio[i] if self._audio is not None else self._read(i)
        return wav, self.labels[i], self.entries[i]["id"]


@dataclasses.dataclass
class Batch:
    """A padded batch.

    Attributes:
        waveform (Tensor): ``(batch, time)``, zero-padded.
        lengths (Tensor): samples per item ``(batch,)``.
        labels (Tensor): all label sequences concatenated ``(sum of label lengths,)``.
        label_lengths (Tensor): ``(batch,)``.
        ids (list of str): utterance ids.
    """

    waveform: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    label_lengths: torch.Tensor
    ids: List[str]

    def to(self, device) -> "Batch":
        return Batch(self.waveform.to(device), self.lengths.to(device), self.labels.to(device),
                     self.label_lengths.to(device), self.ids)


def collate(items) -> Batch:
    """Pad a list of dataset items into a :class:`Batch`."""
    wavs, labels, ids = zip(*items)
    lengths = torch.tensor([len(w) for w in wavs], dtype=torch.long)
    waveform = torch.zeros(len(wavs), int(lengths.max()))  # (B, T)
    for b, w in enumerate(wavs):
        waveform[b, : len(w)] = w
    return Batch(waveform, lengths, torch.cat(labels), torch.tensor([len(x) for x in labels]), list(ids))


class BucketBatchSampler(Sampler):
    """Batches of utterances of similar length, a budget of padded audio per batch, in a per-epoch order.

    Utterances are sorted by length (with a little per-epoch jitter, so batch membership varies), cut into
    batches whose padded size stays within ``batch_samples``, and the batches shuffled. With ``world_size > 1``
    the list is padded to a multiple of the world size and each rank takes every ``world_size``-th batch.

    Args:
        lengths (sequence of int): samples per utterance.
        batch_samples (int): padded samples per batch at most (a single longer utterance still forms a batch).
        max_batch_size (int, optional): utterances per batch at most. (Default: ``64``)
        shuffle (bool, optional): jitter and shuffle; else batches in length order. (Default: ``True``)
        seed (int, optional): with the epoch, determines the order. (Default: ``0``)
        rank (int, optional): this process's rank. (Default: ``0``)
        world_size (int, optional): number of ranks. (Default: ``1``)
    """

    def __init__(self, lengths: Sequence[int], batch_samples: int, max_batch_size: int = 64, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world_size: int = 1):
        if batch_samples <= 0 or max_batch_size <= 0:
            raise ValueError(f"batch_samples={batch_samples} and max_batch_size={max_batch_size} must be positive")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_samples = batch_samples
        self.max_batch_size = max_batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> List[List[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        key = self.lengths.astype(np.float64)
        if self.shuffle:
            key = key * rng.uniform(0.9, 1.1, size=len(key))
        order = np.argsort(key, kind="stable")
        batches, cur, cur_max = [], [], 0
        for i in order.tolist():
            new_max = max(cur_max, int(self.lengths[i]))
            if cur and (new_max * (len(cur) + 1) > self.batch_samples or len(cur) >= self.max_batch_size):
                batches.append(cur)
                cur, new_max = [], int(self.lengths[i])
            cur.append(i)
            cur_max = new_max
        if cur:
            batches.append(cur)
        if self.shuffle:
            batches = [batches[j] for j in rng.permutation(len(batches)).tolist()]
        if self.world_size > 1:
            per_rank = math.ceil(len(batches) / self.world_size)
            batches = batches + batches[: per_rank * self.world_size - len(batches)]
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        return iter(self._all_batches()[self.rank:: self.world_size])

    def __len__(self) -> int:
        return len(self._all_batches()[self.rank:: self.world_size])
