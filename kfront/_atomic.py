"""Files written whole or not at all: the corpus, the manifests, the checkpoints and the logs all go through here.

The content goes to a temporary file in the target's folder, is flushed and ``fsync``-ed, and is then renamed over
the target with ``os.replace``. A process killed at any moment leaves the old file or the new one, never part of
one; once the call has returned, the new content is on disk, and with ``sync_folder`` (the default) so is its name.
Temporary files are named ``.<name>.tmp<pid>``, so a later run can find what a killed one left behind.

Standard library only: the corpus generator imports this without torch.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_open", "atomic_write"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_open(path: PathLike, sync_folder: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary binary file beside ``path``; on a clean exit it replaces ``path``, on an error it is removed.

    Args:
        path (str or os.PathLike): the final file; its folder is created if missing.
        sync_folder (bool, optional): also ``fsync`` the folder after the rename, so that the new name survives a
            power cut. Off only where a later check finds a lost file anyway (the corpus's many small files).
            (Default: ``True``)

    Example:
        >>> with atomic_open("exp/last.pt") as f:
        ...     torch.save(state, f)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if sync_folder:
        _fsync_folder(path.parent)


def atomic_write(path: PathLike, data: bytes, sync_folder: bool = True) -> None:
    """Write ``data`` to ``path`` whole or not at all (see :func:`atomic_open`).

    Args:
        path (str or os.PathLike): the final file.
        data (bytes): the whole content; text must be encoded first (a ``str`` raises ``TypeError``).
        sync_folder (bool, optional): ``fsync`` the folder after the rename. (Default: ``True``)
    """
    with atomic_open(path, sync_folder) as f:
        f.write(data)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # a folder cannot be opened for fsync there; its rename is as durable as it gets
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):  # file systems that cannot sync a folder say so
            raise
    finally:
        os.close(fd)
