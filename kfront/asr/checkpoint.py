"""Checkpoints and the training log, written whole or not at all (:mod:`kfront._atomic`).

An interruption at any moment leaves either the old file or the new one, never a partial one.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch

from .._atomic import atomic_open, atomic_write

__all__ = ["atomic_save", "load_checkpoint", "write_csv_atomic"]


def atomic_save(obj: Any, path) -> None:
    """``torch.save`` to ``path``, whole or not at all."""
    with atomic_open(path) as f:
        torch.save(obj, f)


def load_checkpoint(path, map_location="cpu") -> Dict[str, Any]:
    """Load a checkpoint written by :func:`atomic_save`.

    Raises:
        FileNotFoundError: naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    # Checkpoints hold RNG states and plain containers besides tensors: not only weights.
    return torch.load(path, map_location=map_location, weights_only=False)


def write_csv_atomic(rows: Sequence[Dict[str, Any]], path, fields: List[str]) -> None:
    """Write a CSV with a header, whole or not at all."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, buf.getvalue().encode())
