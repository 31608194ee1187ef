"""Running a trained recognizer over a manifest: dev evaluation during training, decoding afterwards."""
from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..timit.phones import load_phone_map
from .data import BucketBatchSampler, PhoneVocab, UtteranceDataset, collate
from .decode import ctc_decode
from .distributed import DistInfo, all_reduce_sum
from .model import CTCModel
from .score import ErrorCounts, align, count_errors

__all__ = ["eval_loader", "evaluate", "decode_dataset", "to_phones39"]


def to_phones39(ids: List[int], vocab: PhoneVocab) -> List[str]:
    """Class indices (48-phone set) -> the 39-phone sequence that is scored."""
    return load_phone_map().fold(vocab.decode(ids), 39, source=48)


def eval_loader(dataset: UtteranceDataset, batch_seconds: float, max_batch_size: int, sample_rate: int,
                info: DistInfo | None = None) -> DataLoader:
    """Batches in length order; under data parallelism each rank gets a disjoint share, nothing repeated."""
    sampler = BucketBatchSampler(dataset.lengths, int(batch_seconds * sample_rate), max_batch_size, shuffle=False)
    batches = list(sampler)
    if info is not None and info.enabled:
        batches = batches[info.rank:: info.world_size]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate)


@torch.no_grad()
def evaluate(model: CTCModel, loader: DataLoader, vocab: PhoneVocab, refs39: Dict[str, List[str]],
             device: torch.device, info: DistInfo | None = None) -> Dict[str, float]:
    """CTC loss and greedy-decoding PER (39 phones) over a set; summed over ranks under data parallelism.

    Returns:
        dict: ``loss`` (mean per utterance), ``per``, ``sub``, ``del``, ``ins``, ``n``.
    """
    was_training = model.training
    model.eval()
    loss_sum, n_utts, counts = 0.0, 0, ErrorCounts()
    for batch in loader:
        batch = batch.to(device)
        log_probs, out_lens = model(batch.waveform, batch.lengths)  # (B, N, C), (B,)
        loss = F.ctc_loss(log_probs.transpose(0, 1), batch.labels, out_lens, batch.label_lengths,
                          blank=vocab.blank, reduction="sum", zero_infinity=True)
        loss_sum += float(loss)
        n_utts += len(batch.ids)
        for uid, hyp in zip(batch.ids, ctc_decode(log_probs, out_lens, "greedy", blank=vocab.blank)):
            counts = counts + count_errors(align(refs39[uid], to_phones39(hyp, vocab)))
    model.train(was_training)
    totals = all_reduce_sum([loss_sum, n_utts, counts.ref, counts.sub, counts.dels, counts.ins],
                            info or DistInfo())
    loss_sum, n_utts = totals[0], totals[1]
    counts = ErrorCounts(*(int(round(x)) for x in totals[2:]))
    return dict(loss=loss_sum / max(n_utts, 1), **counts.as_dict())


@torch.no_grad()
def decode_dataset(model: CTCModel, loader: DataLoader, vocab: PhoneVocab, device: torch.device,
                   method: str = "beam", beam_size: int = 10, progress: bool = False) -> Dict[str, List[str]]:
    """Decode every utterance of a loader.

    Returns:
        dict: utterance id -> hypothesis in the 48-phone set.
    """
    model.eval()
    hyps: Dict[str, List[str]] = {}
    it = loader
    if progress:
        from tqdm import tqdm
        it = tqdm(loader, desc=f"decode ({method})", unit="batch", disable=None)
    for batch in it:
        batch = batch.to(device)
        log_probs, out_lens = model(batch.waveform, batch.lengths)  # (B, N, C), (B,)
        for uid, ids in zip(batch.ids, ctc_decode(log_probs.cpu(), out_lens.cpu(), method, beam_size, vocab.blank)):
            hyps[uid] = vocab.decode(ids)
    return hyps
