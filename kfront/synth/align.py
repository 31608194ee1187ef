"""Phone and word segments (``.PHN`` / ``.WRD`` lines) from espeak-ng's events.

Every boundary is the sample index of a PHONEME event (moved to the output rate by :func:`rescale`), or the ends of
the file; nothing is estimated from the audio. See :mod:`kfront.synth.phones` for what the labels mean.
"""

import math
import re
from typing import List, Sequence, Tuple

from .phones import PAUSE, SILENCE, is_pause, to_timit

__all__ = ["Segment", "rescale", "phone_segments", "word_segments"]

#: ``(start_sample, end_sample, label)``, end exclusive, as in TIMIT's files.
Segment = Tuple[int, int, str]


def rescale(sample: int, orig_freq: int, new_freq: int) -> int:
    """Move a sample index to another rate with the rational factor ``resample_poly`` uses, rounding to nearest.

    Args:
        sample (int): index at ``orig_freq``.
        orig_freq (int): rate the index refers to, in Hz.
        new_freq (int): rate to move it to, in Hz.
    """
    g = math.gcd(orig_freq, new_freq)
    up, down = new_freq // g, orig_freq // g
    return (sample * up + down // 2) // down


def _check_starts(starts: Sequence[int], n_samples: int) -> None:
    for a, b in zip(starts, starts[1:]):
        if b < a:
            raise RuntimeError(f"espeak-ng events go back in time ({a} then {b}); cannot build segments")
    if starts and not 0 <= starts[0] <= starts[-1] <= n_samples:
        raise RuntimeError(f"event positions {starts[0]}..{starts[-1]} fall outside the audio (0..{n_samples})")


def phone_segments(phonemes: Sequence[Tuple[int, str, int]], n_samples: int, language: str) -> List[Segment]:
    """The ``.PHN`` segments of one utterance: contiguous, from sample 0 to ``n_samples``, ``h#`` at both ends.

    Args:
        phonemes (sequence): ``(start_sample, mnemonic, text_position)`` per PHONEME event, at the file's rate.
        n_samples (int): length of the audio file in samples.
        language (str): column of the phone map to use (``"en-us"`` or ``"en"``).

    Returns:
        list of (start, end, phone): phones in TIMIT's 61-symbol set. Phones with no samples of their own are
        left out; neighbouring pauses are merged; pauses touching either end become ``h#``.
    """
    starts = [s for s, _, _ in phonemes]
    _check_starts(starts, n_samples)
    if not phonemes:
        raise ValueError("no PHONEME events: was espeak-ng initialised with phoneme events on?")
    bounds = starts + [n_samples]
    labels = [PAUSE if is_pause(m) else to_timit(m, language) for _, m, _ in phonemes]
    raw: List[Segment] = [(0, starts[0], SILENCE)]
    raw += [(bounds[i], bounds[i + 1], labels[i]) for i in range(len(labels))]
    raw = [seg for seg in raw if seg[1] > seg[0]]
    # Pauses at either end are the utterance's leading and trailing silence.
    first = 0
    while first < len(raw) and raw[first][2] in (PAUSE, SILENCE):
        first += 1
    last = len(raw)
    while last > first and raw[last - 1][2] in (PAUSE, SILENCE):
        last -= 1
    if first == len(raw):
        raise ValueError("the utterance holds no speech, only pauses")
    raw = [(s, e, SILENCE if (i < first or i >= last) else p) for i, (s, e, p) in enumerate(raw)]
    out: List[Segment] = []
    for s, e, p in raw:
        if out and p == out[-1][2] and p in (PAUSE, SILENCE):
            out[-1] = (out[-1][0], e, p)  # one pause, however many pause phonemes espeak-ng used for it
        else:
            out.append((s, e, p))
    if out[0][2] != SILENCE or out[-1][2] != SILENCE:
        raise ValueError(f"utterance must start and end in silence to be labelled h#, got {out[0]} ... {out[-1]}")
    return out


def word_segments(words: Sequence[Tuple[int, int, int]], phonemes: Sequence[Tuple[int, str, int]],
                  n_samples: int, text: str) -> List[Segment]:
    """The ``.WRD`` segments of one utterance: each word spans its own phones, so its ends are phone boundaries.

    Args:
        words (sequence): ``(sample, text_position, length)`` per WORD event (``text_position`` 1-based).
        phonemes (sequence): ``(start_sample, mnemonic, text_position)`` per PHONEME event, at the file's rate.
        n_samples (int): length of the audio file in samples.
        text (str): the text that was synthesised (the WORD events point into it).

    Returns:
        list of (start, end, word): lower-case words without punctuation. A word whose phones espeak-ng reports
        under another word's position (a multi-word dictionary entry) has no boundary of its own and is absent.
    """
    starts = [s for s, _, _ in phonemes]
    _check_starts(starts, n_samples)
    ends = starts[1:] + [n_samples]
    out: List[Segment] = []
    for _, pos, length in words:
        if length <= 0:
            continue  # espeak-ng also reports WORD events at clause ends, with no word
        mine = [i for i, (_, m, p) in enumerate(phonemes) if p == pos and not is_pause(m)]
        word = re.sub(r"[^a-z']", "", text[pos - 1:pos - 1 + length].lower())
        if mine and word and ends[mine[-1]] > starts[mine[0]]:
            out.append((starts[mine[0]], ends[mine[-1]], word))
    return out
