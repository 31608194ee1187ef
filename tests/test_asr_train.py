"""Training: same seed, same weights; a run killed mid-epoch and resumed ends bitwise where an uninterrupted
run ends; checkpoints are never overwritten by mistake; bad config keys stop before anything is written; the
one-line status a recipe shows."""
import csv
import re

import pytest
import torch

from kfront.asr import ConfigError, TrainingInterrupted, train
from kfront.asr.checkpoint import load_checkpoint


def states_equal(a, b):
    assert a.keys() == b.keys()
    return all(torch.equal(a[k], b[k]) for k in a)


def test_resume_ends_bitwise_where_an_uninterrupted_run_ends(tiny_config, tmp_path):
    cfg = tiny_config()
    full = train(cfg, tmp_path / "full", progress=False)
    again = train(cfg, tmp_path / "again", progress=False)
    ref = load_checkpoint(tmp_path / "full" / "last.pt")
    assert states_equal(ref["model"], load_checkpoint(tmp_path / "again" / "last.pt")["model"])  # same seed

    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "killed", crash_after_steps=6, progress=False)  # inside epoch 2
    partial = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert 1 <= partial["epoch"] < cfg.train.epochs
    resumed = train(cfg, tmp_path / "killed", resume=True, progress=False)
    got = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert got["epoch"] == cfg.train.epochs
    assert states_equal(ref["model"], got["model"])
    assert states_equal(load_checkpoint(tmp_path / "full" / "best.pt")["model"],
                        load_checkpoint(tmp_path / "killed" / "best.pt")["model"])
    strip = lambda h: [{k: v for k, v in r.items() if "seconds" not in k and k != "frontend_share"} for r in h]
    assert strip(ref["history"]) == strip(got["history"])
    assert resumed["best_dev_per"] == full["best_dev_per"]
    # the optimiser's moments carried over too
    for sa, sb in zip(ref["optimizer"]["state"].values(), got["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # a finished run resumed again does nothing
    assert train(cfg, tmp_path / "killed", resume=True, progress=False) == resumed
    assert (tmp_path / "full" / "log.csv").read_text().count("\n") == cfg.train.epochs + 1


def test_existing_checkpoint_is_not_overwritten(tiny_config, tmp_path):
    cfg = tiny_config("train.epochs=1")
    train(cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with pytest.raises(FileExistsError, match="resume"):
        train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="model.hidden"):
        train(tiny_config("train.epochs=2", "model.hidden=8"), tmp_path / "run", resume=True,
              progress=False)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_bad_frontend_key_stops_before_writing(tiny_config, tmp_path):
    cfg = tiny_config("frontend.kmatrix_widht=2")
    with pytest.raises(ConfigError, match="kmatrix_widht"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_status_line_says_epoch_dev_per_and_time_left(tiny_config, tmp_path):
    def last_dev_per():
        with open(tmp_path / "run" / "log.csv", newline="") as f:
            return float(list(csv.DictReader(f))[-1]["dev_per"])

    cfg = tiny_config("frontend.name=mfcc")
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "run", crash_after_steps=6, progress=False)  # inside epoch 2
    done = load_checkpoint(tmp_path / "run" / "last.pt")["epoch"]
    status = (tmp_path / "run" / "status.txt").read_text()
    left = r"(\d+s|\d+m\d\ds|\d+h\d\dm) left"
    assert re.fullmatch(rf"epoch {done}/3, dev PER {last_dev_per():.2f}%, {left}\n", status), status
    train(cfg, tmp_path / "run", resume=True, progress=False)
    assert (tmp_path / "run" / "status.txt").read_text() == f"epoch 3/3, dev PER {last_dev_per():.2f}%, done\n"


def test_l2sp_and_frontend_freeze_survive_a_resume(tiny_config, tmp_path):
    # A strong pull and a freeze of the front-end for its first epoch, released over the second: the resumed run
    # must pull toward the starting values saved at the start (not toward where it was when it resumed) and keep
    # the front-end's schedule, or it would not end bitwise where the uninterrupted run ends.
    cfg = tiny_config("optim.frontend_lr=3e-3", "optim.frontend_l2sp=50.0", "optim.frontend_freeze_epochs=1.0",
                      "optim.frontend_release_epochs=1.0")
    train(cfg, tmp_path / "full", progress=False)
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "killed", crash_after_steps=6, progress=False)  # inside epoch 2, after the freeze
    train(cfg, tmp_path / "killed", resume=True, progress=False)
    ref, got = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "killed" / "last.pt")
    assert states_equal(ref["model"], got["model"])
    init = load_checkpoint(tmp_path / "full" / "init.pt")["model"]
    anchor = got["frontend_anchor"]
    assert anchor.keys() == {"kmatrix.twiddle"}
    assert torch.equal(anchor["kmatrix.twiddle"], init["frontend.kmatrix.twiddle"])
    assert not torch.equal(got["model"]["frontend.kmatrix.twiddle"], init["frontend.kmatrix.twiddle"])
    # the point pulled toward after a resume is the saved one: move it, and the run ends elsewhere
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "moved", crash_after_steps=6, progress=False)
    partial = load_checkpoint(tmp_path / "moved" / "last.pt")
    partial["frontend_anchor"]["kmatrix.twiddle"] += 0.01
    torch.save(partial, tmp_path / "moved" / "last.pt")
    train(cfg, tmp_path / "moved", resume=True, progress=False)
    assert not states_equal(ref["model"], load_checkpoint(tmp_path / "moved" / "last.pt")["model"])

    with open(tmp_path / "killed" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["frontend_lr"]) == 0.0 and float(rows[1]["frontend_lr"]) > 0.0  # frozen, then released
    assert float(rows[0]["frontend_penalty"]) == 0.0 < float(rows[-1]["frontend_penalty"])
    # the penalty is applied: without it the front-end ends elsewhere
    free = train(tiny_config("optim.frontend_lr=3e-3", "optim.frontend_freeze_epochs=1.0",
                             "optim.frontend_release_epochs=1.0"), tmp_path / "free", progress=False)
    assert free
    moved = lambda d: float((load_checkpoint(d / "last.pt")["model"]["frontend.kmatrix.twiddle"]
                             - init["frontend.kmatrix.twiddle"]).abs().sum())
    assert moved(tmp_path / "killed") < moved(tmp_path / "free")


def test_a_run_saved_before_a_config_key_existed_resumes(tiny_config, tmp_path):
    cfg = tiny_config("frontend.name=mfcc")
    with pytest.raises(TrainingInterrupted):
        train(cfg, tmp_path / "run", crash_after_steps=6, progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    del ckpt["config"]["optim"]["frontend_l2sp"]  # as written before the key was added
    torch.save(ckpt, tmp_path / "run" / "last.pt")
    assert train(cfg, tmp_path / "run", resume=True, progress=False)["epochs"] == cfg.train.epochs
