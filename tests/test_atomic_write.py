"""Files written whole or not at all: the content reaches the disk before the rename, the name after it, and a
failure leaves the old file and no temporary one; the corpus, the manifests and the checkpoints all write so."""
import os
import stat

import numpy as np
import pytest
import torch

from kfront._atomic import atomic_open, atomic_write
from kfront.asr.checkpoint import atomic_save, write_csv_atomic
from kfront.asr.config import Config, save_config
from kfront.synth.writers import write_audio, write_segments, write_transcript
from kfront.timit.manifest import write_manifest


@pytest.fixture
def events(monkeypatch):
    """What reaches the disk, in order: ("fsync", "file" or "folder", path) and ("replace", target)."""
    seen = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        seen.append(("fsync", kind, os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        seen.append(("replace", os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names open files through /proc")


@needs_proc
def test_file_synced_then_renamed_then_folder_synced(tmp_path, events):
    path = tmp_path / "sub" / "a.json"  # the folder is created
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    tmp = str(tmp_path / "sub" / f".a.json.tmp{os.getpid()}")
    assert events == [("fsync", "file", tmp), ("replace", str(path)), ("fsync", "folder", str(tmp_path / "sub"))]
    events.clear()
    atomic_write(path, b"newer", sync_folder=False)
    assert path.read_bytes() == b"newer" and [e[:2] for e in events] == [("fsync", "file"), ("replace", str(path))]
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_open(path) as f:
            f.write(b"half of it")
            raise RuntimeError("killed midway")
    with pytest.raises(TypeError):
        atomic_write(path, "text, not bytes")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_streamed_content_is_the_whole_object(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "epoch": 3}
    with atomic_open(tmp_path / "x.pt") as f:
        torch.save(state, f)
    got = torch.load(tmp_path / "x.pt")
    assert torch.equal(got["w"], state["w"]) and got["epoch"] == 3


def _entry(i):
    return {"id": f"u{i}", "path": f"/c/u{i}.wav", "duration": 1.5, "num_samples": 24000, "sample_rate": 16000,
            "speaker": "s", "phones48": "sil aa sil", "phones39": "sil aa sil"}


SAMPLES = (np.arange(160) * 50).astype(np.int16)
WRITERS = {
    "checkpoint": lambda p: atomic_save({"epoch": 1}, p),
    "training log": lambda p: write_csv_atomic([{"epoch": 1, "dev_per": 9.5}], p, ["epoch", "dev_per"]),
    "config": lambda p: save_config(Config(), p),
    "manifest": lambda p: write_manifest([_entry(0), _entry(1)], p.with_suffix(".jsonl")),
    "corpus audio": lambda p: write_audio(p, SAMPLES, 16000),
    "corpus labels": lambda p: write_segments(p, [(0, 160, "h#")]),
    "corpus transcript": lambda p: write_transcript(p, 160, "Hello."),
}


@needs_proc
@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_syncs_its_file_before_the_rename(tmp_path, events, name):
    WRITERS[name](tmp_path / "out.x")
    kinds = [e[:2] for e in events]
    assert ("fsync", "file") in kinds and kinds.index(("fsync", "file")) < [e[0] for e in events].index("replace")
    # the corpus's many files leave the folder to the corpus check; everything else syncs it too
    assert (("fsync", "folder") in kinds) == (not name.startswith("corpus"))
    assert not list(tmp_path.glob(".*.tmp*"))

