"""Checkpoints written atomically: a temporary file in the same folder, then ``os.replace``.

An interruption at any moment leaves either the old file or the new one, never a partial one.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch

__all__ = ["atomic_save", "atomic_write_text", "load_checkpoint", "write_csv_atomic"]


def _atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_save(obj: Any, path) -> None:
    """``torch.save`` to ``path`` through a temporary file and ``os.replace``."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path) -> None:
    """Write a text file through a temporary file and ``os.replace``."""
    _atomic_write(path, lambda f: f.write(text.encode()))


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
    """Write a CSV with a header, through a temporary file and ``os.replace``."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(buf.getvalue(), path)
