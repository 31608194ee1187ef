"""The names of an experiment's folders, built and parsed here and nowhere else.

A set of experiments lives in one folder: one run per front-end and seed, ``<frontend>_seed<seed>/``, and in each
run one folder per decoding, ``decode_<split>`` or ``decode_<split>_<tag>`` (``decode_test_init``: the core test
decoded with ``init.pt``). The recipe's shell script asks for the names through ``python -m kfront.asr``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Tuple

__all__ = ["run_dir_name", "parse_run_dir", "decode_dir_name", "parse_decode_dir", "decode_dir"]

# A front-end name or a tag: no separator, no space, nothing a shell or a path would split. A split has no '_'
# either, so that where it ends and the tag begins is never in doubt.
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_SPLIT = r"[A-Za-z0-9]+"
_RUN_RE = re.compile(rf"(?P<frontend>{_NAME})_seed(?P<seed>[0-9]+)")
_DECODE_RE = re.compile(rf"decode_(?P<split>{_SPLIT})(?:_(?P<tag>{_NAME}))?")


def run_dir_name(frontend: str, seed: int) -> str:
    """``<frontend>_seed<seed>``, the folder of one run.

    Args:
        frontend (str): the front-end's name in the recipe (``mfcc``, ``kaleido_mfcc_packed``): letters, digits,
            ``_ . -``.
        seed (int): a non-negative seed.

    Raises:
        ValueError: a name or seed the folder name could not carry, or could not be parsed back from.
    """
    if not isinstance(frontend, str) or not re.fullmatch(_NAME, frontend):
        raise ValueError(f"front-end name must be letters, digits, '_', '.' or '-' (not first), got {frontend!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return f"{frontend}_seed{seed}"


def parse_run_dir(name: str) -> Tuple[str, int] | None:
    """``(frontend, seed)`` of a run folder's name, or ``None`` when it is not one (``"mfcc_seed1"`` -> ``("mfcc",
    1)``)."""
    m = _RUN_RE.fullmatch(name)
    return (m["frontend"], int(m["seed"])) if m else None


def decode_dir_name(split: str, tag: str | None = None) -> str:
    """``decode_<split>`` or ``decode_<split>_<tag>``, the folder of one decoding.

    Args:
        split (str): the manifest's split (``dev``, ``test``): letters and digits, so that the tag can be told apart.
        tag (str or None, optional): what sets this decoding apart (``init``); ``None`` or ``""`` for none.
            (Default: ``None``)

    Raises:
        ValueError: a split or tag the name could not carry.
    """
    if not isinstance(split, str) or not re.fullmatch(_SPLIT, split):
        raise ValueError(f"split must be letters and digits (no '_'), got {split!r}")
    tag = tag or None
    if tag is not None and (not isinstance(tag, str) or not re.fullmatch(_NAME, tag)):
        raise ValueError(f"decoding tag must be letters, digits, '_', '.' or '-' (not first), got {tag!r}")
    return f"decode_{split}" if tag is None else f"decode_{split}_{tag}"


def parse_decode_dir(name: str) -> Tuple[str, str | None] | None:
    """``(split, tag)`` of a decoding folder's name (``tag`` ``None`` without one), or ``None`` when it is not one."""
    m = _DECODE_RE.fullmatch(name)
    return (m["split"], m["tag"]) if m else None


def decode_dir(run: "str | Path", split: str, tag: str | None = None) -> Path:
    """``<run>/decode_<split>[_<tag>]``."""
    return Path(run) / decode_dir_name(split, tag)
